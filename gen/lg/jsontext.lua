--- How values of a JSON document read from an untrusted file are shown in
-- messages, and the two shape tests its arrays and numbers need (safetensors
-- headers; the message texts are part of lenetgen's interface).
local cjson = require "cjson.safe"

local M = {}

local function hex_escape(c) return string.format("\\x%02x", c:byte()) end

-- Text from the file as it may appear in a message: control characters are
-- escaped so a message never carries terminal escape sequences or line
-- breaks, and so are the high bytes of text that is not valid UTF-8.
function M.printable(text)
  text = text:gsub("%c", hex_escape)
  if not utf8.len(text) then text = text:gsub("[\128-\255]", hex_escape) end
  return text
end

function M.quote(name) return "'" .. M.printable(name) .. "'" end

function M.fmt_number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  return string.format("%.14g", v)
end

-- What a decoded JSON value is, for "must be X, not Y" messages. cjson decodes
-- [] and {} to the same empty table, so an empty table is called an array.
function M.describe(v)
  if v == cjson.null then return "null" end
  local t = type(v)
  if t == "table" then
    return type(next(v)) == "string" and "an object" or "an array"
  elseif t == "number" then
    return "the number " .. M.fmt_number(v)
  elseif t == "string" then
    return "a string"
  end
  return "a " .. t
end

-- The elements of a JSON array, or nil when v is not one (an object, or an
-- array that cjson would have had to fill with holes).
function M.array_items(v)
  if type(v) ~= "table" then return nil end
  local n = 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" then return nil end
    n = n + 1
  end
  if n ~= #v then return nil end
  return v
end

-- A JSON number that is a mathematical integer >= 0, as a Lua integer.
-- cjson decodes every number as a float; 8.0 and 8 are both accepted, 7.5,
-- -1 and numbers beyond the 64-bit range are not.
function M.non_negative_integer(v)
  if type(v) ~= "number" then return nil end
  local i = math.tointeger(v)
  if i and i >= 0 then return i end
  return nil
end

function M.fmt_list(items)
  local parts = {}
  for k, v in ipairs(items) do parts[k] = M.fmt_number(v) end
  return "[" .. table.concat(parts, ", ") .. "]"
end

-- "[1, "a", null]" style rendering of an arbitrary decoded array.
function M.fmt_list_any(items)
  local parts = {}
  for k, v in ipairs(items) do
    parts[k] = type(v) == "number" and M.fmt_number(v)
      or type(v) == "string" and '"' .. M.printable(v) .. '"' or M.describe(v)
  end
  return "[" .. table.concat(parts, ", ") .. "]"
end

return M
