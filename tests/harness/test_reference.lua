--- Tests of the reference interpreter (gen/lg/reference.lua).
--
-- 1. Every tiny network in tests/tiny/ against PyTorch's outputs (computed by
--    tests/tiny/make_tiny.py and stored as data):
--    * every layer's output against PyTorch run in float64 on the same float32
--      weights and inputs, |ref - torch| <= 1e-12 + 1e-12 |torch|. Both sides
--      compute in double; they differ only by summation order and by the last
--      bit of exp, about n * 2^-53 * sum|terms|: the largest difference measured
--      over all cases is 4.3e-16 * (1 + |torch|). A real semantic slip (a tap too
--      many, a wrong divisor, padding counted in a max) moves a value by far more
--      than 1e-12, so this pins the reference to PyTorch's definitions.
--    * the final output against PyTorch in float32 with the project tolerance
--      1e-5 + 1e-5 |ref| (lgcheck), the bound the generated float32 C must meet:
--      it shows that the tolerance admits an honest float32 implementation.
-- 2. Hand-computed cases that anyone can check on paper.
-- 3. Shape checks that must refuse bad models.
-- Usage: lua5.4 tests/harness/test_reference.lua   (from the repository root)
local root = arg[0]:match("^(.*)/tests/harness/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. root .. "/tests/harness/?.lua;" .. root .. "/tools/?.lua;" .. package.path

local reference = require("lg.reference")
local lgcheck = require("lgcheck")
local errors = require("lg.errors")

local T = require("testlib")
local ok = T.check
require("testlib").parse_args("tests/harness/test_reference.lua",
  "The reference interpreter against PyTorch and by hand.")

--- Run fn; count a failure (with the error) instead of stopping the suite.
local function protected(name, fn)
  local good, err = pcall(fn)
  if not good then
    ok(false, name, errors.is(err) and errors.format(err) or tostring(err))
  end
end

------------------------------------------------------------------------------
-- 1. Tiny networks against PyTorch
------------------------------------------------------------------------------
local TORCH64_TOL = 1e-12

local function tiny_names()
  local names = {}
  local p = io.popen("ls " .. root .. "/tests/tiny/expected/")
  for file in p:lines() do
    local name = file:match("^(tiny_[%w_]+)%.lua$")
    if name then names[#names + 1] = name end
  end
  p:close()
  table.sort(names)
  return names
end

local tiny = tiny_names()
ok(#tiny >= 9, "tiny networks present", #tiny .. " found")
local layer_types_seen = {}
for _, name in ipairs(tiny) do
  protected(name, function()
    local model = lgcheck.load_model(root .. "/tests/tiny/" .. name .. ".lua")
    local expected = dofile(root .. "/tests/tiny/expected/" .. name .. ".lua")
    for _, layer in ipairs(model.layers) do layer_types_seen[layer.type] = true end
    for _, case in ipairs(expected.cases) do
      local output, trace = reference.run(model, case.input)
      local label = string.format("%s/%s", name, case.name)
      ok(#trace == #case.layers64, label .. " layer count")
      for k, want in ipairs(case.layers64) do
        local layer = model.layers[k]
        local diff = lgcheck.compare(trace[k], want, TORCH64_TOL, TORCH64_TOL)
        ok(diff == nil, string.format("%s layer %d (%s) vs torch float64", label, layer.index, layer.type), diff)
      end
      local diff = lgcheck.compare(output, case.output32)
      ok(diff == nil, label .. " output vs torch float32", diff)
    end
  end)
end
for _, t in ipairs({ "conv2d", "linear", "avgpool2d", "maxpool2d", "sigmoid", "relu", "tanh", "flatten",
  "batchnorm2d", "relu6", "clip", "leaky_relu", "prelu", "global_avgpool", "softmax" }) do
  ok(layer_types_seen[t], "tiny networks cover " .. t)
end

------------------------------------------------------------------------------
-- 2. Hand-computed cases
------------------------------------------------------------------------------
local function pair(h, w) return { h = h, w = w } end
--- Symmetric padding {top, left, bottom, right} of h rows and w columns.
local function sides(h, w) return { top = h, left = w, bottom = h, right = w } end

--- A model table as the loader would give it, built by hand.
local function model_of(input, layers)
  for k, layer in ipairs(layers) do layer.index = k - 1 end
  return { name = "hand", input = input, layers = layers }
end

local function expect_values(name, got, want)
  local diff = lgcheck.compare(got, want, 1e-12, 1e-12)
  ok(diff == nil, name, diff)
end

-- 1 2 3
-- 4 5 6     a 1x3x3 image used by several cases
-- 7 8 9
local image = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }
local image_shape = { channels = 1, height = 3, width = 3 }
local negated = {}
for i, v in ipairs(image) do negated[i] = -v end

protected("hand conv2d padding 1 stride 2", function()
  -- 2x2 kernel of ones, bias 0.5, padding 1, stride 2: output 2x2,
  -- each output = 0.5 + sum of the window's pixels inside the image.
  local m = model_of(image_shape, { {
    type = "conv2d", out_channels = 1, kernel = pair(2, 2), stride = pair(2, 2), padding = sides(1, 1),
    bias = true, weight = { shape = { 1, 1, 2, 2 }, data = { 1, 1, 1, 1 } },
    bias_values = { shape = { 1 }, data = { 0.5 } } } })
  expect_values("hand conv2d padding 1 stride 2", reference.run(m, image),
    { 0.5 + 1, 0.5 + 2 + 3, 0.5 + 4 + 7, 0.5 + 5 + 6 + 8 + 9 })
end)

protected("hand conv2d rectangular two channels", function()
  -- input 2x2x3: channel 0 rows {1,2,3},{4,5,6}; channel 1 rows {1,1,1},{0,1,0}
  -- kernel 1x3, no bias: weights channel 0 {1,0,-1}, channel 1 {2,2,2}
  local m = model_of({ channels = 2, height = 2, width = 3 }, { {
    type = "conv2d", out_channels = 1, kernel = pair(1, 3), stride = pair(1, 1), padding = sides(0, 0),
    bias = false, weight = { shape = { 1, 2, 1, 3 }, data = { 1, 0, -1, 2, 2, 2 } } } })
  expect_values("hand conv2d rectangular two channels", reference.run(m, { 1, 2, 3, 4, 5, 6, 1, 1, 1, 0, 1, 0 }),
    { (1 - 3) + 2 * 3, (4 - 6) + 2 * 1 })
end)

protected("hand conv2d padding beyond kernel", function()
  -- 1x1 kernel (weight 2, bias -1) with padding 1 on a 1x1 image of 5: a 3x3
  -- output whose border taps are all padding, so the border is the bias alone.
  local m = model_of({ channels = 1, height = 1, width = 1 }, { {
    type = "conv2d", out_channels = 1, kernel = pair(1, 1), stride = pair(1, 1), padding = sides(1, 1),
    bias = true, weight = { shape = { 1, 1, 1, 1 }, data = { 2 } }, bias_values = { shape = { 1 }, data = { -1 } } } })
  expect_values("hand conv2d padding beyond kernel", reference.run(m, { 5 }),
    { -1, -1, -1, -1, 9, -1, -1, -1, -1 })
end)

protected("hand avgpool2d counts padding", function()
  -- 2x2 windows, stride 2, padding 1: every sum is divided by 4
  local m = model_of(image_shape, { { type = "avgpool2d", kernel = pair(2, 2), stride = pair(2, 2), padding = sides(1, 1) } })
  expect_values("hand avgpool2d counts padding", reference.run(m, image),
    { 1 / 4, (2 + 3) / 4, (4 + 7) / 4, (5 + 6 + 8 + 9) / 4 })
end)

protected("hand maxpool2d ignores padding", function()
  -- on negative values a padded zero would win; it must not
  local m = model_of(image_shape, { { type = "maxpool2d", kernel = pair(2, 2), stride = pair(2, 2), padding = sides(1, 1) } })
  expect_values("hand maxpool2d ignores padding", reference.run(m, negated), { -1, -2, -4, -5 })
end)

protected("hand maxpool2d overlapping windows", function()
  local m = model_of(image_shape, { { type = "maxpool2d", kernel = pair(2, 2), stride = pair(1, 1), padding = sides(0, 0) } })
  expect_values("hand maxpool2d overlapping windows", reference.run(m, image), { 5, 6, 8, 9 })
end)

protected("hand avgpool2d rectangular stride", function()
  -- 3x1 windows (whole columns), stride 1 across: column means
  local m = model_of(image_shape, { { type = "avgpool2d", kernel = pair(3, 1), stride = pair(1, 1), padding = sides(0, 0) } })
  expect_values("hand avgpool2d rectangular stride", reference.run(m, image), { 4, 5, 6 })
end)

protected("hand flatten and linear", function()
  -- flatten a 2x1x1 map {1, -2}, then W = {{1,2},{3,4},{-1,0}}, b = {0.5,-1,0}
  local function linear(bias)
    return model_of({ channels = 2, height = 1, width = 1 }, {
      { type = "flatten" },
      { type = "linear", out_features = 3, bias = bias,
        weight = { shape = { 3, 2 }, data = { 1, 2, 3, 4, -1, 0 } },
        bias_values = bias and { shape = { 3 }, data = { 0.5, -1, 0 } } or nil } })
  end
  expect_values("hand linear with bias", reference.run(linear(true), { 1, -2 }), { -2.5, -6, -1 })
  expect_values("hand linear without bias", reference.run(linear(false), { 1, -2 }), { -3, -5, -1 })
end)

protected("hand flatten order", function()
  -- C-H-W order: the flat buffer is unchanged; the shape becomes a vector
  local m = model_of({ channels = 2, height = 2, width = 2 }, { { type = "flatten" } })
  local out, _, shapes = reference.run(m, { 1, 2, 3, 4, 5, 6, 7, 8 })
  expect_values("hand flatten order", out, { 1, 2, 3, 4, 5, 6, 7, 8 })
  ok(shapes[1].features == 8, "hand flatten shape")
end)

protected("hand activations", function()
  local act = reference.activation
  local m = model_of({ channels = 1, height = 1, width = 7 }, { { type = "sigmoid" } })
  expect_values("hand sigmoid", reference.run(m, { 0, 1, -1, 1000, -1000, 100, -100 }),
    { 0.5, 0.7310585786300049, 0.2689414213699951, 1, 0, 1, 3.720075976020836e-44 })
  m.layers[1].type = "tanh"
  expect_values("hand tanh", reference.run(m, { 0, 0.5, -0.5, 1000, -1000, 20, 1e-10 }),
    { 0, 0.46211715726000974, -0.46211715726000974, 1, -1, 1, 1e-10 })
  m.layers[1].type = "relu"
  expect_values("hand relu", reference.run(m, { 0, 0.5, -0.5, 1000, -1000, -0.0, 3 }),
    { 0, 0.5, 0, 1000, 0, 0, 3 })
  ok(act.tanh(-1000) == -1 and act.sigmoid(-1e6) == 0, "hand activations saturate without NaN")
end)

protected("hand output sizes", function()
  local size = reference.output_size
  ok(size(28, 5, 1, 2) == 28 and size(28, 2, 2, 0) == 14 and size(10, 5, 1, 0) == 6
    and size(7, 3, 2, 1) == 4 and size(8, 3, 3, 0) == 2 and size(4, 2, 2, 3) == 5,
    "hand output sizes floor((n + 2p - k) / s) + 1")
end)

protected("magnitudes (tests/harness/magnitude.lua)", function()
  -- linear {1, -1} + 0.5 on {100, 100}: the result 0.5 comes from terms of
  -- size 100 + 100 + 0.5; relu keeps that; a dead relu has magnitude 0; a
  -- saturated sigmoid has magnitude |y| (its slope is 0).
  local magnitude = require("magnitude")
  local m = model_of({ channels = 2, height = 1, width = 1 }, {
    { type = "flatten" },
    { type = "linear", out_features = 2, bias = true, weight = { shape = { 2, 2 }, data = { 1, -1, -1, -1 } },
      bias_values = { shape = { 2 }, data = { 0.5, 0 } } },
    { type = "relu" },
    { type = "sigmoid" } })
  local input = { 100, 100 }
  local _, trace = reference.run(m, input)
  local mags = magnitude.run(m, input, trace)
  expect_values("magnitude of a cancelled sum", mags[2], { 200.5, 200 })
  expect_values("magnitude through relu", mags[3], { 200.5, 0 })
  local y = trace[4][1]
  expect_values("magnitude through sigmoid", mags[4], { math.max(y, y * (1 - y) * 200.5), 0.5 })
end)

------------------------------------------------------------------------------
-- 3. Shape checks refuse bad models
------------------------------------------------------------------------------
local function refuses(name, m, input, pattern)
  local good, err = pcall(reference.run, m, input)
  ok(not good and tostring(err):find(pattern, 1, true) ~= nil, name, tostring(err))
end

refuses("refuses linear without flatten",
  model_of(image_shape, { { type = "linear", out_features = 1, bias = false,
    weight = { shape = { 1, 9 }, data = image } } }), image, "layer 0 (linear): input is a 1x3x3 map")
refuses("refuses a kernel larger than the input",
  model_of(image_shape, { { type = "maxpool2d", kernel = pair(4, 1), stride = pair(1, 1), padding = sides(0, 0) } }),
  image, "layer 0 (maxpool2d): output of a 1x3x3 input would be 0x3")
refuses("refuses a misshaped weight",
  model_of(image_shape, { { type = "conv2d", out_channels = 1, kernel = pair(2, 2), stride = pair(1, 1),
    padding = sides(0, 0), bias = false, weight = { shape = { 1, 2, 2, 2 }, data = image } } }),
  image, "layer 0 (conv2d): weight shape [1,2,2,2], expected [1,1,2,2]")
refuses("refuses a wrong input size", model_of(image_shape, { { type = "relu" } }), { 1, 2 },
  "input has 2 values")
refuses("refuses an unknown layer", model_of(image_shape, { { type = "gelu" } }), image,
  "layer 0 (gelu): unknown layer type")

T.finish()
