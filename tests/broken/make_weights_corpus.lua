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
local OVER_MAX = "header length %s exceeds the maximum of 100000000 bytes"
local OVER_FILE = "header length %d exceeds file size %d; the file is truncated or not safetensors"
local NEEDS_F32 = "; lenetgen needs F32 (convert it, e.g. tensor.float() in PyTorch)"
local OFFSETS = "tensor 'a' data_offsets must be two non-negative integers [begin, end], not "
local SHAPE_DIM = "tensor 'a' shape dimension %d is %s; dimensions must be non-negative integers"

-- Truncations and length prefix damage ------------------------------------
case("empty", "", TOO_SHORT:format(0))
case("truncated_in_length", GOOD:sub(1, 5), TOO_SHORT:format(5))
case("truncated_in_header", GOOD:sub(1, 8 + 20), OVER_FILE:format(H, 28))
case("truncated_in_data", GOOD:sub(1, -5),
  "tensor 'b' data_offsets [8, 24] end beyond the data region (20 bytes after the header); "
  .. "the file is truncated or the offsets are wrong")
case("truncated_header_only", GOOD:sub(1, 8 + H),
  "tensor 'a' data_offsets [0, 8] end beyond the data region (0 bytes after the header); "
  .. "the file is truncated or the offsets are wrong")
-- Bit 40 of the length: a plausible single-bit corruption.
case("length_bitflip_high", with_length(GOOD, H + (1 << 40)), OVER_MAX:format(H + (1 << 40)))
-- Low bits of the length (H is 110): the header swallows the first data
-- byte (a zero of the float 1.0), or loses its two closing braces.
case("length_bitflip_grow", with_length(GOOD, H ~ 1),
  "header is not valid JSON: NUL byte at character 111")
case("length_bitflip_shrink", with_length(GOOD, H ~ 2),
  "header is not valid JSON: expected comma or object end but found T_END at character 109")
case("length_all_ones", with_length(GOOD, -1), OVER_MAX:format("18446744073709551615"))
case("length_just_over_max", with_length(GOOD, 100000001), OVER_MAX:format("100000001"))
case("length_exceeds_file", with_length(GOOD, 4096), OVER_FILE:format(4096, #GOOD))
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
case("top_number", frame("42"), "header must be a JSON object, not the number 42")
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
