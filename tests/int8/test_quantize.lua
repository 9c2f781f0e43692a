--- The int8 arithmetic against hand-computed values (TFLite's
-- QuantizeMultiplier, ChooseQuantizationParams, gemmlowp's
-- SaturatingRoundingDoublingHighMul and RoundingDivideByPOT), the activation
-- tables, and every calibration and option mistake of --quantize=int8 with
-- its exact message, exit status and nothing written.
--   lua5.4 tests/int8/test_quantize.lua [-v]
local root = arg[0]:match("^(.*)/tests/int8/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. root .. "/tests/harness/?.lua;" .. root .. "/tests/int8/?.lua;"
  .. root .. "/tools/?.lua;" .. package.path

local quantize = require("lg.quantize")
local r8 = require("lg.reference_int8")
local shellutil = require("shellutil")
local t = require("testlib")
t.parse_args("tests/int8/test_quantize.lua", "int8 arithmetic and calibration errors.")

-- QuantizeMultiplier: real = q * 2^(shift - 31), q in [2^30, 2^31)
for _, c in ipairs({
  { 0.5, 1 << 30, 0 }, { 1.0, 1 << 30, 1 }, { 0.25, 1 << 30, -1 }, { 0.75, 1610612736, 0 },
  { 1 - 2^-40, 1 << 30, 1 },               -- rounds up to 2^31: halved, shift + 1
  { 0.0, 0, 0 }, { 2^-40, 0, 0 },           -- below 2^-32: zero (TFLite)
  { 0.0009765625 * 1.5, 1610612736, -9 },   -- 1.5 * 2^-10
}) do
  local q, shift = quantize.quantize_multiplier(c[1])
  t.check(q == c[2] and shift == c[3], string.format("quantize_multiplier(%.17g)", c[1]),
    string.format("got %d, %d; want %d, %d", q, shift, c[2], c[3]))
end

-- SaturatingRoundingDoublingHighMul: round(2ab / 2^32), the nudge of gemmlowp
local srdhm = r8.saturating_rounding_doubling_high_mul
for _, c in ipairs({
  { 1 << 30, 1 << 30, 1 << 29 }, { 1, 1 << 30, 1 }, { -1, 1 << 30, 0 }, { -3, 1 << 30, -1 },
  { 3, 1 << 30, 2 }, { -2147483648, -2147483648, 2147483647 }, { -2147483648, 2147483647, -2147483647 },
  { 2147483647, 2147483647, 2147483646 },
}) do
  t.check_eq(srdhm(c[1], c[2]), c[3], string.format("saturating_rounding_doubling_high_mul(%d, %d)", c[1], c[2]))
end

-- RoundingDivideByPOT: ties away from zero
for _, c in ipairs({ { 5, 1, 3 }, { -5, 1, -3 }, { 4, 1, 2 }, { -4, 2, -1 }, { 7, 2, 2 }, { -6, 2, -2 },
                     { -5, 2, -1 }, { 6, 2, 2 }, { 0, 31, 0 }, { -2147483648, 31, -1 } }) do
  t.check_eq(r8.rounding_divide_by_pot(c[1], c[2]), c[3], string.format("rounding_divide_by_pot(%d, %d)", c[1], c[2]))
end

-- MultiplyByQuantizedMultiplier: 100 * 0.5, 3 * 0.5 (1.5 rounds to 2), 1000 * 0.75 * 2^-9, a saturating left shift
t.check_eq(r8.multiply_by_quantized_multiplier(100, 1 << 30, 0), 50, "multiply_by_quantized_multiplier(100, 0.5)")
t.check_eq(r8.multiply_by_quantized_multiplier(3, 1 << 30, 0), 2, "multiply_by_quantized_multiplier(3, 0.5)")
t.check_eq(r8.multiply_by_quantized_multiplier(-3, 1 << 30, 0), -1, "multiply_by_quantized_multiplier(-3, 0.5)")
t.check_eq(r8.multiply_by_quantized_multiplier(1000, 1610612736, -9), 1, "1000 * 0.75 * 2^-9 = 1.46 -> 1")
t.check_eq(r8.multiply_by_quantized_multiplier(1 << 30, 1 << 30, 4), 2147483647 // 2 + 1,
  "a left shift saturates to int32 before the multiply")

-- ChooseQuantizationParams
local function params(min, max) return quantize.choose_params(min, max) end
local p = params(0.0, 1.0)
t.check(p.scale == 1 / 255 and p.zero_point == -128 and not p.degenerate, "params [0, 1]: 1/255, -128")
p = params(-1.0, 1.0)
t.check(p.scale == 2 / 255 and p.zero_point == -1, "params [-1, 1]: 2/255, zero point round(-0.5) = -1",
  p.scale .. " " .. p.zero_point)
p = params(0.5, 2.0)
t.check(p.scale == 2 / 255 and p.zero_point == -128, "params [0.5, 2] widened to [0, 2]")
p = params(-3.0, -1.0)
t.check(p.scale == 3 / 255 and p.zero_point == 127, "params [-3, -1] widened to [-3, 0]: zero point 127")
p = params(0.0, 0.0)
t.check(p.degenerate and p.scale == 1.0 and p.zero_point == 0, "params [0, 0]: degenerate, scale 1, no division by 0")
p = params(2.0, 2.0)
t.check(p.degenerate and p.scale == 2 / 255, "params [2, 2]: degenerate (reported), range [0, 2]")

-- round half away from zero, input codes
t.check(quantize.round(2.5) == 3 and quantize.round(-2.5) == -3 and quantize.round(-0.4) == 0, "round half away")
local codes = r8.quantize_input({ input = { scale = 0.5, zero_point = -10 } }, { 0.0, 0.25, -0.25, 100.0, -100.0 })
t.check_eq(table.concat(codes, " "), "-10 -9 -11 127 -128", "quantize_input rounds and clamps")

-- activation tables (fixed output quantization)
do
  local function quantized(kind)
    local model = { layers = { { index = 0, type = kind } } }
    local saved = quantize.ranges
    quantize.ranges = function() return { [0] = -8.0, -1 }, { [0] = 7.9375, 1 } end
    local q = quantize.build(model, { path = "x", count = 1, inputs = {} })
    quantize.ranges = saved
    return q
  end
  local q, qt = quantized("sigmoid"), quantized("tanh")
  local s, th = q.layers[1].table, qt.layers[1].table
  -- input [-8, 7.9375] -> scale 15.9375/255 = 1/16, zero point 0
  t.check(q.input.scale == 1 / 16 and q.input.zero_point == 0, "input [-8, 7.9375]: scale 1/16, zero point 0")
  t.check(s[129] == 0 and s[1] == -128 and s[256] == 127 and s[129 + 16] == 59,
    "sigmoid table: code 0 -> 0 (0.5), -128 -> -128, 127 -> 127 (clamped 128), 16 -> round(256 * 0.731) - 128 = 59",
    string.format("%d %d %d %d", s[129], s[1], s[256], s[129 + 16]))
  t.check(th[129] == 0 and th[1] == -128 and th[256] == 127 and th[129 + 8] == 59,
    "tanh table: code 0 -> 0, -128 -> round(128 * tanh(-8)) = -128, 127 -> 127, 8 -> round(128 * tanh(0.5)) = 59",
    string.format("%d %d %d %d", th[129], th[1], th[256], th[129 + 8]))
  t.check(q.layers[1].out.scale == 1 / 256 and q.layers[1].out.zero_point == -128
    and qt.layers[1].out.scale == 1 / 128 and qt.layers[1].out.zero_point == 0, "fixed sigmoid and tanh output params")
end

-- the calibration's float forward (quantize.float_trace) equals lg.reference.run value for value
do
  local lgcheck = require("lgcheck")
  local reference = require("lg.reference")
  local random_arch = require("random_arch")
  os.execute("mkdir -p build/int8/arch")
  local specs = { { "models/lenet5.lua" }, { "tests/tiny/tiny_conv_bigpad.lua" }, { "tests/tiny/tiny_overlap.lua" },
                  { "tests/tiny/tiny_maxpool.lua" }, { "tests/tiny/tiny_conv_rect.lua" },
                  -- issue 14's window fields: lg.reference's own layer functions
                  { "tests/tiny/tiny_depthwise.lua" }, { "tests/tiny/tiny_same.lua" }, { "tests/tiny/tiny_ceil.lua" },
                  { "tests/tiny/tiny_avg_nopad.lua" }, { "tests/tiny/tiny_bn_fold.lua" },
                  { "tests/tiny/tiny_bn_unfolded.lua" }, { "tests/tiny/tiny_gap_softmax.lua" } }
  for seed = 1, 10 do
    local path = string.format("build/int8/arch/unit_%d.lua", seed)
    shellutil.write_file(path, random_arch.description(seed, { max_macs = 2000, int8 = true }))
    specs[#specs + 1] = { path, seed }
  end
  for _, spec in ipairs(specs) do
    local m = require("lg.model").load(spec[1], { random_seed = spec[2] })
    local x = lgcheck.INPUT_KINDS.random(m.input.channels * m.input.height * m.input.width, 3)
    local _, want = reference.run(m, x)
    local got = quantize.float_trace(m, x)
    local same = #got == #want
    for k = 1, #want do
      same = same and #got[k] == #want[k]
      for i = 1, #want[k] do same = same and got[k][i] == want[k][i] end
    end
    t.check(same, spec[1] .. ": the calibration forward equals the float reference exactly")
  end
end

-- The integer reference on issue 14's window fields, by hand
do
  -- one row of 4 codes, kernel 1x3, stride 2, padding 1 left and right, ceil_mode: 3 outputs, the
  -- last window [3, 5] reaches past the padding (column 5), so counting the padding divides it by 2
  local function avg(codes, zx, include_pad)
    local layer = { index = 0, type = "avgpool2d", kernel = { h = 1, w = 3 }, stride = { h = 1, w = 2 },
      padding = { top = 0, bottom = 0, left = 1, right = 1 }, ceil_mode = true, count_include_pad = include_pad }
    local model = { input = { channels = 1, height = 1, width = 4 }, layers = { layer } }
    local p = { scale = 1.0, zero_point = zx }
    return table.concat(r8.run(model, { layers = { { input = p, out = p } } }, codes), " ")
  end
  -- include: (10 + 20 + 5) / 3 = 11.67 -> 12; 90 / 3; (40 + 5) / 2 = 22.5 -> 23 (half away from zero)
  t.check_eq(avg({ 10, 20, 30, 40 }, 5, true), "12 30 23", "avgpool ceil_mode, padding counted as zero point 5")
  -- exclude: 30 / 2, 90 / 3, 40 / 1
  t.check_eq(avg({ 10, 20, 30, 40 }, 5, false), "15 30 40", "avgpool count_include_pad = false: real taps only")
  -- (-30 + 5) / 3 = -8.33 -> -8; -90 / 3; (-40 + 5) / 2 = -17.5 -> -18
  t.check_eq(avg({ -10, -20, -30, -40 }, 5, true), "-8 -30 -18", "avgpool negative sums round half away from zero")
  t.check_eq(avg({ -10, -20, -30, -40 }, 5, false), "-15 -30 -40", "avgpool count_include_pad = false, negative")

  -- groups 2, 1x1 kernel: output channel k reads input channel k only; multiplier 2^30, shift 1 is 1.0
  local conv = { index = 0, type = "conv2d", out_channels = 2, groups = 2, kernel = { h = 1, w = 1 },
    stride = { h = 1, w = 1 }, padding = { top = 0, bottom = 0, left = 0, right = 0 } }
  local model = { input = { channels = 2, height = 1, width = 1 }, layers = { conv } }
  local entry = { input = { zero_point = 1 }, out = { zero_point = 0 }, weight = { 2, 3 }, bias = { 0, 100 },
    multiplier = { 1 << 30, 1 << 30 }, shift = { 1, 1 }, low = -128, high = 127 }
  -- 2 * (11 - 1) = 20; 100 + 3 * (-9 - 1) = 70
  t.check_eq(table.concat(r8.run(model, { layers = { entry } }, { 11, -9 }), " "), "20 70",
    "grouped conv: each output channel reads its own group, input zero point 1 subtracted")
end

-- issue 14's layers: parameters and integer reference, by hand. Input and output ranges
-- [-8, 7.9375]: scale 1/16, zero point 0 on both sides, so the identity multiplier is 1.0
-- (2^30, shift 1) and a slope or scale a gives the multiplier a / 127 = (64/127) * 2^-7 for a = 0.5:
-- round(2^31 * 64 / 127) = 1082196484.
do
  local function quantized(layer, shape)
    local model = { input = shape, layers = { layer } }
    local saved = quantize.ranges
    quantize.ranges = function() return { [0] = -8.0, -8.0 }, { [0] = 7.9375, 7.9375 } end
    local q = quantize.build(model, { path = "x", count = 1, inputs = {} })
    quantize.ranges = saved
    return q, model
  end
  local function run(q, model, codes) return table.concat(r8.run(model, q, codes), " ") end
  local q, m = quantized({ index = 0, type = "relu6" }, { channels = 1, height = 1, width = 3 })
  t.check(q.layers[1].low == 0 and q.layers[1].high == 96, "relu6 on codes: [code(0), code(6)] = [0, 96]")
  t.check_eq(run(q, m, { -5, 50, 120 }), "0 50 96", "relu6 clamps the codes")
  q = quantized({ index = 0, type = "clip", min = -0.5, max = 0.25 })
  t.check(q.layers[1].low == -8 and q.layers[1].high == 4, "clip [-0.5, 0.25]: codes [-8, 4]")
  local e
  q, m = quantized({ index = 0, type = "leaky_relu", negative_slope = 0.25 }, { channels = 1, height = 1, width = 2 })
  e = q.layers[1]
  t.check(e.identity_multiplier == 1 << 30 and e.identity_shift == 1 and e.slope[1] == 127
    and e.slope_multiplier[1] == 1082196484 and e.slope_shift[1] == -8, "leaky_relu 0.25: identity 2^30 << 1, "
    .. "slope code 127, multiplier 0.25 / 127 = 1082196484 >> 8")
  -- -16 (-1.0): -16 * 127 * 0.25 / 127 = -4 (-0.25); 16 passes
  t.check_eq(run(q, m, { -16, 16 }), "-4 16", "leaky_relu codes")
  q, m = quantized({ index = 0, type = "prelu", tensors = { weight = { data = { 0.5, -1.0 } } } },
    { channels = 2, height = 1, width = 2 })
  e = q.layers[1]
  t.check_eq(table.concat(e.slope, " ") .. "; " .. table.concat(e.slope_multiplier, " ") .. "; "
    .. table.concat(e.slope_shift, " "), "127 -127; 1082196484 1082196484; -7 -6",
    "prelu slopes 0.5, -1: codes +-127, multipliers 0.5/127 and 1/127")
  t.check_eq(run(q, m, { -16, 16, -16, 16 }), "-8 16 16 16", "prelu per channel: -1.0 * 0.5, -1.0 * -1")
  local function t1(v) return { shape = { 1 }, data = { v } } end
  -- scale 1 / sqrt(3 + 1) = 0.5, shift 0.25: weight code 127 (scale 0.5/127), bias 0.25 / (1/16 * 0.5/127) = 1016
  q, m = quantized({ index = 0, type = "batchnorm2d", channels = 1, eps = 1.0, affine = true,
    tensors = { weight = t1(1.0), bias = t1(0.25), running_mean = t1(0.0), running_var = t1(3.0) } },
    { channels = 1, height = 1, width = 2 })
  e = q.layers[1]
  t.check(e.weight[1] == 127 and e.bias[1] == 1016 and e.multiplier[1] == 1082196484 and e.shift[1] == -7,
    "unfolded batchnorm2d: weight 127, bias 1016, multiplier 1082196484 >> 7",
    string.format("%d %d %d %d", e.weight[1], e.bias[1], e.multiplier[1], e.shift[1]))
  -- 1.0 * 0.5 + 0.25 = 0.75 (code 12); -1.0 * 0.5 + 0.25 = -0.25 (code -4)
  t.check_eq(run(q, m, { 16, -16 }), "12 -4", "unfolded batchnorm2d codes")
  q, m = quantized({ index = 0, type = "global_avgpool" }, { channels = 2, height = 2, width = 2 })
  t.check_eq(run(q, m, { 1, 2, 3, 4, -1, -2, -3, -4 }), "3 -3", "global_avgpool: 10 / 4 = 2.5 -> 3, -2.5 -> -3")
  q, m = quantized({ index = 0, type = "softmax" }, { channels = 2, height = 1, width = 1 })
  e = q.layers[1]
  t.check(e.exp_table[1] == 65536 and e.exp_table[17] == 24109 and e.exp_table[256] == 0,
    "softmax table: 2^16, round(2^16 / e) = 24109, round(2^16 e^(-255/16)) = 0")
  -- S = 89645: (256 * 65536 + 44822) / S = 187 -> 59, (256 * 24109 + 44822) / S = 69 -> -59
  t.check_eq(run(q, m, { 0, -16 }), "59 -59", "softmax codes (scale 1/256, zero point -128)")
  t.check(e.out.scale == 1 / 256 and e.out.zero_point == -128, "softmax output quantization 1/256, -128")
end

--------------------------------------------------------------------------------
-- The command line: every mistake one line, exit 1 (2 for usage), nothing written
--------------------------------------------------------------------------------
local dir = "build/int8/errors"
os.execute("rm -rf " .. dir .. " && mkdir -p " .. dir .. "/out")
local write = require("lg.safetensors_write").write
local function calib_file(name, tensors)
  local path = dir .. "/" .. name
  assert(write(path, tensors))
  return path
end
local function zeros(n) local z = {} for i = 1, n do z[i] = 0.0 end return z end
local good = calib_file("good.safetensors", { input = { shape = { 2, 1, 28, 28 }, data = zeros(2 * 784) } })
local nan = zeros(2 * 784)
nan[790] = 0 / 0
local model = "models/lenet5.lua"
local body = 'a safetensors file with one F32 tensor "input" of shape [N, 1, 28, 28] (N calibration '
  .. "inputs of model lenet5)"
local expect = "expected " .. body
local cases = {
  { "--quantize without --calibration", "--quantize=int8", 2,
    "lenetgen: error: --quantize=int8 needs --calibration CALIB (a safetensors file of representative inputs; "
      .. "tools/make-calibration writes one)" },
  { "--calibration without --quantize", "--calibration " .. good, 2,
    "lenetgen: error: --calibration only applies with --quantize=int8; add --quantize=int8 or remove --calibration" },
  { "missing file", "--quantize=int8 --calibration " .. dir .. "/none.safetensors", 1,
    dir .. "/none.safetensors: error: calibration: cannot open: no such file or directory; " .. expect },
  { "a directory", "--quantize=int8 --calibration " .. dir, 1,
    dir .. ": error: calibration: cannot read it (a directory?); " .. expect },
  { "wrong tensor name", "--quantize=int8 --calibration " .. calib_file("name.safetensors",
      { images = { shape = { 1, 1, 28, 28 }, data = zeros(784) } }), 1,
    dir .. '/name.safetensors: error: calibration: no tensor "input" (it holds images); ' .. expect },
  { "wrong rank", "--quantize=int8 --calibration " .. calib_file("rank.safetensors",
      { input = { shape = { 1, 28, 28 }, data = zeros(784) } }), 1,
    dir .. '/rank.safetensors: error: calibration: tensor "input" has shape [1, 28, 28] (rank 3); expected rank 4: '
      .. body },
  { "wrong shape", "--quantize=int8 --calibration " .. calib_file("shape.safetensors",
      { input = { shape = { 1, 3, 28, 28 }, data = zeros(3 * 784) } }), 1,
    dir .. '/shape.safetensors: error: calibration: tensor "input" has shape [1, 3, 28, 28], but model lenet5 '
      .. "takes 1x28x28 inputs; " .. expect },
  { "zero samples", "--quantize=int8 --calibration " .. calib_file("empty.safetensors",
      { input = { shape = { 0, 1, 28, 28 }, data = {} } }), 1,
    dir .. '/empty.safetensors: error: calibration: tensor "input" holds no inputs (N = 0); ' .. expect },
  { "NaN", "--quantize=int8 --calibration " .. calib_file("nan.safetensors",
      { input = { shape = { 2, 1, 28, 28 }, data = nan } }), 1,
    dir .. "/nan.safetensors: error: calibration: input 1 element 5 is NaN; calibration inputs must be finite" },
  { "not safetensors", "--quantize=int8 --calibration " .. model, 1, nil },
}
for _, c in ipairs(cases) do
  local before = shellutil.capture("ls -la " .. dir .. "/out")
  local out, code = shellutil.capture(string.format("%s/gen/lenetgen %s %s -o %s/out 2>&1", root, model, c[2], dir))
  local lines = {}
  for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
  t.check_eq(code, c[3], c[1] .. ": exit status")
  if c[4] then
    t.check_eq(lines[1], c[4], c[1] .. ": message")
  else
    t.check(#lines == 1 and lines[1]:find(": error: calibration: ", 1, true) and not out:find("traceback"),
      c[1] .. ": one clean line", out)
  end
  t.check(c[3] == 2 or #lines == 1, c[1] .. ": one line", out)
  t.check_eq(shellutil.capture("ls -la " .. dir .. "/out"), before, c[1] .. ": nothing written")
end

-- --explain: ranges, scales, zero points, SQNR; a degenerate range is reported, not divided by
do
  local zero = calib_file("zero.safetensors", { input = { shape = { 2, 2, 6, 5 }, data = zeros(120) } })
  local out, code = shellutil.capture(string.format("%s/gen/lenetgen --explain tests/tiny/tiny_conv_nobias.lua "
    .. "--quantize=int8 --calibration %s 2>&1", root, zero))
  t.check_eq(code, 0, "explain, all-zero calibration: exit 0")
  t.check(out:find("0      conv2d   0 .. 0       1          0           exact    degenerate range: every "
    .. "calibration output is 0 (scale 1 stands in)", 1, true) and out:find("note: 2 layer(s) with a degenerate "
    .. "range", 1, true), "explain reports the degenerate ranges", out)
  local _, gen_code = shellutil.capture(string.format("%s/gen/lenetgen tests/tiny/tiny_conv_nobias.lua "
    .. "--quantize=int8 --calibration %s -o %s/out 2>&1", root, zero, dir))
  t.check_eq(gen_code, 0, "a degenerate range generates code")
  os.execute("rm -f " .. dir .. "/out/*")
  out = shellutil.capture(string.format("%s/gen/lenetgen --explain models/lenet5.lua --quantize=int8 "
    .. "--calibration %s", root, good))
  t.check(out:match("\n11 +linear +[-%d.e]+ %.%. [-%d.e]+ +[%d.e-]+ +%-?%d+ +[%d.]+ *\n"),
    "explain: the last layer's range, scale, zero point and SQNR", out)
  t.check(out:find("int8 total: 61470 bytes of int8 weights, 944 bytes of int32 biases", 1, true),
    "explain: int8 totals", out)
end

-- issue 14's window fields and layers are no longer refused: groups, dilation, asymmetric padding,
-- ceil_mode, count_include_pad = false, batchnorm2d (folded and not), relu6, clip, leaky_relu, prelu,
-- global_avgpool and softmax generate int8 code (exit 0, nothing on stderr)
for _, path in ipairs({ "tests/tiny/tiny_depthwise.lua", "tests/tiny/tiny_dilation.lua", "tests/tiny/tiny_same.lua",
                        "tests/tiny/tiny_ceil.lua", "tests/tiny/tiny_avg_nopad.lua", "tests/tiny/tiny_maxdil.lua",
                        "tests/tiny/tiny_bn_fold.lua", "tests/tiny/tiny_bn_unfolded.lua",
                        "tests/tiny/tiny_gap_softmax.lua" }) do
  local m = require("lg.model").load(path)
  local calib = dir .. "/window_calib.safetensors"
  require("int8lib").write_calibration(m, calib, 2, 1)
  os.execute("rm -rf " .. dir .. "/window && mkdir -p " .. dir .. "/window")
  local out, code = shellutil.capture(string.format("%s/gen/lenetgen %s --quantize=int8 --calibration %s -o %s/window "
    .. "2>&1", root, path, calib, dir))
  t.check(code == 0 and out == "", path .. ": int8 code generated", out)
end

-- a softmax over more values than its int32 sum of 2^16-scaled exponentials holds: refused, exit 1,
-- nothing written
do
  local big = dir .. "/bigsoft.lua"
  shellutil.write_file(big, 'return { name = "bigsoft", input = { channels = 1, height = 200, width = 200 },\n'
    .. '  layers = {\n    { type = "flatten" },\n    { type = "softmax" },\n  },\n}\n')
  local before = shellutil.capture("ls -la " .. dir .. "/out")
  local out, code = shellutil.capture(string.format("%s/gen/lenetgen %s --random-weights 1 --quantize=int8 "
    .. "--calibration %s -o %s/out 2>&1", root, big, good, dir))
  t.check_eq(code, 1, "softmax over 40000 values: exit status")
  t.check_eq(out, big .. ":4: error: layer 1 (softmax): --quantize=int8 takes a softmax over at most 32767 values "
    .. "(its int32 sum of exponentials), this one has 40000; remove --quantize or end the network on fewer values\n",
    "softmax over 40000 values: message")
  t.check_eq(shellutil.capture("ls -la " .. dir .. "/out"), before, "softmax over 40000 values: nothing written")
end

-- an op module without the int8 capability is refused by name
do
  local ops = require("lg.ops")
  local pool = ops.of("maxpool2d")
  pool.int8 = nil
  local loaded = require("lg.model").load("tests/tiny/tiny_maxpool.lua")
  local ok, err = pcall(quantize.check_support, loaded)
  pool.int8 = true
  local errors = require("lg.errors")
  t.check(not ok and errors.is(err) and errors.format(err):match("^tests/tiny/tiny_maxpool.lua:%d+: error: layer %d "
    .. "%(maxpool2d%): %-%-quantize=int8 does not support maxpool2d"), "an op without int8 support: clean error",
    errors.is(err) and errors.format(err) or tostring(err))
end

-- Storage (lg.int8emit.storage): the caller's buffers hold int8 codes, the
-- tensors between steps code + 128 as uint8 (LDRB has an immediate offset on
-- ARMv6-M); the values themselves are checked bit-exact by test-int8
do
  local out_dir = dir .. "/storage"
  os.execute("mkdir -p " .. out_dir)
  local _, code = shellutil.capture(string.format("%s/gen/lenetgen %s --quantize=int8 --calibration %s -o %s 2>&1",
    root, model, good, out_dir))
  t.check_eq(code, 0, "storage: LeNet-5 int8 generates")
  local f = io.open(out_dir .. "/lenet5.c")
  local c_text = f and f:read("a") or ""
  if f then f:close() end
  local function function_text(fname)
    return c_text:match("\nstatic void " .. fname .. "%(.-\n}\n") or ""
  end
  local function has(text, needle, what)
    t.check(text:find(needle, 1, true) ~= nil, "storage: " .. what, "no `" .. needle .. "`")
  end
  local conv1, conv2, fc3 = function_text("lenet5_layer0_conv2d"), function_text("lenet5_layer3_conv2d"),
    function_text("lenet5_layer11_linear")
  has(conv1, "const int8_t (*x)[28][28] = (const int8_t (*)[28][28])input;", "conv1 reads the caller's int8 input")
  has(conv1, "uint8_t (*y)[14][14] = (uint8_t (*)[14][14])output;", "conv1 writes uint8 to the arena")
  has(conv1, "y[oc][py][px] = (uint8_t)(lg_average(", "conv1 stores the pooled code + 128")
  has(conv2, "const uint8_t (*x)[14][14] = (const uint8_t (*)[14][14])input;", "conv2 reads uint8")
  has(conv2, "#elif defined(LG_ARMV6M)", "conv2 has the ARMv6-M passes")
  has(conv2, "lg_low_upair(xc + ", "conv2's DSP branch splits uint8 words")
  has(fc3, "const uint8_t *x = (const uint8_t *)input;", "fc3 reads uint8")
  has(fc3, "int8_t *y = output;", "fc3 writes the caller's int8 output")
  has(c_text, "lenet5_trace_int8(11, output, 10, 0);", "the last step's trace: offset 0")
  has(c_text, "lenet5_trace_int8(2, &scratch[0], 1176, 128);", "conv1's trace: offset 128")
  -- the bias of conv2 folds the stored zero point: zero point + 128, in [0, 255]
  local stored = tonumber(c_text:match("layer 3: int32 bias per output channel and window shape %(%d+%), stored input "
    .. "zero point (%-?%d+)") or "")
  t.check(stored and stored >= 0 and stored <= 255, "storage: conv2's bias folds the stored zero point (0..255)",
    tostring(stored))
end

t.finish()
