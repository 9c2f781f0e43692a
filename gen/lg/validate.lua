--- Stage 2: check a raw description and infer every layer's shapes.
-- Input: the raw table from lg.load plus its line map. Output: the model table
-- of the internal contract (layers with index, line, normalised {h, w} pairs,
-- in_shape and out_shape). Every mistake is reported once, with the line of the
-- offending field and a message that says what to change.
local errors = require("lg.errors")
local linemap = require("lg.linemap")

local M = {}

M.LIMITS = {
  max_dim = 4096,          -- input height/width
  max_channels = 4096,
  max_features = 1000000,
  max_kernel = 64,
  max_stride = 64,
  max_padding = 64,
  max_layers = 256,
}

local C_KEYWORDS = {}
for kw in ([[auto break case char const continue default do double else enum extern float for
  goto if inline int long register restrict return short signed sizeof static struct switch
  typedef union unsigned void volatile while _Bool _Complex _Imaginary]]):gmatch("%S+") do
  C_KEYWORDS[kw] = true
end

M.LAYER_FIELDS = {
  conv2d = { type = true, out_channels = true, kernel = true, stride = true, padding = true,
             bias = true, weight = true, unroll = true },
  linear = { type = true, out_features = true, bias = true, weight = true, unroll = true },
  avgpool2d = { type = true, kernel = true, stride = true, padding = true, unroll = true },
  maxpool2d = { type = true, kernel = true, stride = true, padding = true, unroll = true },
  sigmoid = { type = true }, relu = { type = true }, tanh = { type = true },
  flatten = { type = true },
}
M.UNROLL_LEVELS = { full = true, kernel = true, none = true }
local TOP_FIELDS = { name = true, input = true, weights = true, layers = true }
local INPUT_FIELDS = { channels = true, height = true, width = true }

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local function describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  return "a " .. type(v)
end

local function is_int(v)
  return math.type(v) == "integer" or (math.type(v) == "float" and v == math.floor(v) and v == v
    and math.abs(v) < 2^53)
end

--- Context object: knows the file, line map and current layer for messages.
local function context(path, lines)
  local ctx = {}
  function ctx.fail(field_path, msg, layer)
    local prefix = layer and errors.layer_prefix(layer) or ""
    errors.raise(path, linemap.lookup(lines, field_path), prefix .. msg)
  end
  return ctx
end

--- An integer field within [lo, hi].
local function check_int(ctx, v, fpath, name, lo, hi, layer)
  if not is_int(v) then
    ctx.fail(fpath, string.format("%s must be an integer, got %s", name, describe(v)), layer)
  end
  v = math.tointeger(v)
  if v < lo then
    ctx.fail(fpath, string.format("%s must be at least %d, got %d", name, lo, v), layer)
  end
  if v > hi then
    ctx.fail(fpath, string.format("%s must be at most %d, got %d", name, hi, v), layer)
  end
  return v
end

--- A field that is a number or {h, w}; returns {h = , w = }.
local function check_pair(ctx, v, fpath, name, lo, hi, layer)
  if type(v) == "table" then
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    if n ~= 2 or v[1] == nil or v[2] == nil then
      ctx.fail(fpath, string.format("%s must be a number or a pair {h, w}, got a table of %d entries",
        name, n), layer)
    end
    return { h = check_int(ctx, v[1], fpath, name .. " height", lo, hi, layer),
             w = check_int(ctx, v[2], fpath, name .. " width", lo, hi, layer) }
  end
  if not is_int(v) then
    ctx.fail(fpath, string.format("%s must be an integer or a pair {h, w}, got %s", name, describe(v)), layer)
  end
  local n = check_int(ctx, v, fpath, name, lo, hi, layer)
  return { h = n, w = n }
end

local function pair_text(p) return string.format("%dx%d", p.h, p.w) end

local function shape_text(s)
  if #s == 1 then return string.format("%d", s[1]) end
  return string.format("%dx%dx%d", s[1], s[2], s[3])
end
M.shape_text = shape_text

