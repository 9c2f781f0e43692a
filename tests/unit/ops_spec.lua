-- lg.ops and each operator module: interface, shapes, cost, emission.
local helpers = require("helpers")
local ops = require("lg.ops")
local plan = require("lg.plan")

describe("ops registry", function()
  it("knows every layer type once", function()
    assert.are.same({ "avgpool2d", "batchnorm2d", "clip", "conv2d", "flatten", "global_avgpool", "leaky_relu",
      "linear", "maxpool2d", "prelu", "relu", "relu6", "sigmoid", "softmax", "tanh" }, ops.type_names())
  end)
  it("gives every module the required fields, and emitters to compute kinds", function()
    for _, t in ipairs(ops.type_names()) do
      local op = ops.of(t)
      assert.is_table(op.fields)
      assert.is_true(op.fields.type)
      assert.is_function(op.infer)
      assert.is_function(op.attributes)
      if op.role == "compute" then
        for _, level in ipairs({ "full", "kernel", "none" }) do assert.is_function(op.emit[level]) end
      else
        assert.is_nil(op.emit)
      end
    end
  end)
end)

--- The single step of a one-compute-layer model.
local function step_of(layers, input, plan_kind)
  local model = helpers.model(layers, input)
  return plan.build(model, { unroll = "kernel", plan = plan_kind or "layered" }).steps[1], model
end

describe("conv2d", function()
  local conv = require("lg.ops.conv2d")
  local step, model = step_of({ '{ type = "conv2d", out_channels = 2, kernel = 3, padding = 1, bias = false }' },
    "{ channels = 3, height = 5, width = 4 }")
  local layer = model.layers[1]
  it("infers the shape, cost and tensor shapes", function()
    assert.are.same({ 2, 5, 4 }, layer.out_shape)
    assert.are.equal(2 * 3 * 3 * 3, conv.params(layer))
    -- valid taps: rows 3+3+3+3+2... per axis, times channels in and out
    assert.are.equal(13 * 10 * 3 * 2, conv.macs(layer))
    assert.are.same({ { 2, 3, 3, 3 }, { 2 } }, { conv.tensors(layer) })
    assert.are.equal("out_channels 2, kernel 3x3, stride 1x1, padding 1x1, no bias", conv.attributes(layer))
  end)
  it("emits a function at each level, padding taps skipped", function()
    for _, level in ipairs({ "full", "kernel", "none" }) do
      local c = helpers.emit_step(step, level)
      assert.truthy(c:find("static void f(", 1, true), level)
      assert.truthy(c:find("const float b = 0.0f; /* no bias */", 1, true), level)
    end
    assert.is_nil(helpers.emit_step(step, "full"):find("x%[%d+%]%[%-"))
  end)
  it("reads each output channel's group of input channels, with dilation and same padding", function()
    local gstep, gmodel = step_of({ '{ type = "conv2d", out_channels = 6, kernel = 2, groups = 3, dilation = 2, '
      .. 'padding = "same" }' }, "{ channels = 3, height = 5, width = 4 }")
    local g = gmodel.layers[1]
    assert.are.same({ 6, 5, 4 }, g.out_shape)
    assert.are.same({ top = 1, left = 1, bottom = 1, right = 1 }, g.padding)
    assert.are.same({ { 6, 1, 2, 2 }, { 6 } }, { conv.tensors(g) })
    assert.are.equal(6 * 2 * 2 + 6, conv.params(g))
    assert.are.equal('out_channels 6, kernel 2x2, stride 1x1, padding "same": 1x1, dilation 2x2, groups 3 '
      .. "(1 input channel each), bias", conv.attributes(g))
    -- output channel 5 is in group 2: it reads input channel 2 only
    local full = helpers.emit_step(gstep, "full")
    assert.truthy(full:find("w[0][0][0], x[2][", 1, true))
    assert.is_nil(full:find("_oc5_.-x%[[01]%]%["))
    assert.truthy(helpers.emit_step(gstep, "kernel"):find("x[(oc / 2)]", 1, true))
    assert.truthy(helpers.emit_step(gstep, "none"):find("x[(oc / 2) + c][oy - 1 + (2 * ky)][ox - 1 + (2 * kx)]", 1, true))
  end)
end)

