--- Reader for safetensors weight files (F32, and the I64 num_batches_tracked scalar PyTorch saves with a batch norm); the writer is
-- lg.safetensors_write.
--
-- A safetensors file is an 8-byte little-endian header length N, N bytes of
-- JSON header, then the raw little-endian tensor data; each header entry gives
-- a tensor's dtype, shape and data_offsets (relative to the end of the header).
--
-- Weight files are untrusted input. `decode` checks the whole file against the
-- format's own rules (header length bounded by the file and by a maximum, valid
-- JSON, exact entry fields, dtype and shape agreeing with the byte length,
-- offsets in range and tiling the data region with no gap, overlap or trailing
-- bytes, no duplicate names, finite values) before it decodes a single tensor,
-- so a file is either fully valid or refused with one message.
--
-- Failures are reported as `nil, message`: the message is a short lower-case
-- sentence without a file prefix (the caller knows the path and adds it).
-- Mistakes of the calling code (not of the file) raise errors instead.
local cjson_safe = require "cjson.safe"

local M = {}

local fileformat = require "lg.fileformat"

-- Bounds that keep any weights file within about 100 MB of memory and a
-- second of decoding (tests/safetensors/test_safetensors.lua measures the worst case).
-- lenetgen uses at most 256 layers with a weight and a bias each, of at most
-- 4 dimensions; a header of those is about 100 bytes per tensor, so 8 MiB
-- leaves room for long names and metadata. Upstream allows 100 MB, where a
-- header of 1.65 million empty tensors took 29 s and 2.1 GB to decode.
M.MAX_HEADER_BYTES = 8 * 1024 * 1024
M.MAX_TENSORS = 512
M.MAX_RANK = 4
M.MAX_METADATA_ENTRIES = 1024
-- Members of any other object or array in the header (an entry has 3 fields,
-- a shape at most 4 dimensions): more is refused before the JSON is decoded.
local MAX_MEMBERS = 64

-- Our own cjson instance, so these settings never leak into other modules.
local cjson = cjson_safe.new()
-- Plain JSON only: cjson would otherwise accept hex numbers, NaN and Infinity.
cjson.decode_invalid_numbers(false)
-- A valid header nests three levels (top, entry, shape); a small bound keeps a
-- hostile header from recursing deeply inside the C decoder.
cjson.decode_max_depth(64)

-- Every dtype the safetensors format defines: a file naming one of these is a
-- valid file that lenetgen cannot use; any other name is a broken file.
local KNOWN_DTYPES = {}
for d in ("BOOL F4 F6_E2M3 F6_E3M2 U8 I8 F8_E5M2 F8_E4M3 F8_E8M0 I16 U16 F16 BF16 "
          .. "I32 U32 F32 C64 F64 I64 U64"):gmatch("%S+") do
  KNOWN_DTYPES[d] = true
end

local ENTRY_FIELDS = { "dtype", "shape", "data_offsets" }
local IS_ENTRY_FIELD = { dtype = true, shape = true, data_offsets = true }
local F32_BYTES = 4
local I64_BYTES = 8
-- Element counts up to 2^53 are exact in a double and far beyond any file;
-- counting stops there so a hostile shape cannot overflow the arithmetic.
local MAX_COUNT = 2 ^ 53

local jsontext = require "lg.jsontext"
local printable, quote, fmt_number, describe = jsontext.printable, jsontext.quote, jsontext.fmt_number,
  jsontext.describe
local array_items, non_negative_integer = jsontext.array_items, jsontext.non_negative_integer
local fmt_list, fmt_list_any = jsontext.fmt_list, jsontext.fmt_list_any

-- The name of a key token (quotes included), JSON escapes decoded.
local function key_name(token)
  if token:find("\\", 1, true) then return cjson.decode(token) or token end
  return token:sub(2, -2)
end

