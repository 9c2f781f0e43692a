#!/usr/bin/env lua5.4
--- Seeded mutation fuzzer for lenetgen.
--
-- Each iteration takes a seed, picks a source network (models/lenet5.lua or one
-- of tests/tiny/*.lua, with its safetensors file) and mutates its description
-- (numbers, strings, fields, layers, truncation, garbage, string escapes, deep
-- nesting of expressions and statements), its weights file
-- (bit flips, truncations, header edits, non-finite values) or both, then runs
-- the pipeline in-process (lg.cli.generate under pcall) and asserts that it
-- either succeeds or fails with one clean lenetgen error: never a raw Lua
-- error (the CLI's exit status 3), never a message over several lines, never
-- longer than the per-run limit. A sample also goes through the real CLI
-- (exit status 0 or 1, one "...: error: ..." line or nothing on stderr, no
-- stack trace, the same message as in-process), and a sample of successful
-- generations is compiled with the strict flags and run against the reference
-- interpreter (lg.reference, compared with tests/harness/lgcheck.lua).
--
-- usage (from the repository root):
--   lua5.4 tools/fuzz.lua [--seed N] [--count N] [--max-seconds S] [--cli-every K]
--                         [--compile-every K] [--timeout S] [--work DIR] [-v]
--   lua5.4 tools/fuzz.lua --seed N --replay    write seed N's input to DIR/replay-N,
--                                              show it and run it through the CLI
--   lua5.4 tools/fuzz.lua --self-test          check that the checks can fail: an
--       unchanged network passes the compile-and-compare step, the same network with
--       one weight changed behind the generated code's back fails it, a raw Lua
--       error and a two-line message are recognised as failures, the escape
--       mutation writes escapes that read back, and deep nesting and a
--       hidden `..` bomb end in one clean message
-- Seeds are consecutive from --seed (default 1); a failure prints its seed.
-- Exit status: 0 when no iteration failed, 1 otherwise, 2 on a usage error.
local root = (arg[0]:match("^(.*)/tools/[^/]*$")) or "."
package.path = root .. "/gen/?.lua;" .. root .. "/tools/?.lua;" .. root .. "/tests/harness/?.lua;"
  .. package.path

local errors = require("lg.errors")
local cli = require("lg.cli")
require("lg.render").templates_dir = root .. "/templates"

local CWARN = require("cflags").warn

------------------------------------------------------------------------------
-- options
------------------------------------------------------------------------------
-- The code budget of a generated case (--max-code-bytes). The generator emits
-- about 1.2 MB of C per CPU second on its slowest path (a 4096-channel max-pool
-- at --unroll=full: 47 MB in 38 s, soak seed 1020246), so with the CLI's 64 MiB
-- default a valid but huge case would outlast the 20 s timeout that is there to
-- catch hangs. 8 MiB keeps every case within about 7 s.
local FUZZ_CODE_BUDGET = 8 * 1024 * 1024

local opts
do
  local cliargs = require("cliargs")
  local parser = cliargs.parser("fuzz.lua", "Seeded mutation fuzzer for lenetgen (see the comment at "
    .. "the top of tools/fuzz.lua).")
  parser:option("--seed", "The first seed.", "1"):argname("N"):convert(cliargs.integer)
  parser:option("--count", "Iterations.", "1000"):argname("N"):convert(cliargs.integer)
  parser:option("--max-seconds", "Stop after this long."):argname("S"):convert(cliargs.number)
  parser:option("--cli-every", "Every K-th iteration also through the real CLI.", "50"):argname("K")
    :convert(cliargs.integer)
  parser:option("--compile-every", "Every K-th success compiled and compared with the reference.", "25")
    :argname("K"):convert(cliargs.integer)
  parser:option("--timeout", "Seconds one run may take.", "20"):argname("S"):convert(cliargs.number)
  parser:option("--work", "Work directory.", "build/fuzz"):argname("DIR")
  parser:flag("--replay", "Write seed N's input to DIR/replay-N, show it and run it through the CLI.")
  parser:flag("--self-test", "Check that the checks can fail.")
  parser:flag("-v --verbose", "Print every iteration.")
  opts = cliargs.parse(parser, arg)
  opts.max_seconds = opts.max_seconds or math.huge
end

------------------------------------------------------------------------------
-- small helpers
------------------------------------------------------------------------------
local shellutil = require("shellutil")
local read_file, write_file = shellutil.read_file, shellutil.write_file
local shell_quote, capture = shellutil.shell_quote, shellutil.capture

--- Deterministic generator (splitmix64) of one iteration.
local function rng(seed)
  local state = seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
  local r = {}
  function r.next()
    state = state + 0x9E3779B97F4A7C15
    local z = state
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    return z ~ (z >> 31)
  end
  function r.int(lo, hi)            -- inclusive
    return lo + math.tointeger((r.next() >> 1) % (hi - lo + 1))
  end
  function r.chance(p) return (r.next() >> 11) * (1.0 / 9007199254740992.0) < p end
  function r.pick(list) return list[r.int(1, #list)] end
  return r
end

------------------------------------------------------------------------------
-- sources
------------------------------------------------------------------------------
local SOURCES = {}
do
  local paths = { root .. "/models/lenet5.lua" }
  local listing = capture("ls " .. shell_quote(root .. "/tests/tiny"))
  for name in listing:gmatch("[^\n]+") do
    if name:match("^tiny_.*%.lua$") then paths[#paths + 1] = root .. "/tests/tiny/" .. name end
  end
  for _, path in ipairs(paths) do
    local text = read_file(path)
    local weights_name = text:match('weights%s*=%s*"([^"]+)"')
    local dir = path:match("^(.*)/[^/]*$")
    SOURCES[#SOURCES + 1] = {
      path = path, text = text, weights_name = weights_name,
      weights = weights_name and read_file(dir .. "/" .. weights_name),
      big = path:match("lenet5") ~= nil,
    }
  end
end

------------------------------------------------------------------------------
-- description mutations (on the text)
------------------------------------------------------------------------------
local LAYER_TYPES = { "conv2d", "linear", "avgpool2d", "maxpool2d", "sigmoid", "relu", "tanh", "flatten",
  "batchnorm2d", "relu6", "clip", "leaky_relu", "prelu", "global_avgpool", "softmax" }
local FIELDS = { "type", "out_channels", "out_features", "kernel", "stride", "padding", "bias", "weight",
  "unroll", "groups", "dilation", "ceil_mode", "count_include_pad", "eps", "affine", "min", "max",
  "negative_slope", "kernal", "in_channels", "name", "input", "weights", "layers", "channels", "height", "width" }
local NUMBERS = { "0", "-1", "1", "2", "3", "7", "64", "65", "4096", "4097", "1e9", "2147483648",
  "9007199254740993", "1e308", "-1e308", "0.5", "2.5", "-0.0", "0x10", "1e999", "0/0", "1/0", "-(1/0)",
  "#{}", "2^31", "9223372036854775807", "-9223372036854775808", "3.0", "1000000", "16777217" }
local STRINGS = { '""', '"same"', '"same_lower"', '"x"', '"full"', '"kernel"', '"none"', '"bogus"', '"lenet5"', '"int"', '"math"',
  '"_X"', '"a b"', '"\\n"', '"\\0"', '"0.weight"', '"0.bias"', '"../../etc/passwd"', '"/dev/zero"',
  '"' .. string.rep("z", 300) .. '"', '"conv2d"', '"relu"', '"tiny.safetensors"', '"."', '"/"' }
local VALUES = { "true", "false", "nil", "{}", "{ 3 }", "{ 3, 3 }", "{ 3, 3, 3 }", "{ h = 3, w = 3 }",
  "{ 0, 2 }", "{ 2, -1 }", "{ {} }", "print", "io", "function() end", "{ type = \"relu\" }", "...",
  "(function() while true do end end)()", "(function() local t = {} for i = 1, 1e7 do t[i] = i end return 1 end)()" }
local GARBAGE = { "{", "}", ",", "=", "==", "(", ")", "[[", "]]", "--[[", "--", "end", "local x = ", "return",
  "\0", "\255", "\27Lua", "..", "...", "\"", "'", "\n", "while true do end ", "goto x ", "::x:: ",
  "function", "#", "~", "//", "<const>", "<close>", "\\", "\xef\xbb\xbf", "0x", "1e", "2d",
  "\"\\z\n  \" .. ", "[==[", "]==]", "\\x", "\\u{", "\\z", "\\400" }

--- Spans {start, stop} of number literals that are not part of a name.
local function number_spans(text)
  local spans = {}
  for s, num, e in text:gmatch("()(%d[%w%.]*)()") do
    local before = s > 1 and text:sub(s - 1, s - 1) or ""
    if not before:match("[%w_%.]") then spans[#spans + 1] = { s, e - 1, num } end
  end
  return spans
end

local function string_spans(text)
  local spans = {}
  for s, e in text:gmatch('()"[^"\n]*"()') do spans[#spans + 1] = { s, e - 1 } end
  return spans
end

local function lines_of(text)
  local lines = {}
  for line in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  return lines
end

local function replace_span(text, s, e, new) return text:sub(1, s - 1) .. new .. text:sub(e + 1) end

--- Lines that hold a layer table: "{ type = ... }".
local function layer_lines(lines)
  local idx = {}
  for i, l in ipairs(lines) do if l:match("type%s*=") then idx[#idx + 1] = i end end
  return idx
end

--- A string's content rewritten with escapes and line continuations: \xHH,
-- \ddd, \u{H}, \z before whitespace and newlines, or a long bracket.
local function escaped(content, r)
  if r.chance(0.2) then
    local eq = string.rep("=", r.int(0, 3))
    return "[" .. eq .. "[" .. (r.chance(0.3) and "\n" or "") .. content .. "]" .. eq .. "]"
  end
  local parts = {}
  for i = 1, #content do
    local c = content:sub(i, i)
    local k = r.int(1, 8)
    if k == 1 then parts[i] = string.format("\\x%02x", c:byte())
    elseif k == 2 then parts[i] = string.format("\\%03d", c:byte())
    elseif k == 3 then parts[i] = string.format("\\u{%X}", c:byte())
    elseif k == 4 then parts[i] = "\\z" .. r.pick({ "", " ", "\n  ", "\n\n\t" }) .. c
    else parts[i] = c end
  end
  return '"' .. table.concat(parts) .. '"'
end

-- Escapes Lua refuses, each in its own way.
local BAD_ESCAPES = { '"\\xZZ"', '"\\x4"', '"\\400"', '"\\u{110000000}"', '"\\u{}"',
  '"\\u{80000000}"', '"\\q"', '"\\z', '"\\', "[==[ unclosed", "[=[ ]==]" }

-- Constructs the parser nests, as an opening and a closing part around a
-- value, and depths around Lua's limit of about 200 levels.
local NESTINGS = { { "{", "}" }, { "(", ")" }, { "- - ", "" }, { "not not ", "" },
  { "(function() return ", " end)()" }, { "{ x = ", " }" }, { "#{", "}" } }
local NEST_DEPTHS = { 2, 20, 100, 150, 180, 190, 195, 199, 200, 201, 210, 250, 1000 }

--- `text` with `depth` levels of `open` before and `close` after position s..e.
local function wrap_span(text, s, e, open, close, depth)
  return text:sub(1, s - 1) .. string.rep(open, depth) .. text:sub(s, e) .. string.rep(close, depth)
    .. text:sub(e + 1)
end

local DESC_MUTATIONS = {
  function(t, r) -- a string rewritten with escapes, a long bracket or a bad escape
    local spans = string_spans(t)
    if #spans == 0 then return t, "no string" end
    local sp = r.pick(spans)
    local new = r.chance(0.8) and escaped(t:sub(sp[1] + 1, sp[2] - 1), r) or r.pick(BAD_ESCAPES)
    return replace_span(t, sp[1], sp[2], new), "escape " .. string.format("%q", new):sub(1, 30)
  end,
  function(t, r) -- a value nested deeply in brackets, parentheses, operators or functions
    local spots = {}
    for s, e in t:gmatch("=%s*()[^,\n}]+()") do spots[#spots + 1] = { s, e - 1 } end
    if #spots == 0 then return t, "no value" end
    local sp, form, depth = r.pick(spots), r.pick(NESTINGS), r.pick(NEST_DEPTHS)
    return wrap_span(t, sp[1], sp[2], form[1], form[2], depth), "nest " .. form[1] .. " x" .. depth
  end,
  function(t, r) -- statements nested deeply (blocks, ifs, loops, functions) before the return
    local s = t:find("return", 1, true)
    if not s then return t, "no return" end
    local form = r.pick({ { "do ", " end " }, { "if true then ", " end " }, { "while false do ", " end " },
      { "local function f() ", " end " }, { "repeat ", " until true " } })
    local depth = r.pick(NEST_DEPTHS)
    local lines = r.chance(0.5) and "\n" or ""
    local block = string.rep(form[1] .. lines, depth) .. "local _ = 1" .. string.rep(form[2] .. lines, depth)
    return t:sub(1, s - 1) .. block .. "\n" .. t:sub(s), "nest statement " .. form[1] .. "x" .. depth
  end,
  function(t, r) -- a number to an interesting value
    local spans = number_spans(t)
    if #spans == 0 then return t, "no number" end
    local sp = r.pick(spans)
    local new = r.chance(0.5) and r.pick(NUMBERS)
      or tostring(math.max(0, (tonumber(sp[3]) or 1) + r.int(-2, 2)) * r.pick({ 1, 1, 2, 3, 10 }))
    return replace_span(t, sp[1], sp[2], new), "number " .. sp[3] .. " -> " .. new
  end,
  function(t, r) -- a string to another string
    local spans = string_spans(t)
    if #spans == 0 then return t, "no string" end
    local sp = r.pick(spans)
    local new = r.chance(0.5) and ('"' .. r.pick(LAYER_TYPES) .. '"') or r.pick(STRINGS)
    return replace_span(t, sp[1], sp[2], new), "string -> " .. new:sub(1, 20)
  end,
  function(t, r) -- a value (after "=") to a value of another kind
    local spots = {}
    for s, e in t:gmatch("=%s*()[^,\n}]+()") do spots[#spots + 1] = { s, e - 1 } end
    if #spots == 0 then return t, "no value" end
    local sp = r.pick(spots)
    local new = r.pick(r.chance(0.5) and VALUES or NUMBERS)
    return replace_span(t, sp[1], sp[2], new), "value -> " .. new:sub(1, 20)
  end,
  function(t, r) -- delete a field "name = value,"
    local spots = {}
    for s, e in t:gmatch("()[%a_]+%s*=%s*[^,{}\n]+,?%s?()") do spots[#spots + 1] = { s, e - 1 } end
    if #spots == 0 then return t, "no field" end
    local sp = r.pick(spots)
    return replace_span(t, sp[1], sp[2], ""), "delete field"
  end,
  function(t, r) -- add a field to a layer
    local lines = lines_of(t)
    local idx = layer_lines(lines)
    if #idx == 0 then return t, "no layer" end
    local i = r.pick(idx)
    local field = r.pick(FIELDS)
    local value = r.chance(0.6) and r.pick(NUMBERS) or r.pick(r.chance(0.5) and STRINGS or VALUES)
    lines[i] = lines[i]:gsub("{", "{ " .. field .. " = " .. value .. ",", 1)
    return table.concat(lines, "\n") .. "\n", "add " .. field .. " = " .. value:sub(1, 20)
  end,
  function(t, r) -- swap a layer type
    local spots = {}
    for s, e in t:gmatch('type%s*=%s*()"[^"]*"()') do spots[#spots + 1] = { s, e - 1 } end
    if #spots == 0 then return t, "no type" end
    local sp = r.pick(spots)
    local new = '"' .. r.pick(LAYER_TYPES) .. '"'
    return replace_span(t, sp[1], sp[2], new), "type -> " .. new
  end,
  function(t, r) -- delete, duplicate or swap layer lines
    local lines = lines_of(t)
    local idx = layer_lines(lines)
    if #idx == 0 then return t, "no layer" end
    local i, j = r.pick(idx), r.pick(idx)
    local op = r.int(1, 3)
    if op == 1 then table.remove(lines, i)
    elseif op == 2 then table.insert(lines, i, lines[i])
    else lines[i], lines[j] = lines[j], lines[i] end
    return table.concat(lines, "\n") .. "\n", ({ "delete", "duplicate", "swap" })[op] .. " layer line"
  end,
  function(t, r) -- truncate
    local n = r.int(0, #t)
    return t:sub(1, n), "truncate at " .. n
  end,
  function(t, r) -- insert garbage
    local pos = r.int(1, #t + 1)
    local g = r.pick(GARBAGE)
    return t:sub(1, pos - 1) .. g .. t:sub(pos), "insert " .. string.format("%q", g):sub(1, 20)
  end,
  function(t, r) -- delete a span of characters
    local s = r.int(1, math.max(1, #t))
    local e = math.min(#t, s + r.int(0, 12))
    return t:sub(1, s - 1) .. t:sub(e + 1), "delete chars " .. s .. "-" .. e
  end,
  function(t, r) -- duplicate or delete a whole line
    local lines = lines_of(t)
    if #lines == 0 then return t, "empty" end
    local i = r.int(1, #lines)
    if r.chance(0.5) then table.insert(lines, i, lines[i]) else table.remove(lines, i) end
    return table.concat(lines, "\n") .. "\n", "line " .. i
  end,
  function(t, r) -- line endings: CR only, CR LF, LF CR or a mix (messages must keep their lines)
    local eols = { "\r", "\r\n", "\n\r" }
    local mode = r.int(1, 4)
    local k = 0
    return (t:gsub("\n", function()
      k = k + 1
      if mode <= 3 then return eols[mode] end
      return ({ "\n", "\r", "\r\n", "\n\r" })[k % 4 + 1]
    end)), "line endings " .. ({ "CR", "CR LF", "LF CR", "mixed" })[mode]
  end,
  function(t, r) -- a huge spatial size for the input
    local size = r.pick({ 512, 4096, 4097, 65536, 1e6 })
    local field = r.pick({ "height", "width" })
    return (t:gsub(field .. "%s*=%s*%d+", field .. " = " .. size, 1)), field .. " -> " .. size
  end,
  function(t, r) -- a number to a pair, or a pair to a number
    local spans = number_spans(t)
    if #spans == 0 then return t, "no number" end
    local sp = r.pick(spans)
    local new = string.format("{ %d, %d }", r.int(0, 6), r.int(0, 6))
    return replace_span(t, sp[1], sp[2], new), "pair " .. new
  end,
}

------------------------------------------------------------------------------
-- weights mutations (on the bytes)
------------------------------------------------------------------------------
local function header_length(bytes)
  if #bytes < 8 then return 0 end
  local n = string.unpack("<i8", bytes)
  if n < 0 or n > #bytes - 8 then return #bytes - 8 end
  return n
end

local WEIGHT_MUTATIONS = {
  function(b, r) -- bit flips, half of them in the header
    local n = r.int(1, 4)
    local h = header_length(b) + 8
    for _ = 1, n do
      if #b == 0 then break end
      local pos = r.chance(0.5) and r.int(1, math.max(1, math.min(#b, h))) or r.int(1, #b)
      b = b:sub(1, pos - 1) .. string.char(b:byte(pos) ~ (1 << r.int(0, 7))) .. b:sub(pos + 1)
    end
    return b, n .. " bit flips"
  end,
  function(b, r) -- truncation
    local n = r.int(0, #b)
    return b:sub(1, n), "truncate at " .. n
  end,
  function(b, r) -- header edit: a digit of the JSON
    local h = header_length(b)
    local header = b:sub(9, 8 + h)
    local spots = {}
    for s in header:gmatch("()%d") do spots[#spots + 1] = s end
    if #spots == 0 then return b, "no digit" end
    local s = r.pick(spots)
    local new = r.pick({ "0", "1", "9", "99", "-1", "1e9", "", "4294967296", "0.5", "null", "\"8\"" })
    header = header:sub(1, s - 1) .. new .. header:sub(s + 1)
    local len = r.chance(0.7) and #header or h
    return string.pack("<I8", len) .. header .. b:sub(9 + h), "header digit -> " .. new
  end,
  function(b, r) -- header edit: dtype, names, structure
    local h = header_length(b)
    local header = b:sub(9, 8 + h)
    local edits = {
      { '"F32"', r.pick({ '"F16"', '"f32"', '"I32"', '"F64"', '"BF16"', 'null', '32', '"F32 "' }) },
      { '"shape"', r.pick({ '"shap"', '"dtype"', '"shape","shape"' }) },
      { '"data_offsets"', r.pick({ '"offsets"', '"data_offsets","data_offsets"' }) },
      { "%]", r.pick({ ",1]", "]]", "", ",-1]" }) },
      { "{", r.pick({ "[", "{{", '{"__metadata__":5,' }) },
      { "}", r.pick({ "", "}}", ",}" }) },
      { "%.weight", r.pick({ ".bias", ".weigh", "" }) },
      { ":", r.pick({ "", "::", "=" }) },
    }
    local e = r.pick(edits)
    local count = 0
    header = header:gsub(e[1], function(m)
      count = count + 1
      if count == 1 or r.chance(0.3) then return e[2] end
      return m
    end)
    local len = r.chance(0.8) and #header or h
    return string.pack("<I8", len) .. header .. b:sub(9 + h), "header " .. e[1] .. " -> " .. e[2]
  end,
  function(b, r) -- header length field
    local h = header_length(b)
    local new = r.pick({ h + 1, h - 1, h + 8, h - 8, 0, #b, #b - 7, 100000001, -1, 1 << 40, h ~ (1 << r.int(0, 62)) })
    return string.pack("<i8", new) .. b:sub(9), "length -> " .. new
  end,
  function(b, r) -- a non-finite or extreme value in the data
    local h = header_length(b) + 8
    local floats = (#b - h) // 4
    if floats <= 0 then return b, "no data" end
    local k = r.int(0, floats - 1)
    local pos = h + 4 * k + 1
    local bits = r.pick({ "\0\0\192\127", "\0\0\128\127", "\0\0\128\255", "\255\255\255\255",
      string.pack("<f", 3.0e38), string.pack("<f", 1e-45), "\0\0\0\128" })
    return b:sub(1, pos - 1) .. bits .. b:sub(pos + 4), "data value " .. k
  end,
  function(b, r) -- duplicate keys inside an entry or in __metadata__
    local h = header_length(b)
    local header = b:sub(9, 8 + h)
    local edits = {
      { '"dtype":"F32"', '"dtype":"I8","dtype":"F32"' },
      { '"dtype":"F32"', '"dtype":"F32","dtype":"F32"' },
      { '"data_offsets":', '"data_offsets":[0,0],"data_offsets":' },
      { '"shape":', '"sh\\u0061pe":[1],"shape":' },
      { "^{", '{"__metadata__":{"format":"pt","format":"pt"},' },
    }
    local e = r.pick(edits)
    header = header:gsub(e[1], e[2], 1)
    return string.pack("<I8", #header) .. header .. b:sub(9 + h), "duplicate " .. e[1]
  end,
  function(b, r) -- a large but legal header: many empty tensors, rank 5, or long metadata
    local h = header_length(b)
    local header = b:sub(9, 8 + h)
    if header:sub(1, 1) ~= "{" then return b, "no object header" end
    local what = r.int(1, 3)
    local extra
    if what == 1 then
      local n = r.pick({ 100, 500, 511, 512, 513, 2000 })
      local parts = {}
      for i = 1, n do parts[i] = string.format('"z%d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}', i) end
      extra = table.concat(parts, ",") .. ","
    elseif what == 2 then
      extra = '"r5":{"dtype":"F32","shape":[1,1,1,1,0],"data_offsets":[0,0]},'
    else
      extra = '"__metadata__":{"pad":"' .. string.rep("x", r.pick({ 1000, 100000, 1000000 })) .. '"},'
    end
    header = "{" .. extra .. header:sub(2)
    return string.pack("<I8", #header) .. header .. b:sub(9 + h), "large header " .. what .. ", " .. #header .. " bytes"
  end,
  function(b, r) -- extra bytes at the end or in the middle
    local extra = string.rep(string.char(r.int(0, 255)), r.pick({ 1, 3, 4, 8, 64 }))
    if r.chance(0.5) then return b .. extra, "append " .. #extra end
    local pos = r.int(9, math.max(9, #b))
    return b:sub(1, pos - 1) .. extra .. b:sub(pos), "insert " .. #extra .. " at " .. pos
  end,
  function(b, r) -- random bytes over the data region
    local h = header_length(b) + 8
    if #b <= h then return b, "no data" end
    local s = r.int(h + 1, #b)
    local e = math.min(#b, s + r.int(0, 16))
    local junk = {}
    for i = s, e do junk[#junk + 1] = string.char(r.int(0, 255)) end
    return b:sub(1, s - 1) .. table.concat(junk) .. b:sub(e + 1), "junk data " .. s .. "-" .. e
  end,
}

------------------------------------------------------------------------------
-- huge spatial sizes (issue 11, item 5)
------------------------------------------------------------------------------
-- One seed in HUGE_SHARE is instead a network generated on an input at the size
-- limits (up to 4096x4096, 16 Mi values): planning, --explain and emission must
-- not visit every position, so it must end within HUGE_SECONDS of CPU (generated,
-- or refused by a clean error such as the code budget). Drawn from a stream of
-- its own, so every other seed keeps its case; never compiled (16 Mi inputs).
local HUGE_SHARE, HUGE_SALT, HUGE_SECONDS = 1 / 40, 0x6875676531, 10

local function huge_spatial_case(seed)
  local r = rng(seed ~ HUGE_SALT)
  if not r.chance(HUGE_SHARE) then return nil end
  local h, w = r.pick({ 4096, 4095, 4093, 2048, 64, 1 }), r.pick({ 4096, 4094, 3000, 64, 1 })
  local channels = math.max(1, math.min(r.int(1, 4), (16 * 1024 * 1024) // (h * w)))
  local layers, size = {}, { h, w }
  for i = 1, r.int(1, 8) do
    local t = r.pick({ "conv2d", "conv2d", "maxpool2d", "avgpool2d", "relu", "sigmoid" })
    if t == "relu" or t == "sigmoid" then
      layers[i] = string.format('{ type = "%s" }', t)
    else
      local k, s, p = {}, {}, {}
      for a = 1, 2 do
        k[a] = r.pick({ 1, 2, 3, 5, 64, r.int(1, 64) })
        s[a] = r.pick({ 1, 1, 1, 1, 2, 3, k[a], 64 })
        p[a] = (t == "conv2d") and r.pick({ 0, 0, 1, k[a] // 2, 64 }) or r.int(0, k[a] // 2)
        k[a] = math.min(k[a], size[a] + 2 * p[a])   -- mostly no vanishing outputs
        size[a] = (size[a] + 2 * p[a] - k[a]) // s[a] + 1
      end
      layers[i] = string.format('{ type = "%s", %skernel = { %d, %d }, stride = { %d, %d }, '
        .. 'padding = { %d, %d } }', t, t == "conv2d" and "out_channels = 1, " or "", k[1], k[2], s[1], s[2],
        p[1], p[2])
    end
  end
  local text = string.format('return {\n  name = "huge",\n  input = { channels = %d, height = %d, width = %d },'
    .. '\n  layers = {\n    %s,\n  },\n}\n', channels, h, w, table.concat(layers, ",\n    "))
  return { seed = seed, source = { path = root .. "/huge_spatial.lua", text = text, big = true },
    notes = { string.format("huge spatial %dx%dx%d, %d layers", channels, h, w, #layers) }, text = text,
    huge = true, timeout = HUGE_SECONDS,
    args = { unroll = r.pick({ "full", "kernel", "kernel", "none" }), plan = r.pick({ "fused", "layered" }),
      math = r.pick({ "libm", "builtin" }), random_weights = r.int(0, 1000), allow_nonfinite = false,
      max_code_bytes = FUZZ_CODE_BUDGET } }
end

------------------------------------------------------------------------------
-- one case: the mutated input of a seed
------------------------------------------------------------------------------
local function make_case(seed)
  local r = rng(seed)
  local huge = huge_spatial_case(seed)
  if huge then return huge end
  -- LeNet-5 is slow to generate; most cases use the tiny networks
  local source = r.chance(0.06) and SOURCES[1] or SOURCES[r.int(2, #SOURCES)]
  local case = { seed = seed, source = source, notes = {} }
  local kind = r.int(1, 10)   -- 1-6 description, 7-9 weights, 10 both
  local text, bytes = source.text, source.weights
  if kind <= 6 or kind == 10 then
    for _ = 1, r.pick({ 1, 1, 1, 2, 3 }) do
      local note
      text, note = r.pick(DESC_MUTATIONS)(text, r)
      case.notes[#case.notes + 1] = "desc: " .. note
    end
  end
  if bytes and kind >= 7 then
    for _ = 1, r.pick({ 1, 1, 2 }) do
      local note
      bytes, note = r.pick(WEIGHT_MUTATIONS)(bytes, r)
      case.notes[#case.notes + 1] = "weights: " .. note
    end
  end
  case.text, case.bytes = text, bytes
  case.args = {
    unroll = (source.big and r.pick({ "kernel", "none" })) or r.pick({ "full", "kernel", "none" }),
    plan = r.pick({ "fused", "layered" }),
    math = r.pick({ "libm", "builtin" }),
    random_weights = (kind <= 6 and r.chance(0.25)) and r.int(0, 1000) or nil,
    allow_nonfinite = r.chance(0.2),
    max_code_bytes = r.chance(0.05) and r.int(100, 100000) or FUZZ_CODE_BUDGET,
  }
  return case
end

--- Write a case's files into dir; returns the description path.
local function write_case(case, dir)
  local desc = dir .. "/" .. (case.source.path:match("([^/]*)$"))
  write_file(desc, case.text)
  if case.source.weights_name and case.bytes then
    write_file(dir .. "/" .. case.source.weights_name, case.bytes)
  end
  return desc
end

local function cli_args_text(case, desc, out)
  local a = case.args
  local parts = { shell_quote(desc), "-o", shell_quote(out), "--unroll=" .. a.unroll, "--plan=" .. a.plan,
    "--math=" .. a.math, "--max-code-bytes", tostring(a.max_code_bytes) }
  if a.random_weights then parts[#parts + 1] = "--random-weights " .. a.random_weights end
  if a.allow_nonfinite then parts[#parts + 1] = "--allow-nonfinite" end
  return table.concat(parts, " ")
end

------------------------------------------------------------------------------
-- running
------------------------------------------------------------------------------
local TIMEOUT = {}

--- Run the pipeline in-process. Returns "ok", result | "error", message |
-- "bug", message | "timeout", seconds.
local function run_inprocess(case, desc, out)
  local args = {}
  for k, v in pairs(case.args) do args[k] = v end
  args.description, args.output, args.explain, args.check = desc, out, false, false
  local deadline = os.clock() + (case.timeout or opts.timeout)
  debug.sethook(function()
    if os.clock() > deadline then error(TIMEOUT, 0) end
  end, "", 100000)
  local started = os.clock()
  local ok, result = xpcall(cli.generate, function(e)
    if e == TIMEOUT or errors.is(e) then return e end
    return { bug = debug.traceback(tostring(e), 2) }
  end, args)
  debug.sethook()
  local seconds = os.clock() - started
  if ok then return "ok", result, seconds end
  if result == TIMEOUT then return "timeout", opts.timeout, seconds end
  if errors.is(result) then return "error", errors.format(result), seconds end
  return "bug", result.bug, seconds
end

--- A clean error message: one line, "file[:line]: error: message", no traceback.
local function clean_message(msg)
  return type(msg) == "string" and not msg:find("\n", 1, true) and msg:match("^.-:%d*:? ?error: .+$") ~= nil
    and not msg:find("stack traceback", 1, true)
end

local function run_cli(case, desc, out)
  local cmd = "timeout " .. (opts.timeout + 10) .. " " .. shell_quote(root .. "/gen/lenetgen") .. " "
    .. cli_args_text(case, desc, out) .. " 2>&1 >/dev/null; echo \"status=$?\""
  local text = capture(cmd)
  local err, status = text:match("^(.-)status=(%d+)\n?$")
  return tonumber(status), err
end

-- Files that are there but are not regular files: a FIFO (opening it would
-- block), a link to /dev/null (a device) and a directory. Every 4th CLI case
-- puts one in place of the weights file or of out/<name>.c; the run must
-- then fail with one clean line, never hang and never succeed.
local NON_REGULAR = { { "a FIFO", "mkfifo %s" }, { "a link to /dev/null", "ln -s /dev/null %s" },
  { "a directory", "mkdir %s" } }

--- The path a case's CLI run can find not regular (chosen by the seed), and
-- how to make it so; nil when the case has neither a weights file nor an output.
local function non_regular_target(case, kind, result, dir)
  local paths = {}
  if case.source.weights_name and case.bytes and not case.args.random_weights then
    paths[#paths + 1] = dir .. "/" .. case.source.weights_name
  end
  if kind == "ok" then paths[#paths + 1] = result.files[2].path end
  if #paths == 0 then return nil end
  return paths[case.seed % #paths + 1], NON_REGULAR[(case.seed // 2) % #NON_REGULAR + 1]
end

--- Compile the generated files with the strict flags and compare a run with
-- the reference interpreter. Returns nil when fine, else a message.
local reference_ok, reference = pcall(require, "lg.reference")
local lgcheck_ok, lgcheck = pcall(require, "lgcheck")
local function compile_and_compare(result, dir, case)
  local model = result.model
  local name = model.name
  local cfile = dir .. "/" .. name .. ".c"
  for _, f in ipairs(result.files) do
    local fname = f.path:match("([^/]*)$")
    write_file(dir .. "/" .. fname, f.text)
  end
  local upper = name:upper()
  write_file(dir .. "/fuzz_main.c", string.format([[
#include <stdio.h>
#include "%s.h"
static float in[%s_INPUT_SIZE];
static float out[%s_OUTPUT_SIZE];
int main(void) {
    long i;
    for (i = 0; i < (long)%s_INPUT_SIZE; i++) if (scanf("%%f", &in[i]) != 1) return 2;
    %s_infer(in, out);
    for (i = 0; i < (long)%s_OUTPUT_SIZE; i++) printf("%%.9g\n", (double)out[i]);
    return 0;
}
]], name, upper, upper, upper, name, upper))
  local log, code = capture("cd " .. shell_quote(dir) .. " && gcc -O1 " .. CWARN .. " -c " .. shell_quote(name .. ".c")
    .. " -o model.o 2>&1 && gcc -O1 -std=c99 -w -c fuzz_main.c -o main.o 2>&1 && gcc -o fuzz_bin main.o model.o"
    .. " -lm 2>&1")
  if code ~= 0 then return "does not compile with the strict flags:\n" .. log end
  if not (reference_ok and lgcheck_ok) then return nil end
  local n = model.input.channels * model.input.height * model.input.width
  local input = lgcheck.INPUT_KINDS.random(n, case.seed)
  local parts = {}
  for i, v in ipairs(input) do parts[i] = string.format("%.9g", v) end
  write_file(dir .. "/input.txt", table.concat(parts, "\n") .. "\n")
  local text, rc = capture("cd " .. shell_quote(dir) .. " && timeout 20 ./fuzz_bin < input.txt")
  if rc ~= 0 then return "generated program failed (status " .. tostring(rc) .. ")" end
  local got = {}
  for v in text:gmatch("[^\n]+") do got[#got + 1] = tonumber(v) or (v:match("nan") and 0 / 0) or v end
  local ok, want = pcall(reference.run, model, input)
  if not ok then return "reference interpreter failed: " .. tostring(want) end
  -- non-finite weights give non-finite outputs; compare only where the reference is finite
  local finite_got, finite_want = {}, {}
  for i = 1, math.max(#got, #want) do
    local w = want[i]
    if w == nil or got[i] == nil then
      return string.format("%d outputs, reference has %d", #got, #want)
    end
    if w == w and w ~= math.huge and w ~= -math.huge then
      finite_got[#finite_got + 1], finite_want[#finite_want + 1] = got[i], w
    end
  end
  local diff = lgcheck.compare(finite_got, finite_want)
  if diff then return "output differs from the reference: " .. diff end
  return nil
end

------------------------------------------------------------------------------
-- main
------------------------------------------------------------------------------
os.execute("mkdir -p " .. shell_quote(opts.work))

if opts.replay then
  local case = make_case(opts.seed)
  local dir = opts.work .. "/replay-" .. opts.seed
  os.execute("rm -rf " .. shell_quote(dir) .. " && mkdir -p " .. shell_quote(dir .. "/out"))
  local desc = write_case(case, dir)
  print("seed " .. opts.seed .. ": " .. case.source.path:match("([^/]*)$"))
  for _, n in ipairs(case.notes) do print("  " .. n) end
  print("files in " .. dir .. "; the command:")
  print("  gen/lenetgen " .. cli_args_text(case, desc, dir .. "/out"))
  print("---- description ----")
  io.write(case.text, case.text:sub(-1) == "\n" and "" or "\n")
  print("---- in-process ----")
  local kind, detail, seconds = run_inprocess(case, desc, dir .. "/out")
  print(string.format("%s (%.2f s): %s", kind, seconds, kind == "ok" and "generated" or tostring(detail)))
  print("---- CLI ----")
  local status, err = run_cli(case, desc, dir .. "/out")
  io.write("status ", tostring(status), "\n", err)
  os.exit(0)
end

if opts.self_test then
  local T = require("testlib")
  local function expect(ok, name, detail) T.check(ok, "self-test " .. name, detail) end
  local source = SOURCES[#SOURCES]
  local case = { seed = 1, source = source, notes = {}, text = source.text, bytes = source.weights,
    args = { unroll = "kernel", plan = "fused", math = "libm", allow_nonfinite = false,
      max_code_bytes = FUZZ_CODE_BUDGET } }
  local dir = opts.work .. "/self-test"
  os.execute("rm -rf " .. shell_quote(dir) .. " && mkdir -p " .. shell_quote(dir .. "/out"))
  local desc = write_case(case, dir)
  local kind, result = run_inprocess(case, desc, dir .. "/out")
  expect(kind == "ok", "unchanged network generates", result)
  if kind == "ok" then
    local problem = compile_and_compare(result, dir .. "/out", case)
    expect(problem == nil, "unchanged network matches the reference", problem)
    if reference_ok and lgcheck_ok then
      local w = result.model.layers[1].weight.data
      w[1] = w[1] + 0.5
      problem = compile_and_compare(result, dir .. "/out", case)
      expect(problem and problem:match("differs from the reference"), "a changed weight is caught", problem)
    end
  end
  expect(not clean_message("a.lua:1: error: x\ny"), "a two-line message is not clean")
  expect(not clean_message("a.lua:1: error: stack traceback"), "a traceback is not clean")
  expect(not clean_message("gen/lg/x.lua:3: attempt to index a nil value"), "a plain Lua error is not clean")
  expect(clean_message("m.lua:3: error: layer 0 (conv2d): kernel is required"), "a model error is clean")
  case.text = "return { name = 'x', input = { channels = 1, height = 2, width = 2 }, layers = { { type = 'relu' } } }"
  case.args.random_weights = 3
  desc = write_case(case, dir)
  kind = run_inprocess(case, desc, dir .. "/out")
  expect(kind == "ok", "a valid edited description generates", kind)
  -- the escape mutation writes escapes Lua reads back as the same string
  for seed = 1, 20 do
    local text = escaped("relu_0.weight", rng(seed))
    local chunk = load("return " .. text)
    expect(chunk and chunk() == "relu_0.weight", "escapes read back (seed " .. seed .. ")", text)
  end
  -- what the nesting and escape mutations aim at ends in one clean line
  local function clean_error(name, text, wanted)
    case.text = text
    local kind_seen, message = run_inprocess(case, write_case(case, dir), dir .. "/out")
    expect(kind_seen == "error" and clean_message(message) and message:find(wanted, 1, true), name, message)
  end
  clean_error("deep nesting is a clean error", "return " .. wrap_span("1", 1, 1, "(", ")", 300),
    "nesting too deep")
  clean_error("a concat bomb hidden by \\z is a clean error", "local s = 'x' for _ = 1, 22 do s = s .. s end\n"
    .. "local q = \"\\z\n  \"" .. string.rep(" .. s", 180) .. "\nreturn {}", "ran out of memory")
  T.finish()
end

local counts = { ok = 0, error = 0, fail = 0, cli = 0, non_regular = 0, compiled = 0 }
local failures = {}
local started = os.time()
local clock0 = os.clock()
local wall0 = tonumber((capture("date +%s.%N")))
local dir = opts.work .. "/run"
os.execute("rm -rf " .. shell_quote(dir) .. " && mkdir -p " .. shell_quote(dir .. "/out"))

-- Failures are grouped by signature (the kind and the first line of the
-- detail): the first of each group is shown in full, later ones by seed only.
local signatures, signature_order = {}, {}
local function fail(case, what, detail)
  counts.fail = counts.fail + 1
  if failures[#failures] ~= case.seed then failures[#failures + 1] = case.seed end
  local signature = what .. (detail and (": " .. tostring(detail):match("^[^\n]*")) or "")
  local group = signatures[signature]
  if not group then
    group = { seeds = {} }
    signatures[signature] = group
    signature_order[#signature_order + 1] = signature
  end
  group.seeds[#group.seeds + 1] = case.seed
  print(string.format("FAIL seed %d (%s; %s): %s", case.seed, case.source.path:match("([^/]*)$"),
    table.concat(case.notes, "; "), what))
  if #group.seeds == 1 then
    if detail then print("    " .. (tostring(detail):gsub("\n", "\n    "))) end
    print(string.format("  replay: lua5.4 tools/fuzz.lua --seed %d --replay", case.seed))
  else
    print("    (same as seed " .. group.seeds[1] .. ")")
  end
end

local done = 0
local successes = 0
for i = 0, opts.count - 1 do
  if os.time() - started >= opts.max_seconds then break end
  local case = make_case(opts.seed + i)
  local desc = write_case(case, dir)
  local kind, detail, seconds = run_inprocess(case, desc, dir .. "/out")
  if kind == "ok" then
    counts.ok = counts.ok + 1
    successes = successes + 1
  elseif kind == "error" then
    counts.error = counts.error + 1
    if not clean_message(detail) then fail(case, "error message is not one clean line", detail) end
  elseif kind == "timeout" then
    fail(case, string.format("did not finish within %g s", case.timeout or opts.timeout))
  else
    fail(case, "raw Lua error (the CLI would report an internal error, exit status 3)", detail)
  end
  if opts.verbose then
    print(string.format("seed %d %s %.2fs %s | %s", case.seed, kind, seconds,
      case.source.path:match("([^/]*)$"), kind == "error" and detail or table.concat(case.notes, "; ")))
  end
  -- a sample through the real command line
  local odd_path, odd = nil, nil
  if opts.cli_every > 0 and i % opts.cli_every == 0 and kind ~= "timeout" and counts.cli % 4 == 3 then
    odd_path, odd = non_regular_target(case, kind, detail, dir)
  end
  if odd_path then
    counts.cli, counts.non_regular = counts.cli + 1, counts.non_regular + 1
    os.execute("rm -rf " .. shell_quote(odd_path) .. " && " .. odd[2]:format(shell_quote(odd_path)))
    local status, err = run_cli(case, desc, dir .. "/out")
    if status ~= 1 or not clean_message((err:gsub("\n$", ""))) then
      fail(case, "CLI with " .. odd[1] .. " as " .. odd_path:match("[^/]*$") .. ": exit status "
        .. tostring(status) .. ", not one clean error", err)
    elseif kind == "ok" and not err:find("not a regular file", 1, true) then
      fail(case, "CLI with " .. odd[1] .. " as " .. odd_path:match("[^/]*$") .. " does not say so", err)
    end
    os.execute("rm -rf " .. shell_quote(odd_path))
    write_case(case, dir)
  elseif opts.cli_every > 0 and i % opts.cli_every == 0 and kind ~= "timeout" then
    counts.cli = counts.cli + 1
    local status, err = run_cli(case, desc, dir .. "/out")
    if status ~= 0 and status ~= 1 then
      fail(case, "CLI exit status " .. tostring(status), err)
    elseif err:find("stack traceback", 1, true) then
      fail(case, "CLI printed a stack trace", err)
    elseif status == 1 and not clean_message((err:gsub("\n$", ""))) then
      fail(case, "CLI error is not one clean line", err)
    elseif status == 0 and shellutil.without_notes(err) ~= "" then
      fail(case, "CLI succeeded but printed to stderr (other than notes)", err)
    elseif (status == 0) ~= (kind == "ok") or (kind == "error" and err ~= detail .. "\n") then
      fail(case, "CLI and in-process runs disagree", "in-process: " .. tostring(kind == "error" and detail or kind)
        .. "\nCLI (status " .. status .. "): " .. err)
    end
  end
  -- a sample of the successes compiled and compared with the reference
  if kind == "ok" and opts.compile_every > 0 and successes % opts.compile_every == 1 and not case.huge
      and #detail.files[2].text < 4 * 1024 * 1024 then
    counts.compiled = counts.compiled + 1
    local cdir = opts.work .. "/compile"
    os.execute("rm -rf " .. shell_quote(cdir) .. " && mkdir -p " .. shell_quote(cdir))
    local problem = compile_and_compare(detail, cdir, case)
    if problem then fail(case, problem) end
  end
  done = done + 1
  if done % 1000 == 0 then
    io.stderr:write(string.format("fuzz: %d cases, %d generated, %d clean errors, %d failures\n", done,
      counts.ok, counts.error, counts.fail))
  end
end

local wall = tonumber((capture("date +%s.%N"))) - wall0
print(string.format("fuzz: seeds %d-%d: %d cases in %.1f s (%.1f per second, %.1f s CPU in-process): "
  .. "%d generated, %d clean errors; %d through the CLI (%d with a file that is not regular), "
  .. "%d compiled and compared%s",
  opts.seed, opts.seed + done - 1, done, wall, done / math.max(wall, 1e-9), os.clock() - clock0,
  counts.ok, counts.error, counts.cli, counts.non_regular, counts.compiled,
  (reference_ok and lgcheck_ok) and "" or " (reference comparison unavailable: compile only)"))
if #failures > 0 then
  print("failures by kind:")
  for _, signature in ipairs(signature_order) do
    local seeds = signatures[signature].seeds
    local shown = {}
    for k = 1, math.min(#seeds, 12) do shown[k] = tostring(seeds[k]) end
    print(string.format("  %d x %s\n    seeds: %s%s", #seeds, signature, table.concat(shown, " "),
      #seeds > 12 and " ..." or ""))
  end
end
print(string.format("%d passed, %d failed", done - #failures, #failures))
os.exit(#failures == 0 and 0 or 1)
