--- Stage 2: check a raw description and infer every layer's shapes.
-- Input: the raw table from lg.load plus its line map. Output: the model table
-- of the internal contract (layers with index, line, normalised {h, w} pairs,
-- in_shape and out_shape). Every mistake is reported once, with the line of the
-- offending field and a message that says what to change.
--
-- The table is untrusted: any value may have any type, tables may be huge or
-- cyclic, strings may hold control characters. Every walk over a table is
-- linear (no sorting of all keys), and when several fields are wrong the one
-- written first in the file is reported.
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
  -- 16 Mi float32 values = 64 MB: no layer output (activation) may be larger.
  max_values = 16 * 1024 * 1024,
  -- 1 Mi parameters = 4 MB of float32 weights, more than the flash of the
  -- largest microcontrollers (LeNet-5 has 61,706). It keeps a typo
  -- (out_features = 1000000) from generating gigabytes of weights: the emitter
  -- writes about 15 MB of C and needs about 13 s per million parameters.
  max_parameters = 1024 * 1024,
}

local C_KEYWORDS = {}
for kw in ([[auto break case char const continue default do double else enum extern float for
  goto if inline int long register restrict return short signed sizeof static struct switch
  typedef union unsigned void volatile while _Bool _Complex _Imaginary]]):gmatch("%S+") do
  C_KEYWORDS[kw] = true
end

-- <name>.h must not hide a standard header: the generated .c includes <math.h>.
local C_HEADERS = {}
for h in ([[assert complex ctype errno fenv float inttypes iso646 limits locale math setjmp
  signal stdalign stdarg stdatomic stdbool stddef stdint stdio stdlib stdnoreturn string
  tgmath threads time uchar wchar wctype]]):gmatch("%S+") do
  C_HEADERS[h] = true
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

-- Layer types of other frameworks (PyTorch, ONNX, Keras), keyed in lower case without
-- underscores, with what to write instead. A hint names a lenetgen layer only where it
-- computes the same thing; a different function gets advice, never a look-alike name.
local NOT_2D = "lenetgen works on 2-D images (channels x height x width) only; %s is a different layer"
local OTHER_ACTIVATION = "this activation is not supported, and relu, sigmoid and tanh are different "
  .. "functions: train the model with one of them"
local GLOBAL_POOL = "adaptive and global pooling are not supported; where the output size divides the "
  .. "input, use %s with kernel and stride equal to input/output (global pooling: kernel = the "
  .. "input's height and width)"
local TYPE_HINTS = {
  conv = "did you mean \"conv2d\"?", convolution = "did you mean \"conv2d\"?",
  dense = "did you mean \"linear\"?", fc = "did you mean \"linear\"?",
  fullyconnected = "did you mean \"linear\"?", gemm = "did you mean \"linear\"?",
  avgpool = "did you mean \"avgpool2d\"?", averagepool = "did you mean \"avgpool2d\"?",
  maxpool = "did you mean \"maxpool2d\"?",
  softmax = "softmax is not supported: the network outputs the last layer's values (logits); "
    .. "take the argmax, or apply softmax in your own code",
  dropout = "dropout does nothing at inference: remove it (PyTorch still counted it in the tensor "
    .. "names, so name the tensors of later layers with weight = \"...\" and bias = \"...\")",
  identity = "identity does nothing: remove it (if PyTorch counted it in the tensor names, name the "
    .. "tensors of later layers with weight = \"...\" and bias = \"...\")",
  batchnorm2d = "batch normalisation is not supported: fold it into the conv2d before it (weight "
    .. "times gamma/sqrt(var + eps) per output channel, bias (b - mean) * gamma/sqrt(var + eps) + "
    .. "beta, with bias = true on that conv2d) and export again",
  relu6 = "relu6 (min(max(x, 0), 6)) is not supported, and relu is a different function (no upper "
    .. "clamp): train the model with relu, sigmoid or tanh",
  reshape = "only flattening is supported: use \"flatten\" before the first linear layer",
}
TYPE_HINTS.softmax2d, TYPE_HINTS.logsoftmax = TYPE_HINTS.softmax, TYPE_HINTS.softmax
TYPE_HINTS.view = TYPE_HINTS.reshape
for _, name in ipairs({ "dropout1d", "dropout2d", "dropout3d", "alphadropout", "featurealphadropout" }) do
  TYPE_HINTS[name] = TYPE_HINTS.dropout