describe("pool", function()
  local pool = require("lg.ops.pool")
  it("defaults the stride to the kernel and fuses only unpadded, non-overlapping windows", function()
    local _, model = step_of({ '{ type = "maxpool2d", kernel = 2 }' })
    local layer = model.layers[1]
    assert.are.same({ h = 2, w = 2 }, layer.stride)
    assert.are.same({ 1, 14, 14 }, layer.out_shape)
    assert.is_true(pool.fusable(layer))
    local function layer_of(text) return select(2, step_of({ text })).layers[1] end
    assert.is_false(pool.fusable(layer_of('{ type = "maxpool2d", kernel = 3, stride = 2 }')))
    assert.are.equal("kernel 2x2, stride 2x2, padding 0x0, padding ignored", pool.attributes(layer))
  end)
  it("does not fuse a ceil_mode window that hangs past the input, nor a dilated one", function()
    local _, model = step_of({ '{ type = "maxpool2d", kernel = 2, ceil_mode = true }' },
      "{ channels = 1, height = 5, width = 5 }")
    assert.are.same({ 1, 3, 3 }, model.layers[1].out_shape)
    assert.is_false(pool.fusable(model.layers[1]))
    _, model = step_of({ '{ type = "maxpool2d", kernel = 2, dilation = 2, stride = 3 }' })
    assert.is_false(pool.fusable(model.layers[1]))
  end)
  it("divides an average without padded zeros by the real taps at every level", function()
    local step = step_of({ '{ type = "avgpool2d", kernel = 2, padding = 1, count_include_pad = false }' },
      "{ channels = 1, height = 4, width = 4 }")
    assert.are.equal("kernel 2x2, stride 2x2, padding 1x1, padded zeros not counted (count_include_pad false)",
      pool.attributes(step.layer))
    -- the corner window has one real tap, an edge window two, an inner one four
    for _, level in ipairs({ "full", "kernel" }) do
      local code = helpers.emit_step(step, level)
      assert.truthy(code:find("s * 0.5f", 1, true), level)
      assert.truthy(code:find("s * 0.25f", 1, true), level)
    end
    local none = helpers.emit_step(step, "none")
    assert.truthy(none:find("s / (ky_count[oy] * kx_count[ox])", 1, true))
    assert.truthy(none:find("static const float ky_count[3] = { 1.0f, 2.0f, 1.0f };", 1, true), none)
  end)
  it("divides an average by multiplying with 1/4", function()
    local step = step_of({ '{ type = "avgpool2d", kernel = 2 }' })
    for _, level in ipairs({ "full", "kernel", "none" }) do
      assert.truthy(helpers.emit_step(step, level):find("* 0.25f", 1, true), level)
    end
  end)
end)

describe("linear", function()
  local linear = require("lg.ops.linear")
  local step, model = step_of({ '{ type = "flatten" }', '{ type = "linear", out_features = 10 }' },
    "{ channels = 1, height = 4, width = 4 }")
  it("infers the shape and cost", function()
    local layer = model.layers[2]
    assert.are.same({ 10 }, layer.out_shape)
    assert.are.equal(160, linear.macs(layer))
    assert.are.equal(170, linear.params(layer))
  end)
  it("computes MAC_BLOCK outputs together at kernel level", function()
    local c = helpers.emit_step(step, "kernel")
    assert.truthy(c:find("float a7 = t_layer1_bias[7];", 1, true))
    assert.truthy(c:find("float a1 = t_layer1_bias[9];", 1, true))
  end)
end)

describe("activation and flatten", function()
  it("keep or flatten the shape and cost nothing", function()
    assert.are.same({ 2, 3, 4 }, ops.of("relu").infer(nil, nil, { 2, 3, 4 }))
    assert.are.same({ 24 }, ops.of("flatten").infer(nil, nil, { 2, 3, 4 }))
    assert.are.equal(0, ops.macs({ type = "tanh" }))
    assert.are.equal(0, ops.params({ type = "flatten" }))
  end)
  it("writes only the helpers the steps use", function()
    local activation = require("lg.ops.activation")
    assert.is_nil(activation.helpers({}, "builtin", false))
    local relu = activation.helpers({ relu = true }, "libm", false)
    assert.is_nil(relu:find("lenetgen_expf", 1, true))
    local sigmoid = activation.helpers({ sigmoid = true }, "libm", true)
    assert.truthy(sigmoid:find("return expf(v);", 1, true))
    assert.truthy(sigmoid:find("__attribute__((noinline))", 1, true))
  end)
end)

