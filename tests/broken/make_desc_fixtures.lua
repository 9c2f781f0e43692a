#!/usr/bin/env lua5.4
--- Writes the binary fixtures of the description corpus (tests/broken/desc):
-- the safetensors files its descriptions point at, a precompiled chunk and the
-- descriptions too repetitive to write by hand (resource bombs, deep nesting).
-- The other descriptions and all .expected messages are written by hand.
--
-- The base network of the corpus ("tiny"): input 1x8x8, conv2d 2 channels 3x3
-- (-> 2x6x6), relu, maxpool2d 2 (-> 2x3x3), flatten (18), linear 3. Its tensors:
-- 0.weight [2,1,3,3], 0.bias [2], 4.weight [3,18], 4.bias [3].
--
-- Deterministic: running it again rewrites identical files. Usage, from the
-- repository root:  lua5.4 tests/broken/make_desc_fixtures.lua
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/../../gen/?.lua;" .. package.path
local st = require("lg.safetensors")
local out_dir = dir .. "/desc"

local function values(n, scale)
  local t = {}
  for i = 1, n do t[i] = ((i * 37) % 19 - 9) * scale end
  return t
end

local function tensor(shape, scale)
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  return { shape = shape, data = values(n, scale or 0.0625) }
end

local function tiny()
  return {
    ["0.weight"] = tensor({ 2, 1, 3, 3 }),
    ["0.bias"] = tensor({ 2 }),
    ["4.weight"] = tensor({ 3, 18 }),
    ["4.bias"] = tensor({ 3 }),
  }
end

local function write(name, bytes)
  local f = assert(io.open(out_dir .. "/" .. name, "wb"))
  f:write(bytes)
  f:close()
end

local function write_tensors(name, tensors)
  write(name, st.encode(tensors, { producer = "tests/broken/make_desc_fixtures.lua" }))
end

-- the good file
write_tensors("tiny.safetensors", tiny())

-- 4.bias missing
local t = tiny()
t["4.bias"] = nil
write_tensors("tiny_missing_bias.safetensors", t)

-- one tensor too many
t = tiny()
t["extra.weight"] = tensor({ 4 })
write_tensors("tiny_extra.safetensors", t)

-- conv kernel 5x5 where the description says 3
t = tiny()
t["0.weight"] = tensor({ 2, 1, 5, 5 })
write_tensors("tiny_kernel5.safetensors", t)

-- linear weight stored flat (rank 1)
t = tiny()
t["4.weight"] = tensor({ 54 })
write_tensors("tiny_rank1.safetensors", t)

-- linear trained on a different input size (20 instead of 18)
t = tiny()
t["4.weight"] = tensor({ 3, 20 })
write_tensors("tiny_in20.safetensors", t)

-- NaN and +Inf in the linear weights (exact bit patterns)
local function with_raw(name, index, bits)
  local tt = tiny()
  local w = tt[name]
  local raw = {}
  for i, v in ipairs(w.data) do raw[i] = string.pack("<f", v) end
  raw[index + 1] = bits
  tt[name] = { shape = w.shape, raw = table.concat(raw) }
  return tt
end
write_tensors("tiny_nan.safetensors", with_raw("4.weight", 7, "\0\0\192\127"))
write_tensors("tiny_inf.safetensors", with_raw("0.bias", 1, "\0\0\128\127"))

-- the same tensors under custom (PyTorch module attribute) names
write_tensors("tiny_named.safetensors", {
  ["features.conv.weight"] = tensor({ 2, 1, 3, 3 }),
  ["features.conv.bias"] = tensor({ 2 }),
  ["classifier.weight"] = tensor({ 3, 18 }),
  ["classifier.bias"] = tensor({ 3 }),
})

-- a precompiled chunk of a valid description
write("bytecode.lua", string.dump(load([[
return { name = "broken", input = { channels = 1, height = 8, width = 8 },
  layers = { { type = "relu" } } }
]]), true))

-- a 4x4 weight and its bias, for two layers that both name them
write_tensors("square.safetensors", { w = tensor({ 4, 4 }), b = tensor({ 4 }) })

-- tiny with layer 1 a batchnorm2d (relu's place): its variance of channel 1 is below zero
t = tiny()
t["1.weight"], t["1.bias"], t["1.running_mean"] = tensor({ 2 }), tensor({ 2 }), tensor({ 2 })
t["1.running_var"] = { shape = { 2 }, data = { 0.5, -0.25 } }
write_tensors("tiny_bn_negvar.safetensors", t)
-- tiny with layer 1 a prelu whose weight has 5 slopes for 2 channels
t = tiny()
t["1.weight"] = tensor({ 5 })
write_tensors("tiny_prelu5.safetensors", t)

-- Descriptions that attack the sandbox's limits (issue 11). Their text is
-- small; what they build at run time is not.
local TAIL = [[
-- (never reached)
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = { { type = "relu" } },
}
]]

-- `..` of 190 copies of a 4 MB string in one instruction (760 MB), hidden
-- from the old `..` counter of lg.linemap: its tokenizer ended the string at
-- "\z" and a newline, so it read the closing quote as the start of a string.
write("bomb_concat_escape_z.lua", "-- One `..` instruction of 190 operands of 4 MB each.\n"
  .. "local s = \"0123456789abcdef\"\n"
  .. "for _ = 1, 18 do s = s .. s end\n"
  .. "local q = \"\\z\n  \"" .. string.rep(" .. s", 190) .. "\n" .. TAIL)

-- `<` on 8 MB of "\0": Lua compares strings with strcoll piece by piece
-- between the zero bytes, seconds inside one instruction
write("bomb_strcoll.lua", "-- One `<` instruction compares 8 million empty pieces with strcoll.\n"
  .. "local s = \"\\0\\0\\0\\0\\0\\0\\0\\0\"\n"
  .. "for _ = 1, 20 do s = s .. s end\n"
  .. "while true do if s < s then end end\n" .. TAIL)

-- 250 levels of each construct the parser nests (its limit is about 200);
-- all on line 2, except the table, one level per line
local DEPTH = 250
local function nested(name, comment, text)
  write(name, "-- " .. comment .. "\n" .. text .. "\n")
end
local lines = {}
for i = 1, DEPTH do lines[i] = string.rep(" ", i % 40) .. "{" end
nested("nesting_table_lines.lua", DEPTH .. " nested tables, one per line.",
  "return\n" .. table.concat(lines, "\n") .. string.rep("}", DEPTH))
nested("nesting_table.lua", DEPTH .. " nested tables.", "return " .. string.rep("{", DEPTH)
  .. string.rep("}", DEPTH))
nested("nesting_parens.lua", DEPTH .. " nested parentheses.", "return " .. string.rep("(", DEPTH) .. "1"
  .. string.rep(")", DEPTH))
nested("nesting_unary_minus.lua", DEPTH .. " unary minus signs.", "return " .. string.rep("- ", DEPTH) .. "1")
nested("nesting_functions.lua", DEPTH .. " nested functions.", "return " .. string.rep("function() return ", DEPTH)
  .. "1" .. string.rep(" end", DEPTH))
nested("nesting_ifs.lua", DEPTH .. " nested ifs.", "local x = 1 " .. string.rep("if x then ", DEPTH)
  .. "x = 2" .. string.rep(" end", DEPTH) .. " return x")