-- What a container of the header is, for messages: depth 2 is a tensor entry
-- or __metadata__, depth 3 a field of one.
local function owner_text(frame)
  local entry = frame
  while entry.depth > 2 do entry = entry.parent end
  -- only in text that is not a JSON object of entries (cjson refuses it later)
  if entry.key_in_parent == nil then return "a value in the header" end
  if frame.depth == 2 then
    return frame.key_in_parent == "__metadata__" and "__metadata__" or "tensor " .. quote(frame.key_in_parent)
  end
  if entry.key_in_parent == "__metadata__" then
    return "__metadata__ entry " .. quote(frame.path_key or "")
  end
  return "tensor " .. quote(entry.key_in_parent) .. (frame.path_key and " " .. printable(frame.path_key) or "")
end

-- One pass over the header text, before and after cjson decodes it. It is not
-- a JSON parser: it skips strings (honouring backslash escapes) and follows
-- brackets, which is exact on valid JSON. It returns two messages (or nil):
-- `too_big` when a count bound is exceeded (checked before decoding, so cjson
-- never builds a huge table), and `duplicate` for the first key that occurs
-- twice in one object at any depth (cjson silently keeps the last one).
local function scan_header(text)
  local top = { depth = 0, members = 0 }
  local frame = top
  local duplicate
  local tensors = 0
  local i = 1
  while true do
    local p, c = text:match('()([%[%]{}",])', i)
    if not p then break end
    if c == '"' then
      local j, q = p + 1, nil
      repeat
        q = text:find('["\\]', j)
        if not q then return nil, duplicate end  -- unfinished string: cjson says so
        j = q + 2                                -- a backslash escapes the next byte
      until text:byte(q) == 34                   -- '"'
      if frame.kind == "{" and text:find("^[ \t\r\n]*:", q + 1) then
        local key = key_name(text:sub(p, q))
        frame.last_key = key
        if frame.keys[key] and not duplicate then
          if frame.depth == 1 then
            duplicate = "duplicate tensor name " .. quote(key) .. " in the header"
          else
            duplicate = owner_text(frame) .. " has the key " .. quote(key) .. " twice"
          end
        end
        frame.keys[key] = true
        if frame.depth == 1 and key ~= "__metadata__" then
          tensors = tensors + 1
          if tensors > M.MAX_TENSORS then
            return string.format("the header has more than %d tensors; lenetgen uses at most %d "
              .. "(256 layers with a weight and a bias each)", M.MAX_TENSORS, M.MAX_TENSORS)
          end
        end
      end
      i = q + 1
    elseif c == "{" or c == "[" then
      frame = { kind = c, depth = frame.depth + 1, members = 0, keys = {}, parent = frame,
        key_in_parent = frame.depth == 1 and frame.last_key or frame.key_in_parent,
        path_key = frame.depth == 2 and frame.last_key or frame.path_key }
      i = p + 1
    elseif c == "," then
      frame.members = frame.members + 1
      local limit = MAX_MEMBERS
      if frame.depth == 2 and frame.key_in_parent == "__metadata__" then limit = M.MAX_METADATA_ENTRIES end
      if frame.depth >= 2 and frame.members >= limit then
        local what = frame.kind == "[" and "elements"
          or (frame.depth == 2 and limit == MAX_MEMBERS) and "fields" or "entries"
        return string.format("%s has more than %d %s", owner_text(frame), limit, what)
      end
      i = p + 1
    else
      frame = frame.parent or frame
      i = p + 1
    end
  end
  return nil, duplicate
end

-- An entry's shape: the dimensions as integers, their product, and whether
-- that product is beyond any file (counting stops there); or nil, message.
local function check_shape(who, raw)
  local shape = array_items(raw)
  if not shape then
    return nil, who .. " shape must be an array of non-negative integers, not "
      .. describe(raw)
  end
  if #shape > M.MAX_RANK then
    return nil, string.format("%s has %d dimensions; lenetgen's tensors have at most %d", who, #shape,
      M.MAX_RANK)
  end
  local count, too_many = 1, false
  for k, d in ipairs(shape) do
    local dim = non_negative_integer(d)
    if not dim then
      local shown = type(d) == "number" and fmt_number(d) or describe(d)
      return nil, string.format("%s shape dimension %d is %s; dimensions must be "
        .. "non-negative integers", who, k, shown)
    end
    shape[k] = dim
    if dim == 0 then
      count = 0
    elseif count ~= 0 and count > MAX_COUNT / dim then
      too_many = true
    else
      count = count * dim
    end
  end
  if count == 0 then too_many = false end
  return shape, count, too_many