describe("batchnorm2d", function()
  local model = helpers.model({ '{ type = "conv2d", out_channels = 2, kernel = 3, bias = false }',
    '{ type = "batchnorm2d" }', '{ type = "maxpool2d", kernel = 2 }', '{ type = "batchnorm2d", eps = 0.5 }' },
    "{ channels = 1, height = 6, width = 6 }")
  local folded, unfolded = model.layers[2], model.layers[4]
  local p = plan.build(model, { unroll = "kernel", plan = "layered" })
  it("folds into the conv2d before it, creating its bias, and stands alone after a pool", function()
    assert.are.equal(0, folded.folds_into.index)
    assert.is_nil(unfolded.folds_into)
    assert.are.equal(3, #p.steps)  -- conv+bn, pool, bn
    assert.are.equal(2, ops.params(folded))  -- the created bias
    assert.are.equal(4, ops.params(unfolded))  -- scale and shift
    assert.are.equal(2 * 2 * 2, ops.macs(unfolded))
  end)
  it("folds exactly: weight x s, bias (0 - mean) x s + beta, s = gamma / sqrt(var + eps), rounded once", function()
    local conv, t = p.steps[1].layer, folded.tensors
    assert.is_true(conv.bias)
    assert.is_false(model.layers[1].bias)  -- the model itself is unchanged (lg.reference reads it)
    local to32 = require("lg.render").to_float32
    for c = 1, 2 do
      local s = t.weight.data[c] / math.sqrt(t.running_var.data[c] + 1e-5)
      assert.are.equal(to32(model.layers[1].weight.data[(c - 1) * 9 + 4] * s), conv.weight.data[(c - 1) * 9 + 4])
      assert.are.equal(to32((0 - t.running_mean.data[c]) * s + t.bias.data[c]), conv.bias_values.data[c])
    end
    assert.truthy(require("lg.ops.batchnorm").attributes(folded):find("folded into layer 0 (conv2d)", 1, true))
  end)
  it("emits scale and shift at each level", function()
    for _, level in ipairs({ "full", "kernel", "none" }) do
      assert.truthy(helpers.emit_step(p.steps[3], level):find("* t_layer3_weight[", 1, true), level)
    end
  end)
end)

describe("clip, leaky_relu, relu6", function()
  local clip = require("lg.ops.clip")
  it("write one function per layer with its constants", function()
    local model = helpers.model({ '{ type = "clip", min = -1, max = 2.5 }', '{ type = "leaky_relu" }',
      '{ type = "relu6" }', '{ type = "flatten" }', '{ type = "linear", out_features = 2 }' })
    local steps = plan.build(model, { unroll = "kernel", plan = "fused" }).steps
    assert.are.same({ "layer0_clip", "layer1_leaky_relu", "relu6" }, steps[1].acts)
    assert.truthy(clip.helper(model.layers[1]):find("(v < -1.0f) ? -1.0f : ((v > 2.5f) ? 2.5f : v)", 1, true))
    assert.truthy(clip.helper(model.layers[2]):find("(v * 0.01f)", 1, true))
    assert.truthy(require("lg.ops.activation").helpers({ relu6 = true }, "libm", true):find("6.0f", 1, true))
  end)
end)

describe("prelu, global_avgpool, softmax", function()
  local model = helpers.model({ '{ type = "prelu" }', '{ type = "global_avgpool" }', '{ type = "softmax" }' },
    "{ channels = 3, height = 4, width = 2 }")
  local steps = plan.build(model, { unroll = "kernel", plan = "fused" }).steps
  it("infer their shapes", function()
    assert.are.same({ 3, 1, 1 }, model.layers[2].out_shape)
    assert.are.equal(3, ops.params(model.layers[1]))
  end)
  it("emit at each level", function()
    for _, level in ipairs({ "full", "kernel", "none" }) do
      assert.truthy(helpers.emit_step(steps[1], level):find("t_layer0_weight[", 1, true), level)
      assert.truthy(helpers.emit_step(steps[2], level):find("* 0.125f", 1, true), level)
      local softmax = helpers.emit_step(steps[3], level)
      assert.truthy(softmax:find("lenetgen_expf(x[", 1, true), level)
      assert.truthy(softmax:find("m = (x[", 1, true), level)
    end
  end)
end)