--- Check the fields of one layer (not its shapes).
local function check_layer(ctx, raw, k)
  local fpath = "layers." .. k
  if type(raw) ~= "table" then
    ctx.fail(fpath, string.format("layer %d: must be a table such as { type = \"relu\" }, got %s",
      k - 1, describe(raw)))
  end
  local layer = { index = k - 1, type = raw.type, line = linemap.lookup(ctx.lines, fpath) }
  if type(raw.type) ~= "string" then
    ctx.fail(fpath, string.format("layer %d: type must be a string such as \"conv2d\", got %s",
      k - 1, describe(raw.type)))
  end
  local allowed = M.LAYER_FIELDS[raw.type]
  if not allowed then
    ctx.fail(fpath .. ".type", string.format("unknown layer type %q (known: %s)", raw.type,
      table.concat(sorted_keys(M.LAYER_FIELDS), ", ")), layer)
  end
  for _, key in ipairs(sorted_keys(raw)) do
    if not allowed[key] then
      local where = type(key) == "string" and (fpath .. "." .. key) or fpath
      ctx.fail(where, string.format("unknown field %s (%s takes: %s)", describe(key), raw.type,
        table.concat(sorted_keys(allowed), ", ")), layer)
    end
  end
  local L = M.LIMITS
  local t = raw.type
  if t == "conv2d" or t == "linear" then
    local count_field = (t == "conv2d") and "out_channels" or "out_features"
    if raw[count_field] == nil then
      ctx.fail(fpath, count_field .. " is required", layer)
    end
    layer[count_field] = check_int(ctx, raw[count_field], fpath .. "." .. count_field, count_field, 1,
      t == "conv2d" and L.max_channels or L.max_features, layer)
    local bias = raw.bias
    if bias == nil then bias = true end
    if type(bias) ~= "boolean" and type(bias) ~= "string" then
      ctx.fail(fpath .. ".bias", "bias must be true, false or a tensor name, got " .. describe(bias), layer)
    end
    if raw.weight ~= nil and type(raw.weight) ~= "string" then
      ctx.fail(fpath .. ".weight", "weight must be a tensor name (a string), got " .. describe(raw.weight), layer)
    end
    layer.bias = bias ~= false
    layer.weight_name = raw.weight or string.format("%d.weight", k - 1)
    layer.bias_name = layer.bias and (type(bias) == "string" and bias or string.format("%d.bias", k - 1)) or nil
    layer.weight_line = linemap.lookup(ctx.lines, fpath .. ".weight")
    layer.bias_line = linemap.lookup(ctx.lines, fpath .. ".bias")
  end
  if t == "conv2d" or t == "avgpool2d" or t == "maxpool2d" then
    if raw.kernel == nil then ctx.fail(fpath, "kernel is required", layer) end
    layer.kernel = check_pair(ctx, raw.kernel, fpath .. ".kernel", "kernel", 1, L.max_kernel, layer)
    local default_stride = (t == "conv2d") and 1 or nil
    if raw.stride == nil then
      layer.stride = default_stride and { h = 1, w = 1 } or { h = layer.kernel.h, w = layer.kernel.w }
    else
      layer.stride = check_pair(ctx, raw.stride, fpath .. ".stride", "stride", 1, L.max_stride, layer)
    end
    if raw.padding == nil then
      layer.padding = { h = 0, w = 0 }
    else
      layer.padding = check_pair(ctx, raw.padding, fpath .. ".padding", "padding", 0, L.max_padding, layer)
    end
    if t ~= "conv2d" then
      -- PyTorch refuses pooling padding above half the kernel: a window could then
      -- lie entirely in the padding, where max-pool has no value to take.
      for _, axis in ipairs({ "h", "w" }) do
        if 2 * layer.padding[axis] > layer.kernel[axis] then
          ctx.fail(fpath .. ".padding", string.format("padding %s is more than half of kernel %s "
            .. "(PyTorch refuses this too)", pair_text(layer.padding), pair_text(layer.kernel)), layer)
        end
      end
    end
  end
  if raw.unroll ~= nil then
    if not M.UNROLL_LEVELS[raw.unroll] then
      ctx.fail(fpath .. ".unroll", "unroll must be \"full\", \"kernel\" or \"none\", got " .. describe(raw.unroll), layer)
    end
    layer.unroll = raw.unroll
  end
  return layer
end

