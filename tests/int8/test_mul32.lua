--- The requantization's 32-bit-only arithmetic (templates/source_head_int8.c,
-- chosen on ARMv6-M or with LG_INT8_MUL32) and its 64-bit form, each compiled
-- on the host, against the integer reference (gen/lg/reference_int8.lua):
-- lg_high_mul, lg_saturating_left_shift and lg_requantize must give exactly
-- the reference's values on edge operands (powers of two and their
-- neighbours, the 16-bit half boundaries, the int32 limits, rounding ties)
-- and on seeded random ones, every shift QuantizeMultiplier can produce.
-- The LG_DSP variant (ACLE emulated, tests/int8/acle_emul.h) takes
-- lg_scale_bounded on every case inside its bound (|x| * 2^left < 2^29, what
-- lg.int8emit.bounded_mode proves for a layer; mode 2 where the shift is
-- negative, 3 where it is -22 to -1 and the multiplier at least 2^30: SMMLAR,
-- the zero point folded in, USAT) and the
-- general path elsewhere; bounded_mode itself is checked on
-- a layer at and past the bound. lg_average (templates/int8_average.c), both
-- paths, against the rounded division for every sum of 1 to 16 int8 codes.
--   lua5.4 tests/int8/test_mul32.lua [-v] [--random 100000]
local root = arg[0]:match("^(.*)/tests/int8/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. root .. "/tests/harness/?.lua;" .. root .. "/tools/?.lua;" .. package.path

local cflags = require("cflags")
local lgcheck = require("lgcheck")
local int8emit = require("lg.int8emit")
local reference_int8 = require("lg.reference_int8")
local shellutil = require("shellutil")
local t = require("testlib")

local args = t.parse_args("tests/int8/test_mul32.lua", "32-bit requantization against the integer reference.",
  function(p) p:option("--random", "Random operand triples.", "100000") end)

local BUILD = "build/int8/mul32"
local CC = os.getenv("CC") or "gcc"
local INT32_MIN, INT32_MAX = -2147483648, 2147483647

-- The template's arithmetic, from its first #if to its end (the helpers
-- lg_requantize needs, no placeholder), behind the headers it relies on.
local template = assert(shellutil.read_file(root .. "/templates/source_head_int8.c"))
local helpers = template:match("\n(#if defined%(__ARM_ARCH_6M__%).*)$")
t.check(helpers ~= nil and not helpers:find("${", 1, true), "template: helpers found, without placeholders")

local DRIVER = [[
#include <stdint.h>
#include <stdio.h>
%s
int main(void)
{
    long long x, m, s, z, low, bounded;
#if defined(LG_DSP) && !defined(LG_INT8_MUL32)
    printf("lg_scale_bounded\n");
#endif
    while (scanf("%%lld %%lld %%lld %%lld %%lld %%lld", &x, &m, &s, &z, &low, &bounded) == 6) {
        const int32_t left = (s > 0) ? lg_saturating_left_shift((int32_t)x, (int32_t)s) : (int32_t)x;
        printf("%%ld %%ld %%d\n", (long)lg_high_mul((int32_t)x, (int32_t)m), (long)left,
               (int)lg_requantize((int32_t)x, (int32_t)m, (int32_t)s, (int32_t)z, (int32_t)low,
                                     (int32_t)bounded));
    }
    return 0;
}
]]