end
for _, name in ipairs({ "batchnorm", "bn", "batchnorm1d", "batchnormalization" }) do
  TYPE_HINTS[name] = TYPE_HINTS.batchnorm2d
end
TYPE_HINTS.hardtanh, TYPE_HINTS.clip = TYPE_HINTS.relu6, TYPE_HINTS.relu6
for _, name in ipairs({ "leakyrelu", "prelu", "rrelu", "elu", "celu", "selu", "gelu", "silu", "swish",
  "hardswish", "hardsigmoid", "mish", "softplus", "softsign", "tanhshrink", "hardshrink",
  "softshrink", "logsigmoid", "threshold" }) do
  TYPE_HINTS[name] = OTHER_ACTIVATION
end
for _, pair in ipairs({ { "conv1d", "conv2d" }, { "conv3d", "conv2d" }, { "convtranspose1d", "conv2d" },
  { "convtranspose2d", "conv2d" }, { "convtranspose3d", "conv2d" }, { "convtranspose", "conv2d" },
  { "maxpool1d", "maxpool2d" }, { "maxpool3d", "maxpool2d" }, { "avgpool1d", "avgpool2d" },
  { "avgpool3d", "avgpool2d" }, { "batchnorm3d", "batchnorm2d" } }) do
  TYPE_HINTS[pair[1]] = NOT_2D:format(pair[2])
end
for _, name in ipairs({ "adaptiveavgpool1d", "adaptiveavgpool2d", "globalaveragepool", "globalavgpool",
  "globalaveragepooling2d" }) do
  TYPE_HINTS[name] = GLOBAL_POOL:format("avgpool2d")
end
for _, name in ipairs({ "adaptivemaxpool1d", "adaptivemaxpool2d", "globalmaxpool", "globalmaxpooling2d" }) do
  TYPE_HINTS[name] = GLOBAL_POOL:format("maxpool2d")
end

--- The hint for a foreign layer type, if it is one: case, underscores and blanks ignored
-- (LeakyReLU, leaky_relu and leakyrelu are one name).
local function foreign_type_hint(t)
  return TYPE_HINTS[(t:lower():gsub("[_%s%-]", ""))]
end

--- Whether a typo-suggestion for a layer type is safe: a different digit is a
-- different layer (conv1d is not conv2d, relu6 is not relu).
local function same_digits(a, b)
  return a:gsub("%D", "") == b:gsub("%D", "")
end

local FIELD_HINTS = {
  in_channels = "the input channel count is inferred from the layer before; remove it",
  in_features = "the input size is inferred from the layer before; remove it",
  kernel_size = "did you mean kernel?", pool_size = "did you mean kernel?",
  strides = "did you mean stride?", filters = "did you mean out_channels?",
  units = "did you mean out_features?", use_bias = "did you mean bias?",
  activation = "an activation is a layer of its own: add { type = \"relu\" } after this one",
  dilation = "dilation is not supported", groups = "grouped convolution is not supported",
}

