--- random_arch: seeded generator of random valid LeNet-like descriptions, for
-- property testing the generator against the reference interpreter.
--
-- usage: lua5.4 tools/random_arch.lua SEED [--max-macs N] [-o FILE]
--   Writes the description of architecture SEED (to FILE, or standard output).
--   Weights come from `gen/lenetgen --random-weights SEED`; the description
--   names no weights file.
-- As a module: require("random_arch").description(seed, opts) -> source text.
--
-- One architecture in ten has a 3x32x32 input and a cheap first convolution.
-- Every architecture has 1-4 blocks of conv2d [activation] [pool [activation]],
-- then flatten and 1-3 linear layers with activations between them. Ranges:
-- input 1-3 channels and 1-32 rows/columns; conv out_channels 1-16, kernel
-- 1-7 per axis (square or rectangular), stride 1-3 and padding 0-3 per axis,
-- with or without bias; avg and max pooling with kernel 1-4, stride 1-3 (so
-- windows overlap, tile or leave gaps) and padding up to half the kernel (the
-- most PyTorch allows); sigmoid, relu and tanh; linear layers of 1-32
-- features with or without bias. Some architectures also set a per-layer
-- `unroll` field, so levels mix within one network. Window fields (issue 14)
-- come from a second stream, so they leave the rest of an architecture as
-- it was: conv groups (depthwise, channel multiplier or a common divisor),
-- dilation 1-3, asymmetric {top, left, bottom, right} and "same"/"same_lower"
-- padding; pooling ceil_mode, count_include_pad = false and max-pool dilation
-- (a draw that leaves no output or a window wholly in the padding is dropped).
-- Issue 14's layers come from a third stream of their own: batchnorm2d after a
-- convolution (folded) or a pooling (unfolded), relu6, clip, leaky_relu and
-- prelu after an activation slot, global_avgpool before the flatten, softmax
-- last. Draws that would vanish
-- (a kernel larger than its padded input) are clipped to fit; architectures
-- above the MAC budget (opts.max_macs, default 40,000) are redrawn from the
-- same seeded stream, so SEED always names the same architecture.
local M = {}

local script_dir = (arg and arg[0] and arg[0]:match("^(.*)/[^/]*$")) or "."
package.path = script_dir .. "/../tests/harness/?.lua;" .. package.path
local lgcheck = require("lgcheck")

M.DEFAULT_MAX_MACS = 40000

