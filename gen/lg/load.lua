--- Stage 1: read a description file into a plain Lua table, safely.
-- The file is untrusted text: it is compiled as text only (never bytecode),
-- runs in an empty environment (no io, os, require, string library or globals)
-- and under an instruction and memory budget, so an infinite loop or a huge
-- table ends with a clear error instead of a hang.
local errors = require("lg.errors")
local linemap = require("lg.linemap")

local M = {}

M.MAX_SOURCE_BYTES = 1024 * 1024       -- a description is a page of text, not data
M.MAX_INSTRUCTIONS = 20 * 1000 * 1000  -- far beyond any literal table, well under a second
M.MAX_MEMORY_KB = 64 * 1024            -- growth of the Lua heap while the chunk runs

--- Run the compiled chunk under the instruction and memory budget.
local function run_bounded(chunk, path)
  local co = coroutine.create(chunk)
  local base_kb = collectgarbage("count")
  local executed = 0
  local step = 1000
  debug.sethook(co, function()
    executed = executed + step
    if executed > M.MAX_INSTRUCTIONS then
      error({ budget = string.format("did not finish within %d million Lua instructions "
        .. "(an endless loop?); a description should be a table literal",
        M.MAX_INSTRUCTIONS // 1000000) }, 0)
    end
    if collectgarbage("count") - base_kb > M.MAX_MEMORY_KB then
      collectgarbage()
      if collectgarbage("count") - base_kb > M.MAX_MEMORY_KB then
        error({ budget = string.format("used more than %d MB of memory while loading; "
          .. "a description should be a small table literal", M.MAX_MEMORY_KB // 1024) }, 0)
      end
    end
  end, "", step)
  local ok, result = coroutine.resume(co)
  debug.sethook(co)
  if not ok then
    if type(result) == "table" and result.budget then
      errors.raise(path, nil, result.budget)
    end
    -- runtime errors carry "path:line: message"; re-shape them as ours
    local msg = tostring(result)
    local line, text = msg:match("^[^\n]-:(%d+): (.*)$")
    errors.raise(path, line and tonumber(line) or nil, text or msg)
  end
  if coroutine.status(co) ~= "dead" then
    errors.raise(path, nil, "the description yielded instead of returning a table")
  end
  return result
end

--- Load a description.
-- @param path file path as the user wrote it (used verbatim in messages)
-- @return raw table, source text, line map (see lg.linemap)
function M.load(path)
  local f, open_err = io.open(path, "rb")
  if not f then
    errors.raise(path, nil, "cannot read description: " .. (open_err:match(": (.*)$") or open_err))
  end
  local src = f:read(M.MAX_SOURCE_BYTES + 1)
  f:close()
  src = src or ""
  if #src > M.MAX_SOURCE_BYTES then
    errors.raise(path, nil, string.format("description is larger than %d KB", M.MAX_SOURCE_BYTES // 1024))
  end
  if src:sub(1, 1) == "\27" then
    errors.raise(path, nil, "precompiled Lua chunks are not accepted; give the description as text")
  end
  local env = {}
  local chunk, syntax_err = load(src, "@" .. path, "t", env)
  if not chunk then
    local line, text = syntax_err:match("^[^\n]-:(%d+): (.*)$")
    errors.raise(path, line and tonumber(line) or nil, "syntax: " .. (text or syntax_err))
  end
  -- Strings share one metatable whose __index is the string library, reachable
  -- even from an empty environment: ("x"):rep(2^31) would allocate in one C call
  -- that no hook can interrupt. Hide it while the description runs.
  local string_meta = getmetatable("")
  local string_index = string_meta.__index
  string_meta.__index = nil
  local ok, value = pcall(run_bounded, chunk, path)
  string_meta.__index = string_index
  if not ok then error(value, 0) end
  local lines = linemap.build(src)
  if type(value) ~= "table" then
    errors.raise(path, linemap.lookup(lines, ""), "the description must return a table, got " .. type(value))
  end
  return value, src, lines
end

return M
