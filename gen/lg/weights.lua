--- Stage 3: read the weight tensors of the layers that use them.
-- Tensors come from a safetensors file (checked completely by lg.safetensors
-- before anything here looks at them) or, for tests and sizing, from a seeded
-- generator. Both return a new model (see lg.model) whose layers with
-- parameters carry `weight` and `bias_values`, each a tensor
-- { shape, data (float32 values), raw (little-endian bytes), sha256 (of raw),
--   nonfinite (whether a value is NaN or Inf) }.
local errors = require("lg.errors")
local geometry = require("lg.geometry")
local hash = require("lg.hash")
local ops = require("lg.ops")

local M = {}

local read_bounded

--- Expected PyTorch shapes of a layer's tensors, or nil for a layer without.
local function expected_shapes(layer)
  local op = ops.of(layer.type)
  if op.tensors then return op.tensors(layer) end
end

local function has_params(layer)
  return ops.of(layer.type).tensors ~= nil
end

local function new_tensor(shape, data, raw, nonfinite)
  return { shape = shape, data = data, raw = raw, sha256 = hash.sha256_hex(raw), nonfinite = nonfinite or false }
end

--- A copy of the model, each layer with its tensors (found[layer.index] =
-- { weight =, bias = }), and the fields of `extra`.
local function with_tensors(model, found, extra)
  local out = { nonfinite = false }
  for k, v in pairs(model) do out[k] = v end
  for k, v in pairs(extra) do out[k] = v end
  out.layers = {}
  for i, layer in ipairs(model.layers) do
    local copy = {}
    for k, v in pairs(layer) do copy[k] = v end
    local t = found[layer.index]
    if t and t.weight then
      copy.weight, copy.bias_values = t.weight, t.bias
      out.nonfinite = out.nonfinite or t.weight.nonfinite or (t.bias ~= nil and t.bias.nonfinite)
    end
    if t and t.extra then
      copy.tensors = t.extra
      for _, tensor in pairs(t.extra) do out.nonfinite = out.nonfinite or tensor.nonfinite end
    end
    out.layers[i] = copy
  end
  return out
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

--- A float32 tensor of `values` (rounded once each), for tensors the
-- generator derives (a batch norm folded into a convolution).
function M.float_tensor(shape, values)
  local data, nonfinite = {}, false
  for i, v in ipairs(values) do
    data[i] = to_float32(v)
    nonfinite = nonfinite or data[i] ~= data[i] or math.abs(data[i]) == math.huge
  end
  return new_tensor(shape, data, random_raw(data), nonfinite)
end

--- The model with seeded random weights in every layer that has parameters.
function M.attach_random(model, seed)
  local found = {}
  for _, layer in ipairs(model.layers) do
    local specs = ops.of(layer.type).tensor_specs
    if specs then
      local extra = {}
      for _, spec in ipairs(specs(layer)) do
        if not spec.optional then
          local data = M.random_tensor_data(seed, spec.name, geometry.elements(spec.shape), 1)
          for i, x in ipairs(data) do data[i] = spec.random and to_float32(spec.random(x)) or x end
          extra[spec.key] = new_tensor(spec.shape, data, random_raw(data))
        end
      end
      found[layer.index] = { extra = extra }
    end
    if has_params(layer) then
      local wshape, bshape = expected_shapes(layer)
      local fan_in = 1
      for i = 2, #wshape do fan_in = fan_in * wshape[i] end
      local data = M.random_tensor_data(seed, layer.weight_name, geometry.elements(wshape), fan_in)
      local t = { weight = new_tensor(wshape, data, random_raw(data)) }
      if layer.bias then
        local b = M.random_tensor_data(seed, layer.bias_name, bshape[1], fan_in)
        t.bias = new_tensor(bshape, b, random_raw(b))
      end
      found[layer.index] = t
    end
  end
  return with_tensors(model, found, { random_seed = seed })
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

