#!/usr/bin/env lua5.4
--- Writes the corpus of broken safetensors files under tests/broken/weights/.
--
-- Each case is X.safetensors plus X.expected: the exact message (one line)
-- that lg.safetensors.read returns for it, without a file prefix. The bytes
-- are built here by hand (not by lg.safetensors.encode) and the messages are
-- written out literally, so the corpus checks the reader instead of echoing it.
--
-- Deterministic: running it again rewrites identical files. Usage, from the
-- repository root:  lua5.4 tests/broken/make_weights_corpus.lua

local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local out_dir = dir .. "/weights"

local cases, seen = {}, {}
local function case(name, bytes, expected)
  assert(not seen[name], "duplicate case " .. name)
  seen[name] = true
  cases[#cases + 1] = { name = name, bytes = bytes, expected = expected }
end

-- A file: 8-byte little-endian header length, header text, data bytes.
local function frame(header, data)
  return string.pack("<I8", #header) .. header .. (data or "")
end

-- Little-endian float32 bytes of the given numbers.
local function f32(...)
  local out = {}
  for i, v in ipairs({ ... }) do out[i] = string.pack("<f", v) end
  return table.concat(out)
end

-- Exact bit patterns, so NaN payloads and signs do not depend on the host.
local NAN = "\0\0\192\127"           -- 0x7fc00000, quiet NaN
local NEG_NAN = "\255\255\255\255"   -- 0xffffffff, negative NaN with a payload
local POS_INF = "\0\0\128\127"       -- 0x7f800000
local NEG_INF = "\0\0\128\255"       -- 0xff800000

-- One header entry, JSON text; shape and offsets are given as JSON text too,
-- so broken values can be written exactly as a hostile file would hold them.
local function entry(name, shape, offsets, dtype)
  return string.format('"%s":{"dtype":"%s","shape":%s,"data_offsets":%s}',
    name, dtype or "F32", shape, offsets)
end
local function object(...) return "{" .. table.concat({ ... }, ",") .. "}" end

-- The valid file every truncation and bit flip starts from: 'a' = [1, 2],
-- 'b' = [[3, 4], [5, 6]].
local GOOD_HEADER = object(entry("a", "[2]", "[0,8]"), entry("b", "[2,2]", "[8,24]"))
local GOOD_DATA = f32(1, 2, 3, 4, 5, 6)
local GOOD = frame(GOOD_HEADER, GOOD_DATA)
local H = #GOOD_HEADER
assert(H == 110, "the bit-flip cases below assume a 110-byte header")

-- Sets the 8-byte length prefix of a file to n (unsigned).
local function with_length(bytes, n) return string.pack("<I8", n) .. bytes:sub(9) end

local TOO_SHORT = "file has only %d bytes; a safetensors file starts with an 8-byte header length"
-- No message shows the header length: for a file that is not safetensors it
-- would be eight bytes of its content.
local DAMAGED = "the header length (the first 8 bytes) is more than the maximum of 8388608 bytes, "
  .. "yet a JSON header follows it: the length is damaged"
local OVER_FILE = "the header length (the first 8 bytes) goes beyond the end of the file (%d bytes); "
  .. "the file is truncated or not safetensors"
local NEEDS_F32 = "; lenetgen needs F32 (convert it, e.g. tensor.float() in PyTorch)"
local OFFSETS = "tensor 'a' data_offsets must be two non-negative integers [begin, end], not "
local SHAPE_DIM = "tensor 'a' shape dimension %d is %s; dimensions must be non-negative integers"

-- Truncations and length prefix damage ------------------------------------
case("empty", "", "the file is empty; a safetensors file starts with an 8-byte header length")
case("truncated_in_length", GOOD:sub(1, 5), TOO_SHORT:format(5))
case("truncated_in_header", GOOD:sub(1, 8 + 20), OVER_FILE:format(28))
case("truncated_in_data", GOOD:sub(1, -5),
  "tensor 'b' data_offsets [8, 24] end beyond the data region (20 bytes after the header); "
  .. "the file is truncated or the offsets are wrong")
case("truncated_header_only", GOOD:sub(1, 8 + H),
  "tensor 'a' data_offsets [0, 8] end beyond the data region (0 bytes after the header); "
  .. "the file is truncated or the offsets are wrong")
-- Bit 40 of the length: a plausible single-bit corruption.
case("length_bitflip_high", with_length(GOOD, H + (1 << 40)), DAMAGED)
-- Low bits of the length (H is 110): the header swallows the first data
-- byte (a zero of the float 1.0), or loses its two closing braces.
case("length_bitflip_grow", with_length(GOOD, H ~ 1),
  "header is not valid JSON: NUL byte at character 111")
case("length_bitflip_shrink", with_length(GOOD, H ~ 2),
  "header is not valid JSON: expected comma or object end but found T_END at character 109")
case("length_all_ones", with_length(GOOD, -1), DAMAGED)
case("length_just_over_max", with_length(GOOD, 8 * 1024 * 1024 + 1), DAMAGED)
case("length_exceeds_file", with_length(GOOD, 4096), OVER_FILE:format(#GOOD))
case("length_zero", with_length(GOOD, 0), "header is empty (header length 0)")

-- Header text that is not JSON -------------------------------------------
case("json_truncated", frame('{"a":{"dtype":"F32",', f32(1, 2)),
  "header is not valid JSON: expected object key string but found T_END at character 21")
case("json_trailing_garbage", frame(GOOD_HEADER .. " x", GOOD_DATA),
  "header is not valid JSON: expected the end but found invalid token at character 112")
case("json_nul_padding", frame(GOOD_HEADER .. "\0\0\0\0", GOOD_DATA),
  "header is not valid JSON: NUL byte at character 111")
case("json_nan_literal", frame(object(entry("a", "[NaN]", "[0,4]")), f32(1)),
  "header is not valid JSON: expected value but found invalid token at character 30")
case("json_hex_number", frame(object(entry("a", "[0x2]", "[0,8]")), f32(1, 2)),
  "header is not valid JSON: expected value but found invalid number at character 30")
case("json_deep_nesting", frame(object(entry("a", ("["):rep(100) .. ("]"):rep(100), "[0,0]"))),
  "header is not valid JSON: found too many nested data structures (65) at character 91")
case("json_single_quotes", frame("{'a':{}}"),
  "header is not valid JSON: expected object key string but found invalid token at character 2")

-- Wrong top level ----------------------------------------------------------
case("top_array", frame("[1,2]"), "header must be a JSON object, not an array")
case("top_empty_array", frame("[]"), "header must be a JSON object, not an array")
case("top_string", frame('"F32"'), "header must be a JSON object, not a string")
case("top_number", frame("42"), "header must be a JSON object, not a number")
case("top_null", frame("null"), "header must be a JSON object, not null")

-- Wrong entries ------------------------------------------------------------
local MUST_BE_OBJECT = "tensor 'a' must be an object with dtype, shape and data_offsets, not "
case("entry_number", frame('{"a":5}'), MUST_BE_OBJECT .. "the number 5")
case("entry_array", frame('{"a":[0,8]}', f32(1, 2)), MUST_BE_OBJECT .. "an array")
case("entry_unknown_field",
  frame('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"offset":0}}', f32(1, 2)),
  "tensor 'a' has unknown field 'offset' (expected dtype, shape and data_offsets)")
case("entry_missing_shape", frame('{"a":{"dtype":"F32","data_offsets":[0,8]}}', f32(1, 2)),
  "tensor 'a' has no shape")
case("entry_missing_offsets", frame('{"a":{"dtype":"F32","shape":[2]}}', f32(1, 2)),
  "tensor 'a' has no data_offsets")

-- dtype --------------------------------------------------------------------
case("dtype_number", frame(object((entry("a", "[2]", "[0,8]"):gsub('"F32"', "32"))), f32(1, 2)),
  "tensor 'a' dtype must be a string such as \"F32\", not the number 32")
case("dtype_null", frame(object((entry("a", "[2]", "[0,8]"):gsub('"F32"', "null"))), f32(1, 2)),
  "tensor 'a' dtype must be a string such as \"F32\", not null")
case("dtype_f16", frame(object(entry("a", "[2]", "[0,4]", "F16")), "\0\60\0\64"),
  "tensor 'a' has dtype F16" .. NEEDS_F32)
case("dtype_f64", frame(object(entry("a", "[1]", "[0,8]", "F64")), string.pack("<d", 1)),
  "tensor 'a' has dtype F64" .. NEEDS_F32)
case("dtype_i32", frame(object(entry("a", "[2]", "[0,8]", "I32")), string.pack("<i4i4", 1, 2)),
  "tensor 'a' has dtype I32" .. NEEDS_F32)
case("dtype_lower_case", frame(object(entry("a", "[2]", "[0,8]", "f32")), f32(1, 2)),
  "tensor 'a' has unknown dtype 'f32'; lenetgen needs F32")

-- shape --------------------------------------------------------------------
local SHAPE_TYPE = "tensor 'a' shape must be an array of non-negative integers, not "
case("shape_string", frame(object(entry("a", '"2x2"', "[0,16]")), f32(1, 2, 3, 4)),
  SHAPE_TYPE .. "a string")
case("shape_object", frame(object(entry("a", '{"h":2}', "[0,8]")), f32(1, 2)),
  SHAPE_TYPE .. "an object")
case("shape_negative", frame(object(entry("a", "[2,-1]", "[0,8]")), f32(1, 2)),
  SHAPE_DIM:format(2, "-1"))
case("shape_fractional", frame(object(entry("a", "[2.5]", "[0,8]")), f32(1, 2)),
  SHAPE_DIM:format(1, "2.5"))
case("shape_nested", frame(object(entry("a", "[[2]]", "[0,8]")), f32(1, 2)),
  SHAPE_DIM:format(1, "an array"))
case("shape_bytes_mismatch", frame(object(entry("a", "[3]", "[0,8]")), f32(1, 2)),
  "tensor 'a' has shape [3] (3 values, 12 bytes as F32) but data_offsets [0, 8] hold 8 bytes")
case("shape_huge", frame(object(entry("a", "[1e15,1e15]", "[0,8]")), f32(1, 2)),
  "tensor 'a' has shape [1000000000000000, 1000000000000000] (more values than any file holds) "
  .. "but data_offsets [0, 8] hold 8 bytes")

-- data_offsets -------------------------------------------------------------
case("offsets_one", frame(object(entry("a", "[2]", "[0]")), f32(1, 2)), OFFSETS .. "[0]")
case("offsets_three", frame(object(entry("a", "[2]", "[0,8,16]")), f32(1, 2)),
  OFFSETS .. "[0, 8, 16]")
case("offsets_negative", frame(object(entry("a", "[2]", "[-8,0]")), f32(1, 2)),
  OFFSETS .. "[-8, 0]")
case("offsets_fractional", frame(object(entry("a", "[2]", "[0,7.5]")), f32(1, 2)),
  OFFSETS .. "[0, 7.5]")
case("offsets_strings", frame(object(entry("a", "[2]", '["0","8"]')), f32(1, 2)),
  OFFSETS .. '["0", "8"]')
case("offsets_object", frame(object(entry("a", "[2]", '{"begin":0,"end":8}')), f32(1, 2)),
  OFFSETS .. "an object")
case("offsets_huge", frame(object(entry("a", "[2]", "[0,1e30]")), f32(1, 2)),
  OFFSETS .. "[0, 1e+30]")
case("offsets_u64_max", frame(object(entry("a", "[2]", "[0,18446744073709551615]")), f32(1, 2)),
  OFFSETS .. "[0, 1.844674407371e+19]")
case("offsets_reversed", frame(object(entry("a", "[2]", "[8,0]")), f32(1, 2)),
  "tensor 'a' data_offsets [8, 0] end before they begin")
case("offsets_beyond_data", frame(object(entry("a", "[2]", "[16,24]")), f32(1, 2)),
  "tensor 'a' data_offsets [16, 24] end beyond the data region (8 bytes after the header); "
  .. "the file is truncated or the offsets are wrong")

-- Tiling of the data region ------------------------------------------------
case("gap_at_start", frame(object(entry("a", "[2]", "[8,16]")), f32(0, 0, 1, 2)),
  "gap of 8 bytes before tensor 'a' (data_offsets [8, 16]); "
  .. "tensors must tile the data region from byte 0")
case("gap_between",
  frame(object(entry("a", "[2]", "[0,8]"), entry("b", "[4]", "[12,28]")), f32(1, 2, 0, 3, 4, 5, 6)),
  "gap of 4 bytes between tensor 'a' (ends at 8) and tensor 'b' (starts at 12); "
  .. "tensors must tile the data region")
case("overlap",
  frame(object(entry("a", "[2]", "[0,8]"), entry("b", "[4]", "[4,20]")), f32(1, 2, 3, 4, 5)),
  "tensor 'b' (data_offsets [4, 20]) overlaps tensor 'a' (data_offsets [0, 8])")
case("overlap_same_range",
  frame(object(entry("a", "[2]", "[0,8]"), entry("b", "[2]", "[0,8]")), f32(1, 2)),
  "tensor 'b' (data_offsets [0, 8]) overlaps tensor 'a' (data_offsets [0, 8])")
case("overlap_empty_inside",
  frame(object(entry("a", "[4]", "[0,16]"), entry("z", "[0]", "[8,8]")), f32(1, 2, 3, 4)),
  "tensor 'z' (data_offsets [8, 8]) overlaps tensor 'a' (data_offsets [0, 16])")
case("trailing_bytes", GOOD .. f32(7),
  "4 trailing bytes after the tensor data (the data region is 28 bytes, tensors cover 24)")
case("no_tensors_with_data", frame("{}", f32(1, 2)),
  "8 trailing bytes after the tensor data (the data region is 8 bytes, tensors cover 0)")

-- Names --------------------------------------------------------------------
case("duplicate_name",
  frame(object(entry("a", "[2]", "[0,8]"), entry("a", "[2]", "[8,16]")), f32(1, 2, 3, 4)),
  "duplicate tensor name 'a' in the header")
-- The same name spelled with a JSON escape is still the same name.
case("duplicate_name_escaped",
  frame(object(entry("a", "[2]", "[0,8]"), entry("\\u0061", "[2]", "[0,8]")), f32(1, 2)),
  "duplicate tensor name 'a' in the header")
case("duplicate_metadata",
  frame(object('"__metadata__":{}', entry("a", "[2]", "[0,8]"), '"__metadata__":{}'), f32(1, 2)),
  "duplicate tensor name '__metadata__' in the header")
-- A name that would put escape sequences on the user's terminal.
case("name_control_chars", frame(object(entry("a\\n\\u001b[31m", "[1]", "[0,2]", "F16")), "\0\60"),
  "tensor 'a\\x0a\\x1b[31m' has dtype F16" .. NEEDS_F32)

-- __metadata__ ---------------------------------------------------------------
case("metadata_number", frame(object('"__metadata__":5', entry("a", "[2]", "[0,8]")), f32(1, 2)),
  "__metadata__ must be an object of strings, not the number 5")
case("metadata_value_number",
  frame(object('"__metadata__":{"format":"pt","epochs":10}', entry("a", "[2]", "[0,8]")), f32(1, 2)),
  "__metadata__ entry 'epochs' must be a string, not the number 10")

-- Non-finite values ----------------------------------------------------------
case("nan", frame(GOOD_HEADER, f32(1) .. NAN .. f32(3, 4, 5, 6)), "tensor 'a' element 1 is NaN")
case("nan_negative_payload", frame(GOOD_HEADER, f32(1, 2, 3, 4, 5) .. NEG_NAN),
  "tensor 'b' element 3 is NaN")
case("inf_positive", frame(GOOD_HEADER, f32(1, 2, 3) .. POS_INF .. f32(5, 6)),
  "tensor 'b' element 1 is +Inf")
case("inf_negative", frame(GOOD_HEADER, NEG_INF .. f32(2, 3, 4, 5, 6)),
  "tensor 'a' element 0 is -Inf")

-- Duplicate keys inside an entry or __metadata__ (cjson keeps the last one) ----
local DATA2 = f32(1, 2)
case("duplicate_entry_dtype",
  frame('{"a":{"dtype":"I8","dtype":"F32","shape":[2],"data_offsets":[0,8]}}', DATA2),
  "tensor 'a' has the key 'dtype' twice")
case("duplicate_entry_offsets",
  frame('{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16],"data_offsets":[0,8]}}', DATA2),
  "tensor 'a' has the key 'data_offsets' twice")
case("duplicate_entry_escaped",
  frame('{"a":{"dtype":"F32","shape":[2],"sh\\u0061pe":[2],"data_offsets":[0,8]}}', DATA2),
  "tensor 'a' has the key 'shape' twice")
case("duplicate_metadata_key",
  frame('{"__metadata__":{"format":"pt","format":"np"},' .. entry("a", "[2]", "[0,8]") .. "}", DATA2),
  "__metadata__ has the key 'format' twice")

-- Bounds: what lenetgen can use, checked before the JSON is decoded ----------
do
  local entries = {}
  for i = 0, 512 do entries[#entries + 1] = entry(string.format("t%03d", i), "[0]", "[0,0]") end
  case("too_many_tensors", frame(object(table.unpack(entries))),
    "the header has more than 512 tensors; lenetgen uses at most 512 (256 layers with a weight "
    .. "and a bias each)")
  local meta = {}
  for i = 0, 1024 do meta[#meta + 1] = string.format('"k%04d":""', i) end
  case("metadata_too_many", frame(object('"__metadata__":{' .. table.concat(meta, ",") .. "}",
    entry("a", "[2]", "[0,8]")), DATA2), "__metadata__ has more than 1024 entries")
end
case("shape_rank_5", frame(object(entry("a", "[1,1,1,1,2]", "[0,8]")), DATA2),
  "tensor 'a' has 5 dimensions; lenetgen's tensors have at most 4")
case("shape_too_long", frame(object(entry("a", "[" .. string.rep("1,", 64) .. "2]", "[0,8]")), DATA2),
  "tensor 'a' shape has more than 64 elements")
case("entry_too_many_fields", frame('{"a":{' .. string.rep('"x":0,', 64) .. '"y":0}}'),
  "tensor 'a' has more than 64 fields")

-- Files that are not safetensors at all: the message says what they are and
-- never shows their bytes -------------------------------------------------------
local CRC_TABLE = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do c = (c & 1 == 1) and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  CRC_TABLE[i] = c
end
local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = CRC_TABLE[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end

-- A zip archive of stored (uncompressed) entries { {name, data} ... }, as
-- torch.save and numpy.savez write them.
local function zip(entries)
  local locals, central, offset = {}, {}, 0
  for _, e in ipairs(entries) do
    local name, data = e[1], e[2]
    local crc = crc32(data)
    local head = string.pack("<c4I2I2I2I2I2I4I4I4I2I2", "PK\3\4", 20, 0, 0, 0, 0x21, crc, #data, #data,
      #name, 0) .. name
    locals[#locals + 1] = head .. data
    central[#central + 1] = string.pack("<c4I2I2I2I2I2I2I4I4I4I2I2I2I2I2I4I4", "PK\1\2", 20, 20, 0, 0, 0,
      0x21, crc, #data, #data, #name, 0, 0, 0, 0, 0, offset) .. name
    offset = offset + #head + #data
  end
  local cd = table.concat(central)
  return table.concat(locals) .. cd .. string.pack("<c4I2I2I2I2I4I4I2", "PK\5\6", 0, 0, #entries,
    #entries, #cd, offset, 0)
end

-- NumPy's .npy format 1.0: magic, version, header length, a dict padded to 64 bytes.
local function npy(values)
  local dict = string.format("{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", #values)
  local pad = 64 - (10 + #dict + 1) % 64
  return "\147NUMPY\1\0" .. string.pack("<I2", #dict + pad + 1) .. dict .. string.rep(" ", pad) .. "\n"
    .. f32(table.unpack(values))
end

-- A pickle of {} at protocol 4: PROTO 4, FRAME n, EMPTY_DICT, MEMOIZE, STOP.
local PICKLE = "\128\4\149" .. string.pack("<I8", 3) .. "}\148."
local TORCH_ZIP = zip({ { "lenet5/data.pkl", "\128\2}q\0." }, { "lenet5/byteorder", "little" },
  { "lenet5/data/0", f32(1, 2) }, { "lenet5/version", "3\n" } })
local RECIPE = "write the state_dict as safetensors (README: \"Weights from PyTorch\")"
local NUMPY_ADVICE = "save the arrays as float32 safetensors (README: \"Weights from PyTorch\" shows the format)"
local NOT_ST = "not a safetensors file: this is "

case("foreign_torch_zip", TORCH_ZIP, NOT_ST .. "a PyTorch torch.save file (a zip archive with data.pkl); "
  .. RECIPE)
case("foreign_torch_zip_archive", zip({ { "archive/data.pkl", "\128\2}q\0." }, { "archive/version", "3\n" } }),
  NOT_ST .. "a PyTorch torch.save file (a zip archive with data.pkl); " .. RECIPE)
case("foreign_torch_legacy", "\128\2\138\10\108\252\156\70\249\32\106\168\80\25.\128\2M\233\3.",
  NOT_ST .. "a legacy PyTorch torch.save file (a pickle); " .. RECIPE)
case("foreign_npz", zip({ { "weight.npy", npy({ 1, 2 }) }, { "bias.npy", npy({ 3 }) } }),
  NOT_ST .. "a NumPy .npz archive (a zip of .npy arrays); " .. NUMPY_ADVICE)
case("foreign_zip", zip({ { "readme.txt", "hello\n" } }), NOT_ST .. "a zip archive; " .. RECIPE)
case("foreign_pickle", PICKLE, NOT_ST .. "a Python pickle (e.g. a torch.save or joblib file); " .. RECIPE)
case("foreign_npy", npy({ 1, 2, 3 }), NOT_ST .. "a NumPy .npy array; " .. NUMPY_ADVICE)
-- onnx.ModelProto: ir_version 8, producer "pytorch" 2.1.0, opset_import { version 13 }
case("foreign_onnx", "\8\8\18\7pytorch\26\0052.1.0\58\0\66\2\16\13",
  NOT_ST .. "an ONNX model; lenetgen reads weights only: " .. RECIPE)
case("foreign_hdf5", "\137HDF\r\n\26\n" .. string.rep("\0", 56),
  NOT_ST .. "an HDF5 file (such as Keras .h5 weights); export the weights to safetensors")
-- an empty gzip stream (gzip -n of nothing)
case("foreign_gzip", "\31\139\8\0\0\0\0\0\0\3\3\0\0\0\0\0\0\0\0\0",
  NOT_ST .. "a gzip-compressed file; decompress it first (gunzip) if it holds a safetensors file")
case("foreign_elf", "\127ELF\2\1\1\0" .. string.rep("\0", 56),
  NOT_ST .. "an executable or library (ELF); name the weights file")
-- /etc/shadow: its first 8 bytes once came out as "header length 3619251681095544690"
case("foreign_text_shadow", "root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n",
  NOT_ST .. "a text file; name the weights file (the description names it with weights = ...)")
case("foreign_json", '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}\n',
  NOT_ST .. "JSON text without the 8-byte length that starts a safetensors file; write it with a "
  .. "safetensors writer (README: \"Weights from PyTorch\")")
case("foreign_unknown_binary", "\255\254\253\252\251\250\249\248\1\2\3",
  "not a safetensors file: its first 8 bytes are not a header length of at most 8388608 bytes, and "
  .. "it is no format lenetgen recognises")

-- Write ----------------------------------------------------------------------
for _, c in ipairs(cases) do
  local base = out_dir .. "/" .. c.name
  local f = assert(io.open(base .. ".safetensors", "wb"))
  f:write(c.bytes)
  f:close()
  f = assert(io.open(base .. ".expected", "wb"))
  f:write(c.expected, "\n")
  f:close()
end
print(string.format("wrote %d cases to %s", #cases, out_dir))
