--- Stage 4: group layers into steps and place activations in memory.
-- A step is one compute layer (conv2d, linear, a pooling) with the elementwise
-- activations that follow it applied before its store; with the "fused" plan a
-- conv2d step also absorbs a following non-overlapping pooling layer, so the
-- full-resolution convolution output is never stored. Flatten is free (C-H-W
-- data is already flat). Intermediate tensors live in one arena: step outputs
-- alternate between its bottom and its top, so a step's input and output never
-- overlap and the arena is as large as the largest adjacent pair.
local M = {}

local ACTIVATIONS = { sigmoid = true, relu = true, tanh = true }
local POOLS = { avgpool2d = true, maxpool2d = true }

local function elements(shape)
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  return n
end
M.elements = elements

--- In-bounds taps along one axis, summed over every output position: a window
-- at position o covers input indices o*stride-pad .. o*stride-pad+kernel-1,
-- and only those inside 0..size-1 count. Positions lo..hi have their whole
-- window inside, so they add kernel each; only the clipped positions before and
-- after them are counted one by one, and there are at most about pad/stride of
-- each, so the cost does not depend on size.
function M.axis_taps(count, size, kernel, stride, pad)
  local function valid(o)
    local origin = o * stride - pad
    return math.max(math.min(origin + kernel, size) - math.max(origin, 0), 0)
  end
  local lo = math.min((pad + stride - 1) // stride, count)          -- first o with origin >= 0
  local hi = math.max(math.min((size - kernel + pad) // stride, count - 1), lo - 1)
  local taps = (hi - lo + 1) * kernel
  for o = 0, lo - 1 do taps = taps + valid(o) end
  for o = hi + 1, count - 1 do taps = taps + valid(o) end
  return taps
end

--- Multiply-accumulates of a layer.
function M.layer_macs(layer)
  if layer.type == "conv2d" then
    -- only taps that fall inside the image are real work; padding taps are
    -- skipped. A tap is inside when its row and its column are, so the count
    -- over all positions is the product of the two axes' counts.
    local _, oh, ow = table.unpack(layer.out_shape)
    local c, h, w = table.unpack(layer.in_shape)
    local rows = M.axis_taps(oh, h, layer.kernel.h, layer.stride.h, layer.padding.h)
    local cols = M.axis_taps(ow, w, layer.kernel.w, layer.stride.w, layer.padding.w)
    return rows * cols * c * layer.out_channels
  elseif layer.type == "linear" then
    return layer.in_shape[1] * layer.out_features
  end
  return 0
end

--- Parameters of a layer (weights + biases).
function M.layer_params(layer)
  if layer.type == "conv2d" then
    local n = layer.out_channels * layer.in_shape[1] * layer.kernel.h * layer.kernel.w
    return n + (layer.bias and layer.out_channels or 0)
  elseif layer.type == "linear" then
    return layer.out_features * layer.in_shape[1] + (layer.bias and layer.out_features or 0)
  end
  return 0
end

--- Can this pooling layer be computed inside the preceding convolution?
-- Only non-overlapping, unpadded windows: each convolution output then feeds
-- exactly one pooled value and is computed exactly once.
local function fusable(pool)
  return pool.padding.h == 0 and pool.padding.w == 0
    and pool.stride.h >= pool.kernel.h and pool.stride.w >= pool.kernel.w
end

--- Build the plan.
-- @param model validated model with weights attached
-- @param opts { unroll = "kernel", plan = "fused"|"layered" }
-- @return { steps = {...}, arena_floats = n, macs = n, params = n, notes = {...} }
--   notes: { line =, text = } for each place where the plan asked for differs from
--   the plan built (today: a pooling that --plan=fused would fuse, after a
--   convolution at unroll level none, which has no fused kernel)
function M.build(model, opts)
  local steps = {}
  local notes = {}
  local current
  for _, layer in ipairs(model.layers) do
    local t = layer.type
    if t == "conv2d" or t == "linear" or POOLS[t] then
      local unroll = layer.unroll or opts.unroll
      local could_fuse = POOLS[t] and current and current.kind == "conv2d" and not current.pool
        and opts.plan == "fused" and fusable(layer)
      if could_fuse and current.unroll ~= "none" then
        current.pool = layer
        current.layers[#current.layers + 1] = layer
      else
        if could_fuse then
          notes[#notes + 1] = { line = layer.line, text = string.format("layer %d (%s) is not fused "
            .. "with layer %d (conv2d): unroll level none has no fused kernel, so the convolution's "
            .. "%s output is stored (to fuse, use --unroll=kernel or unroll = \"kernel\" on layer %d; "
            .. "--plan=layered asks for this plan)", layer.index, t, current.layer.index, require("lg.validate").shape_text(current.layer.out_shape),
            current.layer.index) }
        end
        current = { kind = t, layer = layer, acts = {}, post_acts = {}, layers = { layer },
                    unroll = unroll, in_shape = layer.in_shape }
        steps[#steps + 1] = current
      end
    elseif ACTIVATIONS[t] or t == "flatten" then
      if not current and t == "flatten" then
        goto continue  -- flattening the caller's input changes nothing in memory
      end
      if not current then
        -- activations straight on the input: a copy step that applies them
        current = { kind = "copy", acts = {}, post_acts = {}, layers = {}, unroll = opts.unroll,
                    in_shape = layer.in_shape }
        steps[#steps + 1] = current
      end
      current.layers[#current.layers + 1] = layer
      if ACTIVATIONS[t] then
        local list = current.pool and current.post_acts or current.acts
        list[#list + 1] = t
      end
    end
    ::continue::
  end
  if #steps == 0 then
    -- only flatten layers: the output is a copy of the input
    steps[1] = { kind = "copy", acts = {}, post_acts = {}, layers = model.layers, unroll = opts.unroll,
                 in_shape = model.layers[1].in_shape }
  end
  for _, step in ipairs(steps) do
    -- the shape the step computes: activations keep it and flatten only
    -- renames it, so it is the shape of the last compute layer
    if step.kind == "copy" then
      step.out_shape = step.in_shape
    else
      step.out_shape = (step.pool or step.layer).out_shape
    end
    step.first_index = step.layers[1].index
    step.last_index = step.layers[#step.layers].index
    step.out_elements = elements(step.out_shape)
    step.macs = 0
    for _, layer in ipairs(step.layers) do step.macs = step.macs + M.layer_macs(layer) end
  end
  -- tensors: 0 = caller's input, k = output of step k; the last is the caller's output
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
  local macs, params = 0, 0
  for _, layer in ipairs(model.layers) do
    macs = macs + M.layer_macs(layer)
    params = params + M.layer_params(layer)
  end
  -- a C array cannot be empty, so a network without intermediates still
  -- publishes one float of scratch
  return { steps = steps, arena_floats = arena, scratch_floats = math.max(arena, 1), macs = macs, params = params,
           notes = notes }
end

return M
