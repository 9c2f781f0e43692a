--- Stage 4: group layers into steps and place activations in memory.
-- A step is one compute layer (conv2d, linear, a pooling) with the elementwise
-- activations that follow it applied before its store; with the "fused" plan a
-- conv2d step also absorbs a following non-overlapping pooling layer, so the
-- full-resolution convolution output is never stored. Flatten is free (C-H-W
-- data is already flat). Intermediate tensors live in one arena: step outputs
-- alternate between its bottom and its top, so a step's input and output never
-- overlap and the arena is as large as the largest adjacent pair.
--
-- The plan table (read by lg.emit, lg.explain, lg.manifest):
--   steps          list of steps, in the order they run; each step:
--     kind         the compute layer's type, or "copy" (activations straight
--                  on the input, or a network of flatten layers only)
--     layer        the compute layer (nil for a copy); a copy of it when its
--                  tensors are derived (a batch norm folded into a conv2d, a
--                  batch norm's scale and shift, a prelu's slopes)
--     pool         the pooling layer fused into a conv2d step, or nil
--     layers       every description layer the step covers, in order
--     acts         activations applied to the computed value, in order
--     post_acts    activations after a fused pool (on the pooled value)
--     act_layers, post_act_layers  the layers of acts and post_acts (int8
--                  reads each one's table and zero point)
--     unroll       "full" | "kernel" | "none"
--     in_shape, out_shape, out_elements   what the step reads and writes
--     first_index, last_index             its first and last layer's index
--     macs         multiply-accumulates of its layers
--     input, output  buffers: { kind = "input" | "output" } or
--                  { kind = "arena", offset = first float in the arena }
--   arena_floats   floats the intermediate tensors need (0: none)
--   scratch_floats arena_floats, at least 1 (a C array cannot be empty)
--   macs, params   totals over the network
--   notes          { line =, text = } for each place where the plan asked for
--                  differs from the plan built (today: a pooling that
--                  --plan=fused would fuse, after a convolution at unroll
--                  level none, which has no fused kernel)
local batchnorm = require("lg.ops.batchnorm")
local geometry = require("lg.geometry")
local ops = require("lg.ops")
local weights = require("lg.weights")

local M = {}

local function new_step(kind, layer, unroll, in_shape)
  return { kind = kind, layer = layer, acts = {}, post_acts = {}, act_layers = {}, post_act_layers = {},
           layers = { layer }, unroll = unroll, in_shape = in_shape }
end

local function unfused_note(pool, conv)
  return { line = pool.line, text = string.format("layer %d (%s) is not fused with layer %d (conv2d): "
    .. "unroll level none has no fused kernel, so the convolution's %s output is stored (to fuse, use "
    .. "--unroll=kernel or unroll = \"kernel\" on layer %d; --plan=layered asks for this plan)", pool.index,
    pool.type, conv.index, geometry.shape_text(conv.out_shape), conv.index) }
end

-- Largest window (kernel rows x columns) written out as straight-line code at
-- unroll level kernel when the layer does not ask for that level itself. Every
-- clipped region repeats the window, so a 60x80 max-pool window (ONNX's
-- test_MaxPool2d_stride_padding_dilation) gave 5.1 MB of C that gcc -O2 took
-- 250 s and 3.3 GB to compile; with loops it is 4.7 KB.
M.MAX_KERNEL_WINDOW = 1024

local function large_window_note(layer)
  local taps = layer.kernel.h * layer.kernel.w
  return { line = layer.line, text = string.format("layer %d (%s) is generated with loops (unroll level "
    .. "none): its %dx%d window (%d taps, above %d) written out at unroll level kernel would take minutes "
    .. "and gigabytes to compile (to insist, set unroll = \"kernel\" on layer %d)", layer.index, layer.type,
    layer.kernel.h, layer.kernel.w, taps, M.MAX_KERNEL_WINDOW, layer.index) }
end

--- The unroll level of a compute layer's step, and a note when a window too
-- large for straight-line code lowers the level from the command line's.
local function step_unroll(layer, opts)
  if layer.unroll then return layer.unroll end
  if opts.unroll == "kernel" and layer.kernel and layer.kernel.h * layer.kernel.w > M.MAX_KERNEL_WINDOW then
    return "none", large_window_note(layer)
  end
  return opts.unroll
end

--- The steps of the network, with the notes on pools left unfused.
local function group_steps(model, opts)
  local steps, notes = {}, {}
  local current
  for _, layer in ipairs(model.layers) do
    local op = ops.of(layer.type)
    local role = op.role_of and op.role_of(layer) or op.role
    if role == "compute" then
      local could_fuse = op.fusable and current and current.kind == "conv2d" and not current.pool
        and opts.plan == "fused" and op.fusable(layer)
      if could_fuse and current.unroll ~= "none" then
        current.pool = layer
        current.layers[#current.layers + 1] = layer
      else
        if could_fuse then notes[#notes + 1] = unfused_note(layer, current.layer) end
        local emitted = op.step_layer and op.step_layer(layer, weights.float_tensor) or layer
        local unroll, note = step_unroll(layer, opts)
        if note then notes[#notes + 1] = note end
        current = new_step(layer.type, emitted, unroll, layer.in_shape)
        steps[#steps + 1] = current
      end
    elseif current or role == "activation" then
      -- flattening the caller's input changes nothing in memory; activations
      -- straight on the input need a copy step that applies them
      if not current then
        current = new_step("copy", nil, opts.unroll, layer.in_shape)
        steps[#steps + 1] = current
      end
      current.layers[#current.layers + 1] = layer
      if role == "activation" then
        local list = current.pool and current.post_acts or current.acts
        list[#list + 1] = op.act_name and op.act_name(layer) or layer.type
        local layer_list = current.pool and current.post_act_layers or current.act_layers
        layer_list[#layer_list + 1] = layer
      elseif layer.folds_into and layer.tensors and current.layer.weight then
        -- a batch norm straight after its convolution: the step computes the folded convolution
        current.layer = batchnorm.fold(current.layer, layer, weights.float_tensor)
        current.layers[1] = current.layer
      end
    end
  end
  if #steps == 0 then
    -- only flatten layers: the output is a copy of the input
    steps[1] = new_step("copy", nil, opts.unroll, model.layers[1].in_shape)
    steps[1].layers = model.layers
  end
  return steps, notes
end

--- Tensors: 0 = caller's input, k = output of step k; the last is the
-- caller's output. Returns the arena's size in floats.
local function place(steps)
  local arena = 0
  for k = 1, #steps - 1 do
    local size = steps[k].out_elements
    local next_size = (k + 1 <= #steps - 1) and steps[k + 1].out_elements or 0
    arena = math.max(arena, size + next_size)
  end
  for k, step in ipairs(steps) do
    if k == #steps then
      step.output = { kind = "output" }
    elseif k % 2 == 1 then
      step.output = { kind = "arena", offset = 0 }
    else
      step.output = { kind = "arena", offset = arena - step.out_elements }
    end
    step.input = (k == 1) and { kind = "input" } or steps[k - 1].output
  end
  return arena
end

--- Build the plan (see the field list above).
-- @param model the model of lg.model
-- @param opts { unroll = "full"|"kernel"|"none", plan = "fused"|"layered" }
function M.build(model, opts)
  local steps, notes = group_steps(model, opts)
  for _, step in ipairs(steps) do
    -- the shape the step computes: activations keep it and flatten only
    -- renames it, so it is the shape of the last compute layer
    step.out_shape = step.kind == "copy" and step.in_shape or (step.pool or step.layer).out_shape
    step.first_index = step.layers[1].index
    step.last_index = step.layers[#step.layers].index
    step.out_elements = geometry.elements(step.out_shape)
    step.macs = 0
    for _, layer in ipairs(step.layers) do step.macs = step.macs + ops.macs(layer) end
  end
  local arena = place(steps)
  local macs, params = 0, 0
  for _, layer in ipairs(model.layers) do
    macs = macs + ops.macs(layer)
    params = params + ops.params(layer)
  end
  -- a C array cannot be empty, so a network without intermediates still
  -- publishes one float of scratch
  return { steps = steps, arena_floats = arena, scratch_floats = math.max(arena, 1), macs = macs, params = params,
           notes = notes }
end

return M
