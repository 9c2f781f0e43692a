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

--- Control characters (a newline in a file name or in a string of a hostile
-- description) as escapes, so that a message is always one line.
local function one_line(s)
  return (tostring(s):gsub("[%c\127]", function(c)
    local named = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return named[c] or string.format("\\%03d", c:byte())
  end))
end
M.one_line = one_line

--- "file:line: error: msg" (line omitted when unknown); always one line.
function M.format(e)
  return M.format_diagnostic(e.file, e.line, "error", e.msg)
end

--- One line "file:line: kind: message" (no ":line" when it is unknown); kind is
-- "error" or "note" (a note explains a choice and does not fail the run).
function M.format_diagnostic(file, line, kind, msg)
  if line then
    return one_line(string.format("%s:%d: %s: %s", file, line, kind, msg))
  end
  return one_line(string.format("%s: %s: %s", file, kind, msg))
end

--- A value from a description as a message shows it: strings quoted with
-- escapes (and shortened when long), numbers and booleans as written, other
-- values by their type ("a table").
-- @param v the value
-- @param max_length strings longer than this (default 40) are shortened
function M.describe(v, max_length)
  if type(v) == "string" then
    local shown = v
    max_length = max_length or 40
    if #shown > max_length then shown = shown:sub(1, max_length - 3) .. "..." end
    shown = shown:gsub("[\\\"]", "\\%0"):gsub("[%c\127-\255]", function(c)
      local named = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
      return named[c] or string.format("\\%d", c:byte())
    end)
    return '"' .. shown .. '"'
  end
  if math.type(v) == "float" then
    if v ~= v then return "nan" end
    if v == math.huge then return "inf" end
    if v == -math.huge then return "-inf" end
    local text
    for digits = 15, 17 do   -- the shortest text that reads back as the same number
      text = string.format("%." .. digits .. "g", v)
      if tonumber(text) == v then break end
    end
    return text:find("[.eE]") and text or (text .. ".0")
  end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  if v == nil then return "nothing (nil)" end
  return "a " .. type(v)
end

--- Prefix for messages about one layer: "layer 3 (conv2d): ".
function M.layer_prefix(layer)
  local t = layer.type
  return string.format("layer %d (%s): ", layer.index, type(t) == "string" and M.describe(t):sub(2, -2)
    or tostring(t))
end

--- Edit distance (insertions, deletions, substitutions, adjacent swaps).
local function distance(a, b)
  if #a > 64 or #b > 64 then return math.huge end
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = (a:byte(i) == b:byte(j)) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[#a][#b]
end

--- The candidate closest to `word`, when it is close enough to be a typo:
-- same letters in another case, or at most 1 edit for short words (2 from 5
-- letters on). Ties go to the first candidate in sorted order.
-- @param word any value (only strings get suggestions)
-- @param candidates list of strings
-- @return a candidate or nil
function M.suggest(word, candidates)
  if type(word) ~= "string" or #word == 0 then return nil end
  local sorted = {}
  for i, c in ipairs(candidates) do sorted[i] = c end
  table.sort(sorted)
  local lower = word:lower()
  for _, c in ipairs(sorted) do
    if c:lower() == lower then return c end
  end
  local best, best_d = nil, (#word >= 5) and 2 or 1
  for _, c in ipairs(sorted) do
    local d = distance(lower, c:lower())
    if d <= best_d and (best == nil or d < distance(lower, best:lower())) then best, best_d = c, d end
  end
  return best
end

return M