--- A random source with the helpers the generator needs.
local function random_source(seed)
  local unit = lgcheck.uniform_source(seed * 7919 + 17)
  local r = {}
  function r.int(lo, hi) return lo + math.floor(unit() * (hi - lo + 1)) end
  function r.chance(p) return unit() < p end
  function r.pick(list) return list[r.int(1, #list)] end
  return r
end

local ACTIVATIONS = { "sigmoid", "relu", "tanh" }
local UNROLL_LEVELS = { "full", "kernel", "none" }

--- Draw an {h, w} pair: equal axes most of the time, else independent.
local function draw_pair(r, lo_h, hi_h, lo_w, hi_w)
  local h = r.int(lo_h, hi_h)
  if r.chance(0.6) and h >= lo_w and h <= hi_w then return { h = h, w = h } end
  return { h = h, w = r.int(lo_w, hi_w) }
end

--- Output size along one axis (the description contract's formula).
local function out_size(n, k, s, p) return (n + 2 * p - k) // s + 1 end

--- The same with the window fields: padding before/after, dilation, ceil_mode
-- (PyTorch's rule: the last window starts inside the input or its leading padding).
local function window_out(n, k, s, before, after, d, ceil)
  local room = n + before + after - ((k - 1) * d + 1)
  if room < 0 then return 0 end
  if not ceil then return room // s + 1 end
  local o = (room + s - 1) // s + 1
  if (o - 1) * s >= n + before then o = o - 1 end
  return o
end

--- Does every output position of an axis have a tap inside the input?
local function every_window_reads(n, k, s, before, d, count)
  for o = 0, count - 1 do
    local inside = false
    for t = 0, k - 1 do
      local i = o * s - before + t * d
      inside = inside or (i >= 0 and i < n)
    end
    if not inside then return false end
  end
  return true
end

--- ONNX SAME_UPPER/SAME_LOWER padding of one axis: before, after.
local function same_pads(n, k, s, d, lower)
  local total = math.max(((n + s - 1) // s - 1) * s + (k - 1) * d + 1 - n, 0)
  if lower then return total - total // 2, total // 2 end
  return total // 2, total - total // 2
end

--- Sides {top, left, bottom, right} of a layer's padding on a height x width input.
local function sides(layer, shape)
  local p, d, s = layer.padding, layer.dilation or { h = 1, w = 1 }, layer.stride or
    (layer.type == "conv2d" and { h = 1, w = 1 } or layer.kernel)
  if p == nil then return { 0, 0, 0, 0 } end
  if type(p) == "string" then
    local t, b = same_pads(shape.height, layer.kernel.h, s.h, d.h, p == "same_lower")
    local l, r = same_pads(shape.width, layer.kernel.w, s.w, d.w, p == "same_lower")
    return { t, l, b, r }
  end
  if p.h then return { p.h, p.w, p.h, p.w } end
  return p
end

--- The output height and width of a window layer, 0 when it vanishes or a
-- window reads nothing where that is an error.
local function window_shape(layer, shape)
  local p, d = sides(layer, shape), layer.dilation or { h = 1, w = 1 }
  local s = layer.stride or (layer.type == "conv2d" and { h = 1, w = 1 } or layer.kernel)
  local oh = window_out(shape.height, layer.kernel.h, s.h, p[1], p[3], d.h, layer.ceil_mode)
  local ow = window_out(shape.width, layer.kernel.w, s.w, p[2], p[4], d.w, layer.ceil_mode)
  if layer.type == "maxpool2d" or layer.count_include_pad == false then
    if not (every_window_reads(shape.height, layer.kernel.h, s.h, p[1], d.h, oh)
        and every_window_reads(shape.width, layer.kernel.w, s.w, p[2], d.w, ow)) then
      return 0, 0
    end
  end
  return oh, ow
end

--- Try a change of window fields on layer: keep it when the layer still has
-- an output, else undo it.
local function try(layer, shape, fields)
  local old = {}
  for k, v in pairs(fields) do old[k] = layer[k]; layer[k] = v end
  local oh, ow = window_shape(layer, shape)
  if oh < 1 or ow < 1 then
    for k in pairs(fields) do layer[k] = old[k] end
  end
end

--- The window fields drawn from the second stream x (see the header).
local function draw_window_fields(x, layer, shape)
  if layer.type == "conv2d" then
    if x.chance(0.25) then
      if x.chance(0.5) then  -- depthwise, maybe with a channel multiplier
        layer.groups, layer.out_channels = shape.channels, shape.channels * x.int(1, 2)
      else
        local g = x.int(1, 4)
        if shape.channels % g == 0 then
          layer.groups, layer.out_channels = g, g * math.max(1, layer.out_channels // g)
        end
      end
    end
    if x.chance(0.25) then try(layer, shape, { dilation = draw_pair(x, 1, 3, 1, 3) }) end
  else
    if x.chance(0.3) then layer.ceil_mode = true end
    if layer.type == "avgpool2d" and x.chance(0.3) then try(layer, shape, { count_include_pad = false }) end
    if layer.type == "maxpool2d" and x.chance(0.25) then try(layer, shape, { dilation = draw_pair(x, 1, 2, 1, 2) }) end
  end
  if x.chance(0.15) then
    try(layer, shape, { padding = x.pick({ "same", "same_lower" }) })
  elseif layer.type == "conv2d" and x.chance(0.15) then
    try(layer, shape, { padding = { x.int(0, 3), x.int(0, 3), x.int(0, 3), x.int(0, 3) } })
  end
end

--- One conv2d layer on a channels x height x width map; kernel clipped to fit.
-- cheap: a first layer for a 3x32x32 input that fits the MAC budget (1-2
-- channels, kernel 1-3, stride 2-3).
local function draw_conv(r, shape, cheap, x)
  local layer = { type = "conv2d", out_channels = r.int(1, cheap and 2 or 16) }
  layer.padding = r.chance(0.5) and draw_pair(r, 0, 3, 0, 3) or nil
  local p = layer.padding or { h = 0, w = 0 }
  layer.kernel = cheap and draw_pair(r, 1, 3, 1, 3) or draw_pair(r, 1, 7, 1, 7)
  layer.kernel.h = math.min(layer.kernel.h, shape.height + 2 * p.h)
  layer.kernel.w = math.min(layer.kernel.w, shape.width + 2 * p.w)
  if cheap then
    layer.stride = draw_pair(r, 2, 3, 2, 3)
  elseif r.chance(0.6) then
    layer.stride = draw_pair(r, 1, 3, 1, 3)
  end
  layer.bias = r.chance(0.2) and false or nil
  if x then draw_window_fields(x, layer, shape) end
  local height, width = window_shape(layer, shape)
  local out = { channels = layer.out_channels, height = height, width = width }
  local macs = out.channels * out.height * out.width * (shape.channels // (layer.groups or 1))
    * layer.kernel.h * layer.kernel.w
  return layer, out, macs
end

--- One pooling layer; kernel clipped to the input, padding to half the kernel.
local function draw_pool(r, shape, x)
  local layer = { type = r.chance(0.5) and "avgpool2d" or "maxpool2d" }
  layer.kernel = draw_pair(r, 1, 4, 1, 4)
  layer.kernel.h = math.min(layer.kernel.h, shape.height)
  layer.kernel.w = math.min(layer.kernel.w, shape.width)
  if r.chance(0.6) then  -- else the default, stride = kernel
    layer.stride = draw_pair(r, 1, 3, 1, 3)
  end
  if r.chance(0.4) then
    layer.padding = { h = r.int(0, layer.kernel.h // 2), w = r.int(0, layer.kernel.w // 2) }
  end
  if x then draw_window_fields(x, layer, shape) end
  local height, width = window_shape(layer, shape)
  local out = { channels = shape.channels, height = height, width = width }
  return layer, out, out.channels * out.height * out.width * layer.kernel.h * layer.kernel.w
end

--- One architecture drawn from r: returns input, layers, MAC count.
-- large: a 3x32x32 input (the largest the property test covers).
--- One of issue 14's elementwise layers.
local function draw_extra_activation(x)
  local kind = x.pick({ "relu6", "clip", "leaky_relu", "prelu" })
  if kind == "clip" then
    local lo = x.int(-8, 2) / 4
    return { type = "clip", min = x.chance(0.8) and lo or nil, max = lo + x.int(1, 12) / 4 }
  elseif kind == "leaky_relu" then
    return { type = "leaky_relu", negative_slope = x.chance(0.5) and x.int(-4, 12) / 8 or nil }
  end
  return { type = kind }
end

local function draw_batchnorm(x)
  return { type = "batchnorm2d", eps = x.chance(0.3) and 0.001 or nil, affine = x.chance(0.2) and false or nil }
end

local function draw_architecture(r, large, x, extra)
  local input = { channels = r.int(1, 3), height = r.int(1, 32), width = r.int(1, 32) }
  if r.chance(0.5) then input.width = input.height end
  if large then input = { channels = 3, height = 32, width = 32 } end
  local layers, macs = {}, 0
  local shape = { channels = input.channels, height = input.height, width = input.width }
  local function add(layer, out, cost)
    layers[#layers + 1] = layer
    shape = out or shape
    macs = macs + (cost or 0)
  end
  for block = 1, r.int(1, 4) do
    add(draw_conv(r, shape, large and block == 1, x))
    if extra.chance(0.3) then add(draw_batchnorm(extra)) end
    if r.chance(0.8) then add({ type = r.pick(ACTIVATIONS) }) end
    if extra.chance(0.25) then add(draw_extra_activation(extra)) end
    if r.chance(0.7) then
      add(draw_pool(r, shape, x))
      if extra.chance(0.2) then add(draw_batchnorm(extra)) end
      if r.chance(0.15) then add({ type = r.pick(ACTIVATIONS) }) end
    end
  end
  if extra.chance(0.15) then add({ type = "global_avgpool" }, { channels = shape.channels, height = 1, width = 1 }) end
  add({ type = "flatten" })
  local features = shape.channels * shape.height * shape.width
  local linear_count = r.int(1, 3)
  for i = 1, linear_count do
    local out_features = (i == linear_count) and r.int(1, 10) or r.int(1, 32)
    add({ type = "linear", out_features = out_features, bias = r.chance(0.2) and false or nil },
      nil, features * out_features)
    features = out_features
    if i < linear_count and r.chance(0.85) or i == linear_count and r.chance(0.3) then
      add({ type = r.pick(ACTIVATIONS) })
    end
    if extra.chance(0.15) then add(draw_extra_activation(extra)) end
  end
  if extra.chance(0.2) then add({ type = "softmax" }) end
  if r.chance(0.2) then  -- per-layer unroll levels that override the command line
    for _, layer in ipairs(layers) do
      if layer.kernel or layer.type == "linear" then
        if r.chance(0.5) then layer.unroll = r.pick(UNROLL_LEVELS) end
      end
    end
  end
  return input, layers, macs
end

local function pair_text(p)
  if type(p) == "string" then return string.format("%q", p) end
  if p[1] then return string.format("{ %d, %d, %d, %d }", p[1], p[2], p[3], p[4]) end
  if p.h == p.w then return tostring(p.h) end
  return string.format("{ %d, %d }", p.h, p.w)
end

--- Description source text of architecture `seed`.
-- @param opts { max_macs = n (default M.DEFAULT_MAX_MACS), int8 = true: for
--   --quantize=int8, which now implements every window field and layer the
--   float draws have, so the same network as without it (make test-int8) }
function M.description(seed, opts)
  local max_macs = (opts and opts.max_macs) or M.DEFAULT_MAX_MACS
  local r = random_source(seed)
  -- one architecture in ten has a 3x32x32 input; decided by its own stream so
  -- that the other seeds keep their architectures
  local large = random_source(seed + 1000003).chance(0.1)
  local x = random_source(seed + 2000003)  -- the window fields' own stream
  local extra = random_source(seed + 3000003)  -- issue 14's layers' own stream
  local input, layers, macs
  for _ = 1, 10000 do
    input, layers, macs = draw_architecture(r, large, x, extra)
    if macs <= max_macs then break end
  end
  assert(macs <= max_macs, "no architecture under the MAC budget")
  local out = {
    string.format("-- Random architecture %d (tools/random_arch.lua, %d MACs); use --random-weights.", seed, macs),
    "return {",
    string.format('  name = "rand_%d",', seed),
    string.format("  input = { channels = %d, height = %d, width = %d },", input.channels, input.height, input.width),
    "  layers = {",
  }
  for _, layer in ipairs(layers) do
    local fields = { string.format('type = "%s"', layer.type) }
    if layer.out_channels then fields[#fields + 1] = "out_channels = " .. layer.out_channels end
    if layer.out_features then fields[#fields + 1] = "out_features = " .. layer.out_features end
    for _, key in ipairs({ "kernel", "stride", "padding", "dilation" }) do
      if layer[key] then fields[#fields + 1] = key .. " = " .. pair_text(layer[key]) end
    end
    if layer.groups and layer.groups > 1 then fields[#fields + 1] = "groups = " .. layer.groups end
    if layer.ceil_mode then fields[#fields + 1] = "ceil_mode = true" end
    if layer.count_include_pad == false then fields[#fields + 1] = "count_include_pad = false" end
    if layer.bias == false then fields[#fields + 1] = "bias = false" end
    for _, key in ipairs({ "eps", "affine", "min", "max", "negative_slope" }) do
      if layer[key] ~= nil then fields[#fields + 1] = string.format("%s = %s", key, tostring(layer[key])) end
    end
    if layer.unroll then fields[#fields + 1] = string.format('unroll = "%s"', layer.unroll) end
    out[#out + 1] = "    { " .. table.concat(fields, ", ") .. " },"
  end
  out[#out + 1] = "  },"
  out[#out + 1] = "}"
  return table.concat(out, "\n") .. "\n"
end

local function main(args)
  package.path = script_dir .. "/?.lua;" .. package.path
  local cliargs = require("cliargs")
  local parser = cliargs.parser("tools/random_arch.lua", "Print a random LeNet-style description.")
  parser:argument("seed", "The architecture's seed (0 or more)."):convert(cliargs.integer)
  parser:option("--max-macs", "At most this many multiply-accumulates."):argname("N"):convert(cliargs.integer)
  parser:option("-o", "Write the description to FILE instead of standard output."):argname("FILE")
  local opts = cliargs.parse(parser, args, function(a)
    if a.seed < 0 then return "SEED must be 0 or more" end
  end)
  local seed, path, max_macs = opts.seed, opts.o, opts.max_macs
  local text = M.description(seed, { max_macs = max_macs })
  if path then
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
  else
    io.write(text)
  end
end

if ... ~= "random_arch" then main({ ... }) end
return M