--- Why a tensor's shape differs from the layer's, in the model owner's terms:
-- "the kernel is 3x3 in the description but 5x5 in the file".
local function shape_difference(layer, what, got, want)
  local count_field = layer.type == "conv2d" and "out_channels" or "out_features"
  if #got ~= #want then
    local dims = what == "bias" and count_field
      or (layer.type == "conv2d" and "out_channels, input channels, kernel height, kernel width"
        or "out_features, input values")
    return string.format("a %s %s has %d dimension%s [%s], this one has %d; is it the tensor of "
      .. "another layer?", layer.type, what, #want, #want == 1 and "" or "s", dims, #got)
  end
  local parts = {}
  if got[1] ~= want[1] then
    parts[#parts + 1] = string.format("%s is %d in the description but %d in the file", count_field,
      want[1], got[1])
  end
  if what == "weight" and got[2] ~= want[2] then
    parts[#parts + 1] = string.format("the input has %d %s here (from the layers before it) but %d in "
      .. "the file", want[2], layer.type == "conv2d" and "channels" or "values", got[2])
  end
  if what == "weight" and layer.type == "conv2d" and (got[3] ~= want[3] or got[4] ~= want[4]) then
    parts[#parts + 1] = string.format("the kernel is %dx%d in the description but %dx%d in the file",
      want[3], want[4], got[3], got[4])
  end
  return table.concat(parts, "; ") .. "; change the description or export the weights again"
end

--- Up to `max` tensor names of the file, for "not found" messages.
local function some_names(names, max)
  local shown = {}
  for i = 1, math.min(#names, max) do shown[i] = errors.describe(names[i]) end
  if #names > max then shown[#shown + 1] = string.format("and %d more", #names - max) end
  return table.concat(shown, ", ")
end

--- Bytes of a weights file, read with a bound: a path such as /dev/zero
-- must end with an error, not fill the memory. The bound is the largest valid
-- file: the reader's maximum header plus the weights of the largest network
-- lenetgen accepts. Returns bytes, or nil and a message (as lg.safetensors.read's).
read_bounded = function(path, safetensors)
  -- a FIFO or a device would block the open or never end; refused before opening
  local what = require("lg.files").not_regular(path)
  if what then
    return nil, string.format("is %s, not a regular file; give the path of a safetensors file", what)
  end
  local f, err = io.open(path, "rb")
  if not f then
    err = err:sub(1, #path + 2) == path .. ": " and err:sub(#path + 3) or err
    return nil, "cannot open: " .. err:gsub("^%u", string.lower)
  end
  local limit = 8 + safetensors.MAX_HEADER_BYTES + 4 * require("lg.validate").LIMITS.max_parameters
  local chunks, size = {}, 0
  while true do
    local chunk, rerr = f:read(#chunks == 0 and 8 or math.min(1 << 20, limit + 1 - size))
    if not chunk then
      if rerr then
        f:close()
        return nil, "cannot read: " .. tostring(rerr):gsub("^%u", string.lower)
      end
      break
    end
    chunks[#chunks + 1] = chunk
    size = size + #chunk
    if #chunks == 1 and size >= 8 then
      -- a header length of 0 or over the maximum is refused from the first 4 KB
      -- alone, with the same message as from the whole file (/dev/zero ends here)
      local n = string.unpack("<i8", chunk)
      if n <= 0 or n > safetensors.MAX_HEADER_BYTES then
        -- with the next few KB, which say what the file is instead (lg.fileformat)
        local more = f:read(4096 - 8)
        f:close()
        return chunk:sub(1, 8) .. (more or "")
      end
    end
    if size > limit then
      f:close()
      return nil, string.format("the file is larger than %d MB, more than a header and the weights of "
        .. "the largest network lenetgen accepts; is it a safetensors file?", limit // (1024 * 1024))
    end
  end
  f:close()
  return table.concat(chunks)
end

--- The decoded safetensors file of the description, and the SHA-256 of its
-- bytes. The manifest's hash is of these very bytes: the file is read once, so
-- replacing it meanwhile cannot give a hash of other weights than those embedded.
local function read_file(model, opts)
  local safetensors = require("lg.safetensors")
  local path = model.path
  if not model.weights_path then
    -- also for a network without parameters: the manifest names the weights' source
    errors.raise(path, nil, "the description names no weights file; add weights = \"file.safetensors\" "
      .. "(relative to the description) or pass --random-weights SEED")
  end
  local file, err
  local bytes, read_err = read_bounded(model.weights_path, safetensors)
  if bytes then
    file, err = safetensors.decode(bytes, { allow_nonfinite = opts and opts.allow_nonfinite })
  else
    err = read_err
  end
  if not file then
    if err:match("^cannot open") and model.weights_path ~= model.weights_file then
      err = err .. string.format(" (looked for %s: the path is relative to the description's directory)",
        model.weights_path)
    elseif err:match(" is NaN$") or err:match(" is [+-]Inf$") then
      err = err .. "; fix the training or the export, or pass --allow-nonfinite to accept it"
    end
    errors.raise(path, model.weights_line, string.format("weights %s: %s",
      errors.describe(model.weights_file, 200), err))
  end
  return file, hash.sha256_hex(bytes)
end

--- What to say when a default name ("<i>.weight") is not in the file: the
-- layer list and the file disagree about positions?
local function default_name_hint(file, suffix, shape, used, what)
  local same_kind, fits = {}, nil
  for _, other in ipairs(file.names) do
    if other:match("^%d+%.(%a+)$") == suffix then
      same_kind[#same_kind + 1] = other
      local o = file.tensors[other]
      local fit = not used[other] and #o.shape == #shape
      for i = 1, #shape do fit = fit and o.shape[i] == shape[i] end
      if fit and not fits then fits = other end
    end
  end
  if fits then
    return string.format("the file's %s has the shape this layer needs: is a layer missing or "
      .. "extra before this one? Default names are \"<i>.%s\" with i the 0-based position in "
      .. "layers, as in PyTorch's nn.Sequential, which counts activations too", errors.describe(fits),
      suffix)
  elseif #same_kind > 0 then
    return string.format("the file has %s; default names are \"<i>.%s\" with i the 0-based "
      .. "position in layers (as in PyTorch's nn.Sequential), or name the tensor with %s = \"...\"",
      some_names(same_kind, 6), suffix, what)
  end
  return string.format("the file names its tensors differently (%s): name them in the layer "
    .. "with weight = \"...\" and bias = \"...\"", #file.names > 0 and some_names(file.names, 6)
    or "it has none")
end

--- What to say when a tensor name is not in the file.
local function missing_hint(file, name, shape, used, what)
  local suffix = name:match("^%d+%.(%a+)$")
  if suffix then return default_name_hint(file, suffix, shape, used, what) end
  local guess = errors.suggest(name, file.names)
  if guess then
    return string.format("did you mean %s?", errors.describe(guess))
  elseif #file.names == 0 then
    return "the file has no tensors"
  end
  return "the file has " .. some_names(file.names, 6)
end

--- Every tensor of the file must be used: point at the layer a default name
-- belongs to, when there is one.
local function check_all_used(model, file, used, file_label)
  local path = model.path
  for _, name in ipairs(file.names) do
    if not used[name] then
      local index, kind = name:match("^(%d+)%.(%a+)$")
      local layer = index and model.layers[tonumber(index) + 1]
      if layer and kind == "bias" and has_params(layer) and not layer.bias then
        errors.raise(path, layer.bias_line or layer.line, string.format("%sbias = false, but %s has the "
          .. "bias tensor %s; remove bias = false to use it (or remove the tensor from the file)",
          errors.layer_prefix(layer), file_label, errors.describe(name)))
      elseif layer and not has_params(layer) and (kind == "weight" or kind == "bias") then
        errors.raise(path, layer.line, string.format("%s%s has tensor %s, but a %s layer has no "
          .. "weights: is a layer missing or extra before this one? (PyTorch numbers the tensors by "
          .. "position in nn.Sequential)", errors.layer_prefix(layer), file_label, errors.describe(name),
          layer.type))
      end
      errors.raise(path, model.weights_line, string.format("weights %s: tensor %s is not used by any "
        .. "layer; remove it from the file, or name it in a layer with weight = \"...\" or bias = \"...\"",
        file_label, errors.describe(name)))
    end
  end
end

--- Why the model can be described without its weights (a note for
-- --explain), or nil when the weights file exists and must be read: shapes,
-- MACs and memory do not depend on weight values. Only a file that does not
-- exist at all (no directory entry, not even a dangling link) is left out; a
-- file that exists but cannot be read or parsed is still an error.
function M.absent_note(model)
  local unneeded = "--explain does not need it: shapes, MACs and memory do not depend on weight values"
  if not model.weights_path then
    return { text = "the description names no weights file; " .. unneeded }
  end
  local _, _, errno = require("lfs").symlinkattributes(model.weights_path)
  local ENOENT = 2
  if errno ~= ENOENT then return nil end
  local looked = model.weights_path ~= model.weights_file
    and string.format(" (looked for %s)", model.weights_path) or ""
  return { line = model.weights_line, text = string.format("weights %s not found%s; %s",
    errors.describe(model.weights_file, 200), looked, unneeded) }
end

--- The model with the tensors of its safetensors file.
-- Errors point at the layer that wants a tensor, or at the `weights` field.
function M.attach_file(model, opts)
  local path = model.path
  local file, sha256 = read_file(model, opts)
  local file_label = errors.describe(model.weights_file, 200)
  local used = {}
  local function take(layer, name, shape, line, what, spec)
    local t = file.tensors[name]
    if not t then
      errors.raise(path, line or layer.line, string.format("%s%s tensor %s not found in %s; %s",
        errors.layer_prefix(layer), what, errors.describe(name), file_label,
        missing_hint(file, name, shape, used, what)))
    end
    if used[name] then
      errors.raise(path, line or layer.line, string.format("%s%s tensor %s is already used by layer %d; "
        .. "each layer needs its own tensor", errors.layer_prefix(layer), what, errors.describe(name),
        used[name]))
    end
    if spec and spec.ignored then
      used[name] = layer.index
      return nil
    end
    if t.dtype ~= "F32" then
      errors.raise(path, line or layer.line, string.format("%s%s tensor %s has dtype %s; lenetgen needs F32 "
        .. "(convert it, e.g. tensor.float() in PyTorch)", errors.layer_prefix(layer), what, errors.describe(name),
        t.dtype))
    end
    local function same(want)
      local same_shape = #t.shape == #want
      for i = 1, #want do same_shape = same_shape and t.shape[i] == want[i] end
      return same_shape
    end
    local ok = same(shape)
    for _, alternative in ipairs(spec and spec.shapes or {}) do
      if same(alternative) then ok, shape = true, alternative end
    end
    if not ok and spec then
      errors.raise(path, line or layer.line, string.format("%s%s tensor %s has shape %s: %s",
        errors.layer_prefix(layer), what, errors.describe(name), geometry.shape_list(t.shape),
        spec.shape_error and spec.shape_error(t.shape) or string.format("expected %s; export the weights again",
          geometry.shape_list(shape))))
    end
    if not ok then
      errors.raise(path, line or layer.line, string.format("%s%s tensor %s has shape %s, expected %s: %s",
        errors.layer_prefix(layer), what, errors.describe(name), geometry.shape_list(t.shape),
        geometry.shape_list(shape), shape_difference(layer, what, t.shape, shape)))
    end
    used[name] = layer.index
    return new_tensor(shape, t.data, t.raw, t.nonfinite)
  end
  local found = {}
  for _, layer in ipairs(model.layers) do
    if has_params(layer) then
      local wshape, bshape = expected_shapes(layer)
      local t = { weight = take(layer, layer.weight_name, wshape, layer.weight_line, "weight") }
      if layer.bias then
        t.bias = take(layer, layer.bias_name, bshape, layer.bias_line, "bias")
      end
      found[layer.index] = t
    end
    local specs = ops.of(layer.type).tensor_specs
    if specs then
      local extra = {}
      for _, spec in ipairs(specs(layer)) do
        if file.tensors[spec.name] or not spec.optional then
          extra[spec.key] = take(layer, spec.name, spec.shape, layer.line, spec.key, spec)
        end
      end
      local check_values = ops.of(layer.type).check_values
      local msg = check_values and check_values(layer, extra)
      if msg then errors.raise(path, layer.line, errors.layer_prefix(layer) .. msg) end
      found[layer.index] = { extra = extra }
    end
  end
  check_all_used(model, file, used, file_label)
  return with_tensors(model, found, { weights_sha256 = sha256 })
end

return M