end

-- Checks one header entry; returns { name, shape, first, last } (byte range
-- [first, last) within the data region) or nil, message.
local function check_entry(name, entry, data_len)
  local who = "tensor " .. quote(name)
  if type(entry) ~= "table" or type(next(entry)) == "number" then
    return nil, who .. " must be an object with dtype, shape and data_offsets, not "
      .. describe(entry)
  end
  local extra = {}
  for k in pairs(entry) do
    if not IS_ENTRY_FIELD[k] then extra[#extra + 1] = k end
  end
  if #extra > 0 then
    table.sort(extra)
    return nil, who .. " has unknown field " .. quote(extra[1])
      .. " (expected dtype, shape and data_offsets)"
  end
  for _, f in ipairs(ENTRY_FIELDS) do
    if entry[f] == nil then return nil, who .. " has no " .. f end
  end

  local dtype = entry.dtype
  if type(dtype) ~= "string" then
    return nil, who .. ' dtype must be a string such as "F32", not ' .. describe(dtype)
  end
  if not KNOWN_DTYPES[dtype] then
    return nil, who .. " has unknown dtype " .. quote(dtype) .. "; lenetgen needs F32"
  end
  -- PyTorch's BatchNorm2d saves an int64 scalar count, which lenetgen reads and ignores
  local is_count = dtype == "I64" and name:match("%.num_batches_tracked$") ~= nil
  local bytes_per_value = is_count and I64_BYTES or F32_BYTES
  if dtype ~= "F32" and not is_count then
    return nil, who .. " has dtype " .. dtype .. "; lenetgen needs F32"
      .. " (convert it, e.g. tensor.float() in PyTorch)"
  end

  local shape, count, too_many = check_shape(who, entry.shape)
  if not shape then return nil, count end

  local offsets = array_items(entry.data_offsets)
  local first = offsets and #offsets == 2 and non_negative_integer(offsets[1])
  local last = offsets and #offsets == 2 and non_negative_integer(offsets[2])
  if not (first and last) then
    local shown = offsets and fmt_list_any(offsets) or describe(entry.data_offsets)
    return nil, who .. " data_offsets must be two non-negative integers [begin, end], not "
      .. shown
  end
  if first > last then
    return nil, string.format("%s data_offsets [%d, %d] end before they begin", who, first, last)
  end

  local span = last - first
  if too_many or count * bytes_per_value ~= span then
    local needs = too_many and "more values than any file holds"
      or string.format("%d values, %d bytes as %s", count, count * bytes_per_value, dtype)
    return nil, string.format("%s has shape %s (%s) but data_offsets [%d, %d] hold %d bytes",
      who, fmt_list(shape), needs, first, last, span)
  end
  if last > data_len then
    return nil, string.format("%s data_offsets [%d, %d] end beyond the data region "
      .. "(%d bytes after the header); the file is truncated or the offsets are wrong",
      who, first, last, data_len)
  end
  return { name = name, shape = shape, first = first, last = last, count = count, dtype = dtype }
end

-- The ranges must cover [0, data_len) exactly, in some order: sorted by
-- start, each range starts where the previous one ended.
local function check_tiling(entries, data_len)
  local sorted = {}
  for k, e in ipairs(entries) do sorted[k] = e end
  table.sort(sorted, function(a, b)
    if a.first ~= b.first then return a.first < b.first end
    if a.last ~= b.last then return a.last < b.last end
    return a.name < b.name
  end)
  local pos, prev = 0, nil
  for _, e in ipairs(sorted) do
    if e.first > pos then
      if not prev then
        return nil, string.format("gap of %d bytes before tensor %s (data_offsets [%d, %d]); "
          .. "tensors must tile the data region from byte 0", e.first, quote(e.name), e.first, e.last)
      end
      return nil, string.format("gap of %d bytes between tensor %s (ends at %d) and tensor %s "
        .. "(starts at %d); tensors must tile the data region", e.first - pos,
        quote(prev.name), prev.last, quote(e.name), e.first)
    elseif e.first < pos then
      return nil, string.format("tensor %s (data_offsets [%d, %d]) overlaps tensor %s "
        .. "(data_offsets [%d, %d])", quote(e.name), e.first, e.last,
        quote(prev.name), prev.first, prev.last)
    end
    pos, prev = e.last, e
  end
  if pos ~= data_len then
    return nil, string.format("%d trailing bytes after the tensor data (the data region is "
      .. "%d bytes, tensors cover %d)", data_len - pos, data_len, pos)
  end
  return true
end

-- The float32 values of one tensor's raw bytes (integers for I64) and whether
-- any is NaN or Inf; those are refused unless allowed.
local UNPACK_CHUNK = 256
local UNPACK_FMT = "<" .. string.rep("f", UNPACK_CHUNK)
local function decode_values(name, bytes, allow_nonfinite, dtype)
  local values = {}
  if dtype == "I64" then  -- a batch norm's count: integers, all finite
    for k = 1, #bytes // I64_BYTES do values[k] = string.unpack("<i8", bytes, (k - 1) * I64_BYTES + 1) end
    return values, false
  end
  local n = #bytes // F32_BYTES
  local k = 0
  while k < n do
    local take = math.min(UNPACK_CHUNK, n - k)
    local fmt = take == UNPACK_CHUNK and UNPACK_FMT or "<" .. string.rep("f", take)
    local chunk = table.pack(string.unpack(fmt, bytes, k * F32_BYTES + 1))
    for j = 1, take do values[k + j] = chunk[j] end
    k = k + take
  end
  for j = 1, n do
    local v = values[j]
    if v ~= v or v == math.huge or v == -math.huge then
      if allow_nonfinite then return values, true end
      -- 0-based flat index, as in PyTorch's tensor.flatten()[i].
      local what = v ~= v and "NaN" or (v > 0 and "+Inf" or "-Inf")
      return nil, string.format("tensor %s element %d is %s", quote(name), j - 1, what)
    end
  end
  return values, false
end

local function check_metadata(meta)
  if meta == nil then return {} end
  if type(meta) ~= "table" or type(next(meta)) == "number" then
    return nil, "__metadata__ must be an object of strings, not " .. describe(meta)
  end
  local keys = {}
  for k in pairs(meta) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    if type(meta[k]) ~= "string" then
      return nil, "__metadata__ entry " .. quote(k) .. " must be a string, not "
        .. describe(meta[k])
    end
    out[k] = meta[k]
  end
  return out
end

--- Checks and decodes the bytes of a safetensors file.
-- @param bytes the whole file as a string
-- @param opts optional table; `allow_nonfinite = true` accepts NaN and Inf values
-- @return `{ tensors = { [name] = { dtype = "F32", shape = {...}, data = {...}, raw = "...",
--   nonfinite = whether a value is NaN or Inf } },
--   metadata = { [key] = value }, names = { sorted tensor names } }`,
--   or nil and a message
function M.decode(bytes, opts)
  assert(type(bytes) == "string", "safetensors.decode: bytes must be a string")
  opts = opts or {}
  local size = #bytes
  if size == 0 then
    return nil, "the file is empty; a safetensors file starts with an 8-byte header length"
  end
  if size < 8 then
    return nil, string.format("file has only %d bytes; a safetensors file starts with an "
      .. "8-byte header length", size)
  end
  -- An unsigned 64-bit length: values of 2^63 and more unpack as negative.
  -- No message shows it: read from a file that is not safetensors it is eight
  -- bytes of that file ("root:*:2" of /etc/shadow).
  local n = string.unpack("<i8", bytes)
  if n < 0 or n > M.MAX_HEADER_BYTES or 8 + n > size then
    local kind, advice = fileformat.identify(bytes)
    if kind then
      return nil, string.format("not a safetensors file: this is %s; %s", kind, advice)
    elseif n >= 0 and n <= M.MAX_HEADER_BYTES then
      return nil, string.format("the header length (the first 8 bytes) goes beyond the end of the "
        .. "file (%d bytes); the file is truncated or not safetensors", size)
    elseif bytes:sub(9, 9) == "{" then
      return nil, string.format("the header length (the first 8 bytes) is more than the maximum of "
        .. "%d bytes, yet a JSON header follows it: the length is damaged", M.MAX_HEADER_BYTES)
    end
    return nil, string.format("not a safetensors file: its first 8 bytes are not a header length "
      .. "of at most %d bytes, and it is no format lenetgen recognises", M.MAX_HEADER_BYTES)
  end
  if n == 0 then return nil, "header is empty (header length 0)" end

  local header = bytes:sub(9, 8 + n)
  -- cjson stops reading at a NUL byte and ignores what follows it.
  local nul = header:find("\0", 1, true)
  if nul then
    return nil, string.format("header is not valid JSON: NUL byte at character %d", nul)
  end
  local too_big, dup = scan_header(header)
  if too_big then return nil, too_big end
  local top, err = cjson.decode(header)
  if top == nil and err then
    return nil, "header is not valid JSON: " .. err:gsub("^%u", string.lower)
  end
  if type(top) ~= "table" or header:match("^[ \t\r\n]*(.)") ~= "{" then
    local what = describe(top):gsub("^the number .*", "a number")
    return nil, "header must be a JSON object, not " .. what
  end
  if dup then return nil, dup end

  local metadata, merr = check_metadata(top.__metadata__)
  if not metadata then return nil, merr end

  local names = {}
  for name in pairs(top) do
    if name ~= "__metadata__" then names[#names + 1] = name end
  end
  table.sort(names)

  local data_start = 8 + n
  local data_len = size - data_start
  local entries = {}
  for k, name in ipairs(names) do
    local e, eerr = check_entry(name, top[name], data_len)
    if not e then return nil, eerr end
    entries[k] = e
  end
  local ok, terr = check_tiling(entries, data_len)
  if not ok then return nil, terr end

  local tensors = {}
  for _, e in ipairs(entries) do
    local raw = bytes:sub(data_start + e.first + 1, data_start + e.last)
    local data, nonfinite = decode_values(e.name, raw, opts.allow_nonfinite, e.dtype)
    if not data then return nil, nonfinite end
    tensors[e.name] = { dtype = e.dtype, shape = e.shape, data = data, raw = raw, nonfinite = nonfinite }
  end
  return { tensors = tensors, metadata = metadata, names = names }
end

--- Reads and checks a safetensors file.
-- @param path file path
-- @param opts see `decode`
-- @return as `decode`; messages carry no file prefix
function M.read(path, opts)
  assert(type(path) == "string", "safetensors.read: path must be a string")
  local f, err = io.open(path, "rb")
  if not f then
    -- io.open's message starts with the path; the caller adds its own prefix.
    err = err:sub(1, #path + 2) == path .. ": " and err:sub(#path + 3) or err
    return nil, "cannot open: " .. err:gsub("^%u", string.lower)
  end
  local bytes, rerr = f:read("a")
  f:close()
  if not bytes then
    return nil, "cannot read: " .. tostring(rerr):gsub("^%u", string.lower)
  end
  return M.decode(bytes, opts)
end

-- The writer is its own module; these keep safetensors.encode and
-- safetensors.write where the tests and tools look for them.
local writer = require "lg.safetensors_write"
M.encode, M.write = writer.encode, writer.write

return M