-- operands: x any int32; multiplier in {0} and [2^30, 2^31) as QuantizeMultiplier gives, plus
-- smaller ones (the arithmetic is exact for every multiplier in [0, 2^31)); shift in [-31, 31]
local edge_x, edge_m = { 0, 1, -1, 2, -2, 3, -3, INT32_MIN, INT32_MIN + 1, INT32_MAX, INT32_MAX - 1 }, { 0, 1, 2, 3 }
for k = 1, 30 do
  for _, d in ipairs({ -1, 0, 1 }) do
    edge_x[#edge_x + 1] = (1 << k) + d
    edge_x[#edge_x + 1] = -(1 << k) + d
    edge_m[#edge_m + 1] = (1 << k) + d
  end
end
for _, v in ipairs({ 0xFFFF, 0x7FFF, 0x8000, 0xFFFF0000 - 0x100000000, 0x7FFF0000, 0x7FFFFFFF - 0x8000 }) do
  edge_x[#edge_x + 1], edge_x[#edge_x + 2] = v, -v
  if v > 0 then edge_m[#edge_m + 1] = v end
end
edge_m[#edge_m + 1] = INT32_MAX

local cases = {}
local shifts = { -31, -13, -1, 0, 1, 7, 30, 31 }
for i, x in ipairs(edge_x) do
  for j, m in ipairs(edge_m) do
    cases[#cases + 1] = { x, m, shifts[(i + j) % #shifts + 1] }
  end
end
local next_unit = lgcheck.uniform_source(13)
local function random_int(lo, hi) return lo + math.floor(next_unit() * (hi - lo + 1)) end
for _ = 1, tonumber(args.random) do
  -- accumulators of every magnitude, not only the huge ones a uniform draw gives
  local bits = random_int(0, 31)
  local x = random_int(-(1 << bits), (1 << bits) - 1)
  local m = random_int(1 << 30, INT32_MAX)
  cases[#cases + 1] = { x, m, random_int(-31, 4) }
end
-- rounding ties of the high word: x * m + 2^30 a multiple of 2^31 (m = 2^30 + 2^k, x = ±(2^(31-k)) ...)
for k = 0, 30 do
  for _, x in ipairs({ 1, -1, 3, -3 }) do cases[#cases + 1] = { x, (1 << 30) + (1 << k) - 1, -k % 32 - 31 } end
end

-- zero points cycle through the extremes: the sum with a saturated value
-- must not overflow (the template clamps before adding, the reference adds in 64 bits)
local ZERO_POINTS = { 0, -128, 127, 5, -77 }
local function zero_point(i) return ZERO_POINTS[i % #ZERO_POINTS + 1] end
-- the clamp's lower bound: -128, or the zero point every third case (a ReLU folded in)
local function low_of(i) return (i % 3 == 0) and zero_point(i) or -128 end

-- saturated values next to every zero point: the sum would leave int32 if the
-- zero point were added first
for _, x in ipairs({ INT32_MAX, INT32_MIN, INT32_MAX - 1 }) do
  for _, sh in ipairs({ 0, 1, 31 }) do
    for _ = 1, #ZERO_POINTS do cases[#cases + 1] = { x, INT32_MAX, sh } end
  end
end

-- the largest accumulators lg_scale_bounded may get, for every left shift, and ties of its rounding division
for left = 0, 28 do
  local top = (1 << (29 - left)) - 1
  for _, x in ipairs({ top, -top, top - 1, -top + 1 }) do
    cases[#cases + 1] = { x, INT32_MAX, left }
    cases[#cases + 1] = { x, random_int(1 << 30, INT32_MAX), (left == 0) and -random_int(0, 31) or left }
  end
end
for r = 1, 31 do
  for _, x in ipairs({ 1 << (r - 1), -(1 << (r - 1)), 3 << (r - 1), -(3 << (r - 1)) }) do
    if math.abs(x) < (1 << 29) then cases[#cases + 1] = { x, 1 << 30, -r } end
  end
end

--- lg_requantize's bounded argument for this case, as lg.int8emit.bounded_mode gives it for a layer.
local function bounded_mode(x, m, s)
  local left = math.max(s, 0)
  if not (left <= 28 and -s <= 31 and math.abs(x) * (1 << left) < int8emit.BOUNDED_LIMIT) then return 0 end
  if s >= 0 then return 1 end
  return (-s <= int8emit.FOLD_RIGHT_LIMIT and m >= 1 << 30) and 3 or 2
end

local function expected(x, m, s, z, low)
  local left = (s > 0) and math.min(INT32_MAX, math.max(INT32_MIN, x * (1 << s))) or x
  local v = reference_int8.multiply_by_quantized_multiplier(x, m, s) + z
  return string.format("%d %d %d", reference_int8.saturating_rounding_doubling_high_mul(x, m), left,
    math.min(127, math.max(low, v)))
end

-- bounded_mode: the largest accumulator of a channel is |bias| + 255 * 127 here (input zero point -128,
-- one weight 127; a zero point 0 leaves |x - 0| <= 128), times 2^left
local function layer_entry(bias, zero_point, shift, multiplier)
  return { bias = { 0, bias }, weight = { 1, 0, 127, 0 }, input = { zero_point = zero_point }, shift = { -1, shift },
           multiplier = { 1 << 30, multiplier or (1 << 30) } }
end
local LIMIT = int8emit.BOUNDED_LIMIT
local mode = int8emit.bounded_mode
t.check_eq(mode(layer_entry(LIMIT - 1 - 255 * 127, -128, 0)), 1, "bounded_mode: the largest accumulator 2^29 - 1")
t.check_eq(mode(layer_entry(LIMIT - 255 * 127, -128, 0)), 0, "bounded_mode: not at 2^29")
t.check_eq(mode(layer_entry(-(LIMIT - 255 * 127), -128, -5)), 0, "bounded_mode: a negative bias counts")
t.check_eq(mode(layer_entry(LIMIT - 1 - 128 * 127, 0, -1)), 3, "bounded_mode: zero point 0, |x| <= 128; right shifts only")
t.check_eq(mode(layer_entry(LIMIT - 128 * 127, 0, -1)), 0, "bounded_mode: zero point 0, at 2^29")
t.check_eq(mode(layer_entry(LIMIT // 2 - 255 * 127, -128, 1)), 0, "bounded_mode: the left shift counts")
t.check_eq(mode(layer_entry(LIMIT // 2 - 1 - 255 * 127, -128, 1)), 1, "bounded_mode: left shift 1 below it")
t.check_eq(mode(layer_entry(0, 0, -32)), 0, "bounded_mode: no right shift past 31")
t.check_eq(mode(layer_entry(0, 0, -31)), 2, "bounded_mode: right shift 31")
t.check_eq(mode(layer_entry(0, 0, -22)), 3, "bounded_mode: right shifts of 22 bits at most fold the zero point")
t.check_eq(mode(layer_entry(0, 0, -23)), 2, "bounded_mode: a right shift of 23 bits does not")
t.check_eq(mode(layer_entry(0, 0, -1, (1 << 30) - 1)), 2, "bounded_mode: nor a multiplier below 2^30 (no SMMLAR)")

os.execute("mkdir -p " .. BUILD)
local input_lines = {}
local bounded_count = 0
for i, c in ipairs(cases) do
  local bounded = bounded_mode(c[1], c[2], c[3])
  bounded_count = bounded_count + ((bounded > 0) and 1 or 0)
  input_lines[i] = string.format("%d %d %d %d %d %d", c[1], c[2], c[3], zero_point(i), low_of(i), bounded)
end
shellutil.write_file(BUILD .. "/cases.txt", table.concat(input_lines, "\n") .. "\n")
shellutil.write_file(BUILD .. "/driver.c", DRIVER:format(helpers or ""))

local DSP = "-include " .. root .. "/tests/int8/acle_emul.h"
for _, variant in ipairs({ { "32-bit (LG_INT8_MUL32)", "-DLG_INT8_MUL32", "32" }, { "64-bit", "", "64" },
                           { "LG_DSP (lg_scale_bounded on " .. bounded_count .. " cases)", DSP, "dsp" } }) do
  local name, define = variant[1], variant[2]
  local exe = BUILD .. "/driver" .. variant[3]
  local out, code = shellutil.capture(string.format("%s %s -O2 -fsanitize=undefined -fno-sanitize-recover=all "
    .. "-Wno-unused-function %s %s/driver.c -o %s 2>&1", CC, cflags.warn, define, BUILD, exe))
  if t.check(code == 0, name .. ": driver compiles warning-free", out) then
    out, code = shellutil.capture(string.format("%s < %s/cases.txt 2>&1", exe, BUILD))
    local got = {}
    for line in out:gmatch("[^\n]+") do got[#got + 1] = line end
    if variant[3] == "dsp" then
      t.check_eq(got[1], "lg_scale_bounded", name .. ": the driver compiled lg_requantize's bounded path")
      table.remove(got, 1)
    end
    t.check_eq(code, 0, name .. ": driver exit status (UBSan quiet)")
    t.check_eq(#got, #cases, name .. ": one result per case")
    local bad
    for i, c in ipairs(cases) do
      local want = expected(c[1], c[2], c[3], zero_point(i), low_of(i))
      if got[i] ~= want then
        bad = string.format("x %d multiplier %d shift %d zero point %d low %d: got %s, reference %s", c[1], c[2],
          c[3], zero_point(i), low_of(i), tostring(got[i]), want)
        break
      end
    end
    t.check(bad == nil, string.format("%s: %d cases equal to the reference (high word, left shift, code)", name,
      #cases), bad)
  end
end
-- lg_average (templates/int8_average.c; LG_DSP: a shift for a power-of-two count) against sum / count
-- rounded half away from zero, for every sum a window of 1 to 16 int8 codes can give
local AVERAGE_DRIVER = [[
#include <stdint.h>
#include <stdio.h>
%s
%s
int main(void)
{
    for (int32_t count = 1; count <= 16; ++count) {
        for (int32_t sum = -128 * count; sum <= 127 * count; ++sum) {
            printf("%%d\n", (int)lg_average(sum, count));
        }
    }
    return 0;
}
]]
local average_expected = {}
for count = 1, 16 do
  for sum = -128 * count, 127 * count do
    local n = (sum > 0) and (sum + count // 2) or (sum - count // 2)
    average_expected[#average_expected + 1] = tostring((n >= 0) and n // count or -((-n) // count))
  end
end
local average = assert(shellutil.read_file(root .. "/templates/int8_average.c"))
shellutil.write_file(BUILD .. "/average.c", AVERAGE_DRIVER:format(helpers or "", average))
for _, variant in ipairs({ { "portable", "", "" }, { "LG_DSP", DSP, "-dsp" } }) do
  local exe = BUILD .. "/average" .. variant[3]
  local out, code = shellutil.capture(string.format("%s %s -O2 -fsanitize=undefined -fno-sanitize-recover=all "
    .. "-Wno-unused-function %s %s/average.c -o %s 2>&1", CC, cflags.warn, variant[2], BUILD, exe))
  if t.check(code == 0, "lg_average " .. variant[1] .. ": driver compiles warning-free", out) then
    out, code = shellutil.capture(exe)
    t.check_eq(code, 0, "lg_average " .. variant[1] .. ": driver exit status (UBSan quiet)")
    local got, bad = {}, nil
    for line in out:gmatch("[^\n]+") do got[#got + 1] = line end
    for i = 1, #average_expected do
      if got[i] ~= average_expected[i] then
        bad = string.format("case %d: got %s, expected %s", i, tostring(got[i]), average_expected[i])
        break
      end
    end
    t.check(bad == nil and #got == #average_expected, string.format("lg_average %s: %d sums equal to the rounded "
      .. "division", variant[1], #average_expected), bad)
  end
end
t.finish()