--- Infer the shape after `layer` from `shape` ({c, h, w} or {n}).
local function infer(ctx, layer, shape, prev)
  local fpath = "layers." .. (layer.index + 1)
  local t = layer.type
  local after = prev and string.format(" after layer %d (%s)", prev.index, prev.type) or ""
  if t == "conv2d" or t == "avgpool2d" or t == "maxpool2d" then
    if #shape ~= 3 then
      ctx.fail(fpath, string.format("input is flat (%d values)%s; %s needs a channels x height x width input",
        shape[1], after, t), layer)
    end
    local out = {}
    for i, axis in ipairs({ "h", "w" }) do
      local n, k, s, p = shape[i + 1], layer.kernel[axis], layer.stride[axis], layer.padding[axis]
      if k > n + 2 * p then
        ctx.fail(fpath .. ".kernel", string.format("output vanishes: kernel %s is larger than the padded "
          .. "input %dx%d (input %dx%d, padding %s)", pair_text(layer.kernel),
          shape[2] + 2 * layer.padding.h, shape[3] + 2 * layer.padding.w, shape[2], shape[3],
          pair_text(layer.padding)), layer)
      end
      out[i] = (n + 2 * p - k) // s + 1
    end
    local c = (t == "conv2d") and layer.out_channels or shape[1]
    return { c, out[1], out[2] }
  elseif t == "linear" then
    if #shape ~= 1 then
      ctx.fail(fpath, string.format("input is %s%s; add { type = \"flatten\" } before a linear layer",
        shape_text(shape), after), layer)
    end
    return { layer.out_features }
  elseif t == "flatten" then
    if #shape == 1 then return { shape[1] } end
    return { shape[1] * shape[2] * shape[3] }
  end
  return { table.unpack(shape) }
end

--- Validate a raw description.
-- @param raw table returned by the description
-- @param path description path (for messages and to resolve `weights`)
-- @param lines line map from lg.linemap
-- @return model table (see the internal contract)
function M.validate(raw, path, lines)
  local ctx = context(path, lines)
  ctx.lines = lines
  for _, key in ipairs(sorted_keys(raw)) do
    if not TOP_FIELDS[key] then
      ctx.fail(type(key) == "string" and key or "", string.format("unknown top-level field %s "
        .. "(a description has: input, layers, name, weights)", describe(key)))
    end
  end
  if type(raw.name) ~= "string" or not raw.name:match("^[%a_][%w_]*$") then
    ctx.fail("name", "name must be a C identifier such as \"lenet5\", got " .. describe(raw.name))
  end
  if #raw.name > 40 or C_KEYWORDS[raw.name] or raw.name:match("^_[%u_]") then
    ctx.fail("name", string.format("name %q cannot prefix C symbols (a C keyword, reserved, or longer "
      .. "than 40 characters)", raw.name))
  end
  if type(raw.input) ~= "table" then
    ctx.fail("input", "input must be a table { channels = C, height = H, width = W }, got " .. describe(raw.input))
  end
  for _, key in ipairs(sorted_keys(raw.input)) do
    if not INPUT_FIELDS[key] then
      ctx.fail("input." .. tostring(key), string.format("input: unknown field %s (input takes: channels, "
        .. "height, width)", describe(key)))
    end
  end
  local input = {}
  for _, key in ipairs({ "channels", "height", "width" }) do
    if raw.input[key] == nil then ctx.fail("input", "input." .. key .. " is required") end
    input[key] = check_int(ctx, raw.input[key], "input." .. key, "input." .. key, 1,
      key == "channels" and M.LIMITS.max_channels or M.LIMITS.max_dim)
  end
  if raw.weights ~= nil and type(raw.weights) ~= "string" then
    ctx.fail("weights", "weights must be a file name (a string), got " .. describe(raw.weights))
  end
  if type(raw.layers) ~= "table" then
    ctx.fail("layers", "layers must be a list of layer tables, got " .. describe(raw.layers))
  end
  local count = #raw.layers
  for _, key in ipairs(sorted_keys(raw.layers)) do
    if math.type(key) ~= "integer" or key < 1 or key > count then
      ctx.fail("layers", "layers must be a list (no named entries or holes), found key " .. describe(key))
    end
  end
  if count == 0 then ctx.fail("layers", "layers is empty; a network needs at least one layer") end
  if count > M.LIMITS.max_layers then
    ctx.fail("layers", string.format("%d layers is more than the limit of %d", count, M.LIMITS.max_layers))
  end

  local dir = path:match("^(.*)/[^/]*$")
  local model = {
    path = path,
    name = raw.name,
    input = input,
    weights_file = raw.weights,
    weights_path = raw.weights and ((dir and raw.weights:sub(1, 1) ~= "/") and (dir .. "/" .. raw.weights)
      or raw.weights) or nil,
    weights_line = linemap.lookup(lines, "weights"),
    layers = {},
  }
  local shape = { input.channels, input.height, input.width }
  local prev
  for k = 1, count do
    local layer = check_layer(ctx, raw.layers[k], k)
    layer.in_shape = shape
    layer.out_shape = infer(ctx, layer, shape, prev)
    shape = layer.out_shape
    model.layers[k] = layer
    prev = layer
  end
  model.output_shape = shape
  return model
end

return M
