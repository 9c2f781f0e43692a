--- Plain data as bytes, to carry a description's value out of the process
-- that evaluated it (lg.load). Kept exactly: tables with shared and cyclic
-- references and keys of any kind, strings of any bytes, integers apart from
-- floats (NaN, infinities and -0.0 included), booleans. A function becomes a
-- stand-in function, so that a check can still say "got a function".
--
-- Both directions use an explicit stack instead of recursion: a description
-- may return a chain of a few hundred thousand nested tables.
--
-- Format: a value is one tag byte and its payload (string.pack, little endian):
--   0 nil   T true   F false   I int64   D double   S string (<s4)   L function
--   R n     the n-th table already seen (shared or cyclic reference)
--   N b     a new table whose border (#t) is b: b array values (holes as 0),
--           then key and value pairs, then E
local M = {}

local pack, unpack = string.pack, string.unpack

local function stand_in() end

--- Bytes of `value`, or nil when they would be more than max_bytes.
function M.encode(value, max_bytes)
  local out, n, size = {}, 0, 0
  local ids, tables = {}, 0
  -- work still to do, last first: values (nil included), so the count is kept apart
  local END = {}
  local todo, top = { value }, 1
  while top > 0 do
    local v = todo[top]
    todo[top] = nil
    top = top - 1
    local piece
    if v == END then
      piece = "E"
    elseif v == nil then
      piece = "0"
    elseif v == true then
      piece = "T"
    elseif v == false then
      piece = "F"
    elseif math.type(v) == "integer" then
      piece = pack("<c1j", "I", v)
    elseif math.type(v) == "float" then
      piece = pack("<c1d", "D", v)
    elseif type(v) == "string" then
      piece = pack("<c1s4", "S", v)
    elseif type(v) == "table" and ids[v] then
      piece = pack("<c1j", "R", ids[v])
    elseif type(v) == "table" then
      tables = tables + 1
      ids[v] = tables
      -- raw access only: a description's environment table has metamethods
      local border = rawlen(v)
      piece = pack("<c1j", "N", border)
      local rest = {}
      for k, x in next, v do
        if not (math.type(k) == "integer" and k >= 1 and k <= border) then
          rest[#rest + 1] = k
          rest[#rest + 1] = x
        end
      end
      top = top + 1
      todo[top] = END
      for i = #rest, 1, -1 do
        top = top + 1
        todo[top] = rest[i]
      end
      for i = border, 1, -1 do
        top = top + 1
        todo[top] = rawget(v, i)
      end
    else
      piece = "L"
    end
    size = size + #piece
    if size > max_bytes then return nil end
    n = n + 1
    out[n] = piece
  end
  return table.concat(out)
end

-- A table whose array part holds exactly `border` slots, so that #t gives the
-- same border as the original even when the list has holes (a list with holes
-- and other keys as well may give another of its borders: Lua moves the array
-- when the first other key is added).
local function presized(border)
  if border < 1 or border > 4096 then return {} end
  return { table.unpack({}, 1, border) }
end

--- The value encoded in `bytes` (raises on malformed bytes).
function M.decode(bytes)
  local pos, tables = 1, {}
  local open, depth = {}, 0     -- tables being filled: { t, border, filled, key, has_key }
  while true do
    local tag = bytes:sub(pos, pos)
    pos = pos + 1
    local v, is_value = nil, true
    if tag == "0" then
      v = nil
    elseif tag == "T" then
      v = true
    elseif tag == "F" then
      v = false
    elseif tag == "I" then
      v, pos = unpack("<j", bytes, pos)
    elseif tag == "D" then
      v, pos = unpack("<d", bytes, pos)
    elseif tag == "S" then
      v, pos = unpack("<s4", bytes, pos)
    elseif tag == "L" then
      v = stand_in
    elseif tag == "R" then
      local id
      id, pos = unpack("<j", bytes, pos)
      v = assert(tables[id], "plaindata: reference to an unknown table")
    elseif tag == "N" then
      local border
      border, pos = unpack("<j", bytes, pos)
      local t = presized(border)
      tables[#tables + 1] = t
      depth = depth + 1
      open[depth] = { t = t, border = border, filled = 0, key = nil, has_key = false }
      is_value = false
    elseif tag == "E" and depth > 0 then
      v = open[depth].t
      open[depth] = nil
      depth = depth - 1
    else
      error("plaindata: malformed data at byte " .. (pos - 1))
    end
    if is_value then
      if depth == 0 then
        if pos ~= #bytes + 1 then error("plaindata: trailing bytes after the value") end
        return v
      end
      local f = open[depth]
      if f.filled < f.border then
        f.filled = f.filled + 1
        if v ~= nil then f.t[f.filled] = v end
      elseif not f.has_key then
        f.key, f.has_key = v, true
      else
        f.t[f.key] = v
        f.key, f.has_key = nil, false
      end
    end
  end
end

return M
