--- Stage 3: attach weight tensors to the layers that use them.
-- Tensors come from a safetensors file (checked completely by lg.safetensors
-- before anything here looks at them) or, for tests and sizing, from a seeded
-- generator. Each layer gets `weight` and `bias_values` = { shape, data, raw }.
local errors = require("lg.errors")

local M = {}

--- Expected PyTorch shapes of a layer's tensors.
local function expected_shapes(layer)
  if layer.type == "conv2d" then
    return { layer.out_channels, layer.in_shape[1], layer.kernel.h, layer.kernel.w }, { layer.out_channels }
  end
  return { layer.out_features, layer.in_shape[1] }, { layer.out_features }
end

local function shape_text(shape)
  local parts = {}
  for i, n in ipairs(shape) do parts[i] = tostring(n) end
  return "[" .. table.concat(parts, ", ") .. "]"
end

local function has_params(layer)
  return layer.type == "conv2d" or layer.type == "linear"
end

--- 64-bit splitmix step: a tiny, well-known generator whose output does not
-- depend on the Lua version (math.random's algorithm is not part of the language).
local function splitmix(state)
  state = state + 0x9E3779B97F4A7C15
  local z = state
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return state, z ~ (z >> 31)
end

--- FNV-1a of a string, so every tensor has its own stream: editing one layer
-- leaves every other layer's random weights unchanged.
local function fnv1a(s)
  local h = 0xcbf29ce484222325
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 0x100000001b3
  end
  return h
end

local function to_float32(x)
  return (string.unpack("<f", string.pack("<f", x)))
end

local function random_raw(data)
  -- string.pack has an argument limit; pack in chunks
  local parts = {}
  for i = 1, #data, 4096 do
    local last = math.min(#data, i + 4095)
    parts[#parts + 1] = string.pack("<" .. string.rep("f", last - i + 1), table.unpack(data, i, last))
  end
  return table.concat(parts)
end

--- Fill every layer with seeded random weights.
function M.attach_random(model, seed)
  for _, layer in ipairs(model.layers) do
    if has_params(layer) then
      local wshape, bshape = expected_shapes(layer)
      local fan_in = 1
      for i = 2, #wshape do fan_in = fan_in * wshape[i] end
      local count = 1
      for _, n in ipairs(wshape) do count = count * n end
      local data = M.random_tensor_data(seed, layer.weight_name, count, fan_in)
      layer.weight = { shape = wshape, data = data, raw = random_raw(data) }
      if layer.bias then
        local b = M.random_tensor_data(seed, layer.bias_name, bshape[1], fan_in)
        layer.bias_values = { shape = bshape, data = b, raw = random_raw(b) }
      end
    end
  end
  model.random_seed = seed
  return model
end

--- Deterministic pseudo-random values, uniform in +-1/sqrt(fan_in) (PyTorch's
-- default initialisation bound), each exactly representable as float32.
function M.random_tensor_data(seed, name, count, fan_in)
  local state = fnv1a(name) ~ (seed * 0x2545F4914F6CDD1D)
  local bound = 1 / math.sqrt(fan_in)
  local data = {}
  local z
  for i = 1, count do
    state, z = splitmix(state)
    local unit = (z >> 11) * (1.0 / 9007199254740992.0)
    data[i] = to_float32((2 * unit - 1) * bound)
  end
  return data
end

--- Read the description's safetensors file and attach its tensors.
-- Errors point at the layer that wants a tensor, or at the `weights` field.
function M.attach_file(model, opts)
  local safetensors = require("lg.safetensors")
  local path = model.path
  if not model.weights_path then
    errors.raise(path, nil, "the description names no weights file; add weights = \"file.safetensors\" "
      .. "or pass --random-weights SEED")
  end
  local file, err = safetensors.read(model.weights_path, { allow_nonfinite = opts and opts.allow_nonfinite })
  if not file then
    errors.raise(path, model.weights_line, string.format("weights %q: %s", model.weights_file, err))
  end
  local used = {}
  local function take(layer, name, shape, line, what)
    local t = file.tensors[name]
    if not t then
      errors.raise(path, line or layer.line, string.format("%s%s tensor %q not found in %s",
        errors.layer_prefix(layer), what, name, model.weights_file))
    end
    if used[name] then
      errors.raise(path, line or layer.line, string.format("%s%s tensor %q is already used by layer %d",
        errors.layer_prefix(layer), what, name, used[name]))
    end
    local ok = #t.shape == #shape
    for i = 1, #shape do ok = ok and t.shape[i] == shape[i] end
    if not ok then
      errors.raise(path, line or layer.line, string.format("%s%s tensor %q has shape %s, expected %s",
        errors.layer_prefix(layer), what, name, shape_text(t.shape), shape_text(shape)))
    end
    used[name] = layer.index
    return { shape = shape, data = t.data, raw = t.raw }
  end
  for _, layer in ipairs(model.layers) do
    if has_params(layer) then
      local wshape, bshape = expected_shapes(layer)
      layer.weight = take(layer, layer.weight_name, wshape, layer.weight_line, "weight")
      if layer.bias then
        layer.bias_values = take(layer, layer.bias_name, bshape, layer.bias_line, "bias")
      end
    end
  end
  for _, name in ipairs(file.names) do
    if not used[name] then
      errors.raise(path, model.weights_line, string.format("weights %q: tensor %q is not used by any layer "
        .. "(a layer with bias = false, or a missing layer?)", model.weights_file, name))
    end
  end
  model.weights_metadata = file.metadata
  return model
end

return M
