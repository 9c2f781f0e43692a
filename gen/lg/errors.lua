--- Errors a model owner can act on, formatted like a compiler's.
-- Model mistakes are raised as tables (never strings) so the CLI can tell them
-- apart from bugs in the generator, and tests can check file, line and message.
local M = {}

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return M.format(e) end

--- Raise a model error.
-- @param file path of the offending file (as the user gave it)
-- @param line line number, or nil when no line is known
-- @param msg  message, starting with "layer N (type): " when a layer is at fault
function M.raise(file, line, msg)
  error(setmetatable({ lenetgen = true, file = file, line = line, msg = msg }, Error), 0)
end

--- Is this value a model error raised by M.raise?
function M.is(e)
  return type(e) == "table" and e.lenetgen == true
end

--- "file:line: error: msg" (line omitted when unknown).
function M.format(e)
  if e.line then
    return string.format("%s:%d: error: %s", e.file, e.line, e.msg)
  end
  return string.format("%s: error: %s", e.file, e.msg)
end

--- Prefix for messages about one layer: "layer 3 (conv2d): ".
function M.layer_prefix(layer)
  return string.format("layer %d (%s): ", layer.index, tostring(layer.type))
end

return M
