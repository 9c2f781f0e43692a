--- Writer of F32 safetensors files, deterministic (for tests and tools; the
-- generator only reads them, see lg.safetensors).
local cjson = require("cjson.safe").new()

local M = {}

local F32_BYTES = 4

-- A JSON string literal. cjson escapes every "/" as "\/"; since it escapes
-- them all, each "\/" in its output is such an escape and can be undone,
-- which keeps paths in metadata readable.
local function json_string(s)
  return (cjson.encode(s):gsub("\\/", "/"))
end

local function element_count(shape, what)
  if type(shape) ~= "table" then error(what .. ": shape must be a table", 3) end
  local count = 1
  for _, d in ipairs(shape) do
    if math.type(d) ~= "integer" or d < 0 then
      error(what .. ": shape dimensions must be non-negative integers", 3)
    end
    count = count * d
  end
  return count
end

--- Builds the bytes of an F32 safetensors file, deterministically.
-- The header lists `__metadata__` first, then the tensors in sorted name
-- order with fields in the order dtype, shape, data_offsets, and the data
-- follows in the same order. The header is padded with spaces to a multiple
-- of 8 bytes, as upstream does, so the data starts aligned.
-- @param tensors `{ [name] = { shape = {...}, data = {...} } }`; instead of `data` a
--   tensor may give `raw`, its little-endian bytes (to write exact bit patterns)
-- @param metadata optional `{ [string] = string }`
-- @return the file's bytes
function M.encode(tensors, metadata)
  assert(type(tensors) == "table", "safetensors.encode: tensors must be a table")
  local names = {}
  for name in pairs(tensors) do
    if type(name) ~= "string" or name == "__metadata__" then
      error("safetensors.encode: bad tensor name " .. tostring(name), 2)
    end
    names[#names + 1] = name
  end
  table.sort(names)

  local parts, data = {}, {}
  if metadata and next(metadata) ~= nil then
    local keys = {}
    for k, v in pairs(metadata) do
      if type(k) ~= "string" or type(v) ~= "string" then
        error("safetensors.encode: metadata must map strings to strings", 2)
      end
      keys[#keys + 1] = k
    end
    table.sort(keys)
    local items = {}
    for i, k in ipairs(keys) do
      items[i] = json_string(k) .. ":" .. json_string(metadata[k])
    end
    parts[#parts + 1] = '"__metadata__":{' .. table.concat(items, ",") .. "}"
  end

  local offset = 0
  for _, name in ipairs(names) do
    local t = tensors[name]
    local what = "safetensors.encode: tensor " .. name
    local count = element_count(t.shape, what)
    local raw = t.raw
    if raw == nil then
      if type(t.data) ~= "table" or #t.data ~= count then
        error(what .. ": data must hold " .. count .. " numbers", 2)
      end
      local packed = {}
      for i = 1, count do packed[i] = string.pack("<f", t.data[i]) end
      raw = table.concat(packed)
    elseif type(raw) ~= "string" or #raw ~= count * F32_BYTES then
      error(what .. ": raw must be a string of " .. count * F32_BYTES .. " bytes", 2)
    end
    local dims = {}
    for i, d in ipairs(t.shape) do dims[i] = string.format("%d", d) end
    parts[#parts + 1] = string.format('%s:{"dtype":"F32","shape":[%s],"data_offsets":[%d,%d]}',
      json_string(name), table.concat(dims, ","), offset, offset + #raw)
    offset = offset + #raw
    data[#data + 1] = raw
  end

  local header = "{" .. table.concat(parts, ",") .. "}"
  header = header .. string.rep(" ", (8 - #header % 8) % 8)
  return string.pack("<I8", #header) .. header .. table.concat(data)
end

--- Writes an F32 safetensors file (for tests and tools); see `encode`.
-- @return true, or nil and a message
function M.write(path, tensors, metadata)
  local bytes = M.encode(tensors, metadata)
  local f, err = io.open(path, "wb")
  if not f then return nil, "cannot write: " .. err end
  local ok, werr = f:write(bytes)
  local closed, cerr = f:close()
  if not ok or not closed then return nil, "cannot write: " .. tostring(werr or cerr) end
  return true
end

return M
