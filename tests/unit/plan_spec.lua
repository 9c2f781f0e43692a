-- lg.plan: steps, fusion, arena placement.
local helpers = require("helpers")
local plan = require("lg.plan")

describe("plan.build", function()
  local model = helpers.model(helpers.LENET5)

  it("fuses each non-overlapping pool into its convolution with --plan=fused", function()
    local p = plan.build(model, { unroll = "kernel", plan = "fused" })
    local kinds = {}
    for i, step in ipairs(p.steps) do kinds[i] = step.kind end
    assert.are.same({ "conv2d", "conv2d", "linear", "linear", "linear" }, kinds)
    assert.are.equal(2, p.steps[1].pool.index)
    assert.are.same({ "sigmoid" }, p.steps[1].acts)
    assert.are.same({}, p.steps[1].post_acts)
    assert.are.same({ 6, 14, 14 }, p.steps[1].out_shape)
    assert.are.same({}, p.notes)
  end)

  it("stores every layer's output with --plan=layered", function()
    local p = plan.build(model, { unroll = "kernel", plan = "layered" })
    assert.are.equal(7, #p.steps)
    assert.is_nil(p.steps[1].pool)
  end)

  it("notes a pool it cannot fuse at unroll level none", function()
    local p = plan.build(model, { unroll = "none", plan = "fused" })
    assert.are.equal(7, #p.steps)
    assert.are.equal(2, #p.notes)
    assert.truthy(p.notes[1].text:find("layer 2 (avgpool2d) is not fused with layer 0 (conv2d)", 1, true))
  end)

  local INPUT = "{ channels = 1, height = 70, width = 90 }"
  it("writes a window above MAX_KERNEL_WINDOW taps with loops at kernel level, with a note", function()
    local big = helpers.model({ '{ type = "maxpool2d", kernel = { 33, 32 }, stride = 8 }',
      '{ type = "maxpool2d", kernel = { 1, 2 }, unroll = "kernel" }' }, INPUT)
    local p = plan.build(big, { unroll = "kernel", plan = "fused" })
    assert.are.equal("none", p.steps[1].unroll)
    assert.are.equal("kernel", p.steps[2].unroll)
    assert.are.equal(1, #p.notes)
    assert.are.equal("layer 0 (maxpool2d) is generated with loops (unroll level none): its 33x32 window "
      .. "(1056 taps, above 1024) written out at unroll level kernel would take minutes and gigabytes to "
      .. "compile (to insist, set unroll = \"kernel\" on layer 0)", p.notes[1].text)
    local asked = helpers.model({ '{ type = "maxpool2d", kernel = { 33, 32 }, stride = 8, unroll = "kernel" }' }, INPUT)
    assert.are.equal("kernel", plan.build(asked, { unroll = "kernel", plan = "fused" }).steps[1].unroll)
    local window32 = helpers.model({ '{ type = "maxpool2d", kernel = 32, stride = 8 }' }, INPUT)
    assert.are.equal("kernel", plan.build(window32, { unroll = "kernel", plan = "fused" }).steps[1].unroll)
  end)

  it("alternates step outputs between the arena's ends; the last writes the output", function()
    local p = plan.build(model, { unroll = "kernel", plan = "fused" })
    assert.are.equal(6 * 14 * 14 + 16 * 5 * 5, p.arena_floats)
    assert.are.same({ kind = "input" }, p.steps[1].input)
    assert.are.same({ kind = "arena", offset = 0 }, p.steps[1].output)
    assert.are.same({ kind = "arena", offset = p.arena_floats - 400 }, p.steps[2].output)
    assert.are.equal(p.steps[1].output, p.steps[2].input)
    assert.are.same({ kind = "output" }, p.steps[#p.steps].output)
  end)

  it("counts LeNet-5's MACs and parameters", function()
    local p = plan.build(model, { unroll = "kernel", plan = "fused" })
    assert.are.equal(61706, p.params)
    assert.are.equal(406656, p.macs)
  end)

  it("makes a copy step for activations on the input and keeps one float of scratch", function()
    local p = plan.build(helpers.model({ '{ type = "relu" }', '{ type = "flatten" }' }),
      { unroll = "kernel", plan = "fused" })
    assert.are.equal(1, #p.steps)
    assert.are.equal("copy", p.steps[1].kind)
    assert.are.same({ "relu" }, p.steps[1].acts)
    assert.are.equal(0, p.arena_floats)
    assert.are.equal(1, p.scratch_floats)
  end)
end)