local function keys_of(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end

local describe = errors.describe

local function is_int(v)
  return math.type(v) == "integer" or (math.type(v) == "float" and v == math.floor(v)
    and math.abs(v) < 2^53)
end

--- The key of `t` for which `bad(key)` holds that was written first in the
-- file (then by type and text), or nil. Linear in the size of t.
local function first_bad_key(t, bad, lines, prefix)
  local best, best_line, best_text
  for key in pairs(t) do
    if bad(key) then
      local line = lines[prefix .. tostring(key)] or math.huge
      local text = type(key) .. ":" .. (type(key) == "table" and "" or tostring(key))
      if best == nil or line < best_line or (line == best_line and text < best_text) then
        best, best_line, best_text = key, line, text
      end
    end
  end
  return best
end

--- Context object: knows the file, line map and current layer for messages.
local function context(path, lines)
  local ctx = { lines = lines }
  function ctx.fail(field_path, msg, layer)
    local prefix = layer and errors.layer_prefix(layer) or ""
    errors.raise(path, linemap.lookup(lines, field_path), prefix .. msg)
  end
  return ctx
end

--- An integer field within [lo, hi].
local function check_int(ctx, v, fpath, name, lo, hi, layer)
  if type(v) ~= "number" then
    ctx.fail(fpath, string.format("%s must be an integer, got %s", name, describe(v)), layer)
  end
  if v ~= v or not is_int(v) and math.abs(v) < 2^53 then
    ctx.fail(fpath, string.format("%s must be a whole number, got %s", name, describe(v)), layer)
  end
  if v < lo or v > hi then
    ctx.fail(fpath, string.format("%s must be between %d and %d, got %s", name, lo, hi, describe(v)),
      layer)
  end
  return math.tointeger(v)
end

--- A field that is a number or {h, w}; returns {h = , w = }.
local function check_pair(ctx, v, fpath, name, lo, hi, layer)
  if type(v) == "table" then
    local n, named = 0, false
    for k in pairs(v) do
      n = n + 1
      if math.type(k) ~= "integer" then named = true end
    end
    if n ~= 2 or v[1] == nil or v[2] == nil then
      local got = string.format("a table with %d entr%s", n, n == 1 and "y" or "ies")
      if named then got = "a table with named entries" end
      ctx.fail(fpath, string.format("%s must be a number or a pair {height, width} such as { 3, 5 }, "
        .. "got %s", name, got), layer)
    end
    return { h = check_int(ctx, v[1], fpath, name .. " height", lo, hi, layer),
             w = check_int(ctx, v[2], fpath, name .. " width", lo, hi, layer) }
  end
  if type(v) ~= "number" then
    ctx.fail(fpath, string.format("%s must be an integer or a pair {height, width}, got %s", name,
      describe(v)), layer)
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

local function unknown_type_message(t)
  local known = keys_of(M.LAYER_FIELDS)
  local hint = type(t) == "string" and foreign_type_hint(t)
  if not hint then
    local guess = errors.suggest(t, known)
    if guess and same_digits(t, guess) then hint = string.format("did you mean %s?", describe(guess)) end
  end
  return string.format("unknown layer type %s%s (known types: %s)", describe(t),
    hint and ("; " .. hint) or "", table.concat(known, ", "))
end

local function unknown_field_message(key, owner, allowed)
  local names = keys_of(allowed)
  local hint = type(key) == "string" and FIELD_HINTS[key]
  if not hint then
    local guess = errors.suggest(key, names)
    hint = guess and string.format("did you mean %s?", guess)
  end
  if math.type(key) == "integer" then
    return string.format("a value without a name (entry %d); write every field as name = value "
      .. "(%s takes: %s)", key, owner, table.concat(names, ", "))
  end
  return string.format("unknown field %s%s (%s takes: %s)", describe(key),
    hint and ("; " .. hint) or "", owner, table.concat(names, ", "))
end

--- Check the fields of one layer (not its shapes).
local function check_layer(ctx, raw, k)
  local fpath = "layers." .. k
  if type(raw) ~= "table" then
    ctx.fail(fpath, string.format("layer %d: must be a table such as { type = \"relu\" }, got %s",
      k - 1, describe(raw)))
  end
  local layer = { index = k - 1, type = raw.type, line = linemap.lookup(ctx.lines, fpath) }
  if raw.type == nil then
    ctx.fail(fpath, string.format("layer %d: type is missing; add type = \"conv2d\" (or %s)", k - 1,
      table.concat(keys_of(M.LAYER_FIELDS), ", ")))
  end
  if type(raw.type) ~= "string" then
    ctx.fail(fpath .. ".type", string.format("layer %d: type must be a string such as \"conv2d\", got %s",
      k - 1, describe(raw.type)))
  end
  local allowed = M.LAYER_FIELDS[raw.type]
  if not allowed then
    ctx.fail(fpath .. ".type", unknown_type_message(raw.type), layer)
  end
  local bad = first_bad_key(raw, function(key) return not allowed[key] end, ctx.lines, fpath .. ".")
  if bad ~= nil then
    local where = (type(bad) == "string" or math.type(bad) == "integer") and (fpath .. "." .. bad) or fpath
    ctx.fail(where, unknown_field_message(bad, raw.type, allowed), layer)
  end
  local L = M.LIMITS
  local t = raw.type
  if t == "conv2d" or t == "linear" then
    local count_field = (t == "conv2d") and "out_channels" or "out_features"
    if raw[count_field] == nil then
      ctx.fail(fpath, string.format("%s is required (the number of output %s), e.g. %s = 16",
        count_field, t == "conv2d" and "channels" or "values", count_field), layer)
    end
    layer[count_field] = check_int(ctx, raw[count_field], fpath .. "." .. count_field, count_field, 1,
      t == "conv2d" and L.max_channels or L.max_features, layer)
    local bias = raw.bias
    if bias == nil then bias = true end
    if type(bias) ~= "boolean" and type(bias) ~= "string" then
      ctx.fail(fpath .. ".bias", "bias must be true, false or a tensor name (a string), got "
        .. describe(bias), layer)
    end
    if raw.weight ~= nil and type(raw.weight) ~= "string" then
      ctx.fail(fpath .. ".weight", "weight must be a tensor name (a string such as \"conv1.weight\"), got "
        .. describe(raw.weight), layer)
    end
    if raw.weight == "" or bias == "" then
      ctx.fail(fpath .. (raw.weight == "" and ".weight" or ".bias"), "a tensor name cannot be empty; "
        .. "remove the field to use the default name", layer)
    end
    layer.bias = bias ~= false
    layer.weight_name = raw.weight or string.format("%d.weight", k - 1)
    layer.bias_name = layer.bias and (type(bias) == "string" and bias or string.format("%d.bias", k - 1)) or nil
    layer.weight_line = linemap.lookup(ctx.lines, fpath .. ".weight")
    layer.bias_line = linemap.lookup(ctx.lines, fpath .. ".bias")
  end
  if t == "conv2d" or t == "avgpool2d" or t == "maxpool2d" then
    if raw.kernel == nil then
      ctx.fail(fpath, "kernel is required: a size such as kernel = 3, or { height, width }", layer)
    end
    layer.kernel = check_pair(ctx, raw.kernel, fpath .. ".kernel", "kernel", 1, L.max_kernel, layer)
    if raw.stride == nil then
      -- PyTorch's defaults: 1 for a convolution, the kernel for pooling
      layer.stride = (t == "conv2d") and { h = 1, w = 1 } or { h = layer.kernel.h, w = layer.kernel.w }
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
            .. "(PyTorch refuses this too); use padding %dx%d or less", pair_text(layer.padding),
            pair_text(layer.kernel), layer.kernel.h // 2, layer.kernel.w // 2), layer)
        end
      end
    end
  end
  if raw.unroll ~= nil then
    if type(raw.unroll) ~= "string" or not M.UNROLL_LEVELS[raw.unroll] then
      ctx.fail(fpath .. ".unroll", "unroll must be \"full\", \"kernel\" or \"none\", got " .. describe(raw.unroll),
        layer)
    end
    layer.unroll = raw.unroll
  end
  return layer
end

local function elements(shape)
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  return n
end

--- Infer the shape after `layer` from `shape` ({c, h, w} or {n}).
local function infer(ctx, layer, shape, prev)
  local fpath = "layers." .. (layer.index + 1)
  local t = layer.type
  local after = prev and string.format(" after layer %d (%s)", prev.index, prev.type) or ""
  if t == "conv2d" or t == "avgpool2d" or t == "maxpool2d" then
    if #shape ~= 3 then
      ctx.fail(fpath, string.format("input is flat (%d values)%s, but %s needs a channels x height x "
        .. "width input; move the flatten after the last convolution or pooling layer", shape[1], after, t),
        layer)
    end
    local out = {}
    for i, axis in ipairs({ "h", "w" }) do
      local n, k, s, p = shape[i + 1], layer.kernel[axis], layer.stride[axis], layer.padding[axis]
      if k > n + 2 * p then
        ctx.fail(fpath .. ".kernel", string.format("output vanishes: kernel %s is larger than the padded "
          .. "input %dx%d (input %dx%d, padding %s); use a smaller kernel or more padding, or remove a "
          .. "pooling layer before it", pair_text(layer.kernel), shape[2] + 2 * layer.padding.h,
          shape[3] + 2 * layer.padding.w, shape[2], shape[3], pair_text(layer.padding)), layer)
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

--- Parameters (weights and bias values) of a checked layer with known shapes.
local function parameters(layer)
  if layer.type == "conv2d" then
    return layer.out_channels * (layer.in_shape[1] * layer.kernel.h * layer.kernel.w
      + (layer.bias and 1 or 0))
  elseif layer.type == "linear" then
    return layer.out_features * (layer.in_shape[1] + (layer.bias and 1 or 0))
  end
  return 0
end

-- Identifiers the generator derives from a name N (upper-cased as NAME):
-- files N.h and N.c, the guard NAME_H, macros NAME_INPUT_SIZE ... NAME_TRACE
-- (NAME, "_" and an upper-case letter), functions with external linkage
-- N_infer, N_infer_scratch and N_trace, and file-scope N_arena, N_layer<i>_...
-- Names whose derived identifiers C reserves are refused, so every accepted
-- name compiles next to every standard header (tests/test_names.lua).
-- C99 7.26 (future library directions) reserves these prefixes; C11's are
-- included because the header may be compiled as C11 or C++ too.
local RESERVED_MACRO_PREFIXES = {   -- matched against NAME .. "_X"
  { "^E[%d%u]", "E and a digit or an upper-case letter", "<errno.h>" },
  { "^SIG_?%u", "SIG or SIG_ and an upper-case letter", "<signal.h>" },
  { "^LC_%u", "LC_ and an upper-case letter", "<locale.h>" },
  { "^FE_%u", "FE_ and an upper-case letter", "<fenv.h>" },
  { "^PRIX", "PRIX", "<inttypes.h>" },
  { "^SCNX", "SCNX", "<inttypes.h>" },
  { "^ATOMIC_%u", "ATOMIC_ and an upper-case letter", "<stdatomic.h>" },
  { "^TIME_%u", "TIME_ and an upper-case letter", "<time.h>" },
}
local RESERVED_FUNCTION_PREFIXES = { -- matched against N .. "_infer"
  { "^is%l", "is and a lower-case letter", "<ctype.h>" },
  { "^to%l", "to and a lower-case letter", "<ctype.h>" },
  { "^str%l", "str and a lower-case letter", "<stdlib.h> and <string.h>" },
  { "^mem%l", "mem and a lower-case letter", "<string.h>" },
  { "^wcs%l", "wcs and a lower-case letter", "<string.h> and <wchar.h>" },
  { "^atomic_%l", "atomic_ and a lower-case letter", "<stdatomic.h>" },
  { "^memory_order_%l", "memory_order_ and a lower-case letter", "<stdatomic.h>" },
  { "^cnd_%l", "cnd_ and a lower-case letter", "<threads.h>" },
  { "^mtx_%l", "mtx_ and a lower-case letter", "<threads.h>" },
  { "^thrd_%l", "thrd_ and a lower-case letter", "<threads.h>" },
  { "^tss_%l", "tss_ and a lower-case letter", "<threads.h>" },
}

--- Why a C identifier cannot be a network name (a phrase completing
-- "name \"x\" ..."), or nil when it can.
function M.reserved_name_reason(name)
  if C_KEYWORDS[name] then return "is a C keyword" end
  local upper = name:upper()
  if name:sub(1, 1) == "_" then
    return string.format("starts with _: C reserves such names for its library, and the guard %s_H "
      .. "and macros such as %s_INPUT_SIZE could clash with it (glibc's <math.h> uses _MATH_H)", upper,
      upper)
  end
  if name:find("__", 1, true) or name:sub(-1) == "_" then
    return string.format("would make identifiers with a double underscore (%s_infer), which C++ "
      .. "reserves (the header is usable from C++)", name)
  end
  if C_HEADERS[name:lower()] then
    return string.format("would write %s.h, which hides the C library's <%s.h>%s", name, name:lower(),
      name == name:lower() and "" or " on case-insensitive file systems")
  end
  local lower = name:lower()
  if lower == "lg" or lower:match("^lg_") or lower:match("^lenetgen") then
    return "starts like the generator's own helpers (lenetgen_expf, LG_MAC)"
  end
  for _, r in ipairs(RESERVED_MACRO_PREFIXES) do
    if (upper .. "_X"):match(r[1]) then
      return string.format("would define the macro %s_INPUT_SIZE, and C reserves macros that begin "
        .. "with %s for %s", upper, r[2], r[3])
    end
  end
  for _, r in ipairs(RESERVED_FUNCTION_PREFIXES) do
    if (name .. "_infer"):match(r[1]) then
      return string.format("would define the function %s_infer, and C reserves external names that "
        .. "begin with %s for %s", name, r[2], r[3])
    end
  end
  return nil
end

local function check_name(ctx, name)
  if name == nil then
    ctx.fail("", "name is missing; add name = \"mynet\" (a C identifier that prefixes every generated "
      .. "symbol and names the output files)")
  end
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    ctx.fail("name", "name must be a C identifier (letters, digits and _, not starting with a digit) "
      .. "such as \"lenet5\", got " .. describe(name))
  end
  if #name > 40 then
    ctx.fail("name", string.format("name is %d characters long; use at most 40 (it prefixes every "
      .. "generated symbol)", #name))
  end
  local reason = M.reserved_name_reason(name)
  if reason then
    ctx.fail("name", string.format("name %s %s; choose another name", describe(name), reason))
  end
end

--- Validate a raw description.
-- @param raw table returned by the description
-- @param path description path (for messages and to resolve `weights`)
-- @param lines line map from lg.linemap
-- @return model table (see the internal contract)
function M.validate(raw, path, lines)
  local ctx = context(path, lines)
  local bad = first_bad_key(raw, function(key) return not TOP_FIELDS[key] end, lines, "")
  if bad ~= nil then
    ctx.fail(type(bad) == "string" and bad or "", unknown_field_message(bad, "a description",
      TOP_FIELDS))
  end
  check_name(ctx, raw.name)
  if raw.input == nil then
    ctx.fail("", "input is missing; add input = { channels = 1, height = 28, width = 28 } (the size of "
      .. "the input image)")
  end
  if type(raw.input) ~= "table" then
    ctx.fail("input", "input must be a table { channels = C, height = H, width = W }, got " .. describe(raw.input))
  end
  bad = first_bad_key(raw.input, function(key) return not INPUT_FIELDS[key] end, lines, "input.")
  if bad ~= nil then
    ctx.fail((type(bad) == "string" or math.type(bad) == "integer") and ("input." .. bad) or "input",
      "input: " .. unknown_field_message(bad, "input", INPUT_FIELDS))
  end
  local input = {}
  for _, key in ipairs({ "channels", "height", "width" }) do
    if raw.input[key] == nil then
      ctx.fail("input", string.format("input.%s is required; input is { channels = C, height = H, "
        .. "width = W }", key))
    end
    input[key] = check_int(ctx, raw.input[key], "input." .. key, "input." .. key, 1,
      key == "channels" and M.LIMITS.max_channels or M.LIMITS.max_dim)
  end
  local input_values = input.channels * input.height * input.width
  if input_values > M.LIMITS.max_values then
    ctx.fail("input", string.format("the input has %d values (%dx%dx%d), more than the limit of %d; "
      .. "use a smaller input", input_values, input.channels, input.height, input.width,
      M.LIMITS.max_values))
  end
  if raw.weights ~= nil and (type(raw.weights) ~= "string" or raw.weights == "") then
    ctx.fail("weights", "weights must be a file name (a string such as \"lenet5.safetensors\", "
      .. "relative to the description), got " .. describe(raw.weights))
  end
  if raw.layers == nil then
    ctx.fail("", "layers is missing; add layers = { { type = \"conv2d\", out_channels = 6, kernel = 5 }, "
      .. "... }")
  end
  if type(raw.layers) ~= "table" then
    ctx.fail("layers", "layers must be a list of layer tables, got " .. describe(raw.layers))
  end
  local count = #raw.layers
  bad = first_bad_key(raw.layers, function(key)
    return math.type(key) ~= "integer" or key < 1 or key > count
  end, lines, "layers.")
  if bad ~= nil then
    ctx.fail((type(bad) == "string" or math.type(bad) == "integer") and ("layers." .. bad) or "layers",
      "layers must be a list { {...}, {...} } (no named entries or holes), found the key " .. describe(bad))
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
  local total_params = 0
  for k = 1, count do
    local layer = check_layer(ctx, raw.layers[k], k)
    layer.in_shape = shape
    layer.out_shape = infer(ctx, layer, shape, prev)
    local values = elements(layer.out_shape)
    if values > M.LIMITS.max_values then
      ctx.fail("layers." .. k, string.format("output %s has %d values, more than the limit of %d (64 MB "
        .. "of floats); use fewer channels or features, or a larger stride", shape_text(layer.out_shape),
        values, M.LIMITS.max_values), layer)
    end
    local params = parameters(layer)
    total_params = total_params + params
    if total_params > M.LIMITS.max_parameters then
      ctx.fail("layers." .. k, string.format("%d parameters bring the network to %d, more than the limit "
        .. "of %d (4 MB of float32 weights); use fewer channels or features", params, total_params,
        M.LIMITS.max_parameters), layer)
    end
    shape = layer.out_shape
    model.layers[k] = layer
    prev = layer
  end
  model.output_shape = shape
  return model
end

return M
