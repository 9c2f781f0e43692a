--- Stage 2: check a raw description and infer every layer's shapes.
-- Input: the raw table from lg.load plus its line map. Output: the model table
-- of lg.model without tensors (layers with index, line, normalised {h, w} pairs,
-- in_shape and out_shape). Every mistake is reported once, with the line of the
-- offending field and a message that says what to change.
--
-- The table is untrusted: any value may have any type, tables may be huge or
-- cyclic, strings may hold control characters. Every walk over a table is
-- linear (no sorting of all keys), and when several fields are wrong the one
-- written first in the file is reported.
local errors = require("lg.errors")
local geometry = require("lg.geometry")
local hints = require("lg.hints")
local interface = require("lg.interface")
local linemap = require("lg.linemap")
local ops = require("lg.ops")
local safetensors = require("lg.safetensors")

local M = {}

M.LIMITS = {
  max_dim = 4096,          -- input height/width
  max_channels = 4096,
  max_features = 1000000,
  max_kernel = 4096,
  max_stride = 64,
  max_padding = 64,
  max_dilation = 64,
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

M.UNROLL_LEVELS = { full = true, kernel = true, none = true }
local TOP_FIELDS = { name = true, input = true, weights = true, layers = true, labels = true, check = true }
local INPUT_FIELDS = { channels = true, height = true, width = true, normalize = true, description = true }

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

--- The validator an operator's check and infer receive: fail(field_path,
-- message, layer), int and pair (check_int and check_pair), fields (fails on
-- the first unknown field of a table, with a suggestion), limits, lines.
local function validator(ctx)
  ctx.limits = M.LIMITS
  function ctx.int(...) return check_int(ctx, ...) end
  function ctx.pair(...) return check_pair(ctx, ...) end
  function ctx.fields(t, allowed, fpath, owner)
    local bad = first_bad_key(t, function(key) return not allowed[key] end, ctx.lines, fpath .. ".")
    if bad ~= nil then
      ctx.fail((type(bad) == "string" or math.type(bad) == "integer") and (fpath .. "." .. bad) or fpath,
        owner .. ": " .. hints.unknown_field(bad, owner, allowed))
    end
  end
  return ctx
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
      table.concat(ops.type_names(), ", ")))
  end
  if type(raw.type) ~= "string" then
    ctx.fail(fpath .. ".type", string.format("layer %d: type must be a string such as \"conv2d\", got %s",
      k - 1, describe(raw.type)))
  end
  local op = ops.of(raw.type)
  local allowed = op and (op.fields_of and op.fields_of(raw.type) or op.fields)
  if not allowed then
    ctx.fail(fpath .. ".type", hints.unknown_type(raw.type), layer)
  end
  local bad = first_bad_key(raw, function(key) return not allowed[key] end, ctx.lines, fpath .. ".")
  if bad ~= nil then
    local where = (type(bad) == "string" or math.type(bad) == "integer") and (fpath .. "." .. bad) or fpath
    ctx.fail(where, hints.unknown_field(bad, raw.type, allowed), layer)
  end
  if op.check then op.check(ctx, raw, layer, fpath) end
  if raw.unroll ~= nil then
    if type(raw.unroll) ~= "string" or not M.UNROLL_LEVELS[raw.unroll] then
      ctx.fail(fpath .. ".unroll", "unroll must be \"full\", \"kernel\" or \"none\", got " .. describe(raw.unroll),
        layer)
    end
    layer.unroll = raw.unroll
  end
  return layer
end

-- Identifiers the generator derives from a name N (upper-cased as NAME):
-- files N.h and N.c, the guard NAME_H, macros NAME_INPUT_SIZE ... NAME_TRACE
-- (NAME, "_" and an upper-case letter), functions with external linkage
-- N_infer, N_infer_scratch and N_trace, and file-scope N_arena, N_layer<i>_...
-- Names whose derived identifiers C reserves are refused, so every accepted
-- name compiles next to every standard header (tests/names/test_names.lua).
-- C99 7.26 (future library directions) reserves these prefixes; C11's are
-- included because the header may be compiled as C11 or C++ too.
-- Each row: what the prefix applies to ("macro": matched against NAME .. "_X";
-- "function": against N .. "_infer"), the pattern, how to say it, the header.
local RESERVED_PREFIXES = {
  { "macro", "^E[%d%u]", "E and a digit or an upper-case letter", "<errno.h>" },
  { "macro", "^SIG_?%u", "SIG or SIG_ and an upper-case letter", "<signal.h>" },
  { "macro", "^LC_%u", "LC_ and an upper-case letter", "<locale.h>" },
  { "macro", "^FE_%u", "FE_ and an upper-case letter", "<fenv.h>" },
  { "macro", "^PRIX", "PRIX", "<inttypes.h>" },
  { "macro", "^SCNX", "SCNX", "<inttypes.h>" },
  { "macro", "^ATOMIC_%u", "ATOMIC_ and an upper-case letter", "<stdatomic.h>" },
  { "macro", "^TIME_%u", "TIME_ and an upper-case letter", "<time.h>" },
  { "function", "^is%l", "is and a lower-case letter", "<ctype.h>" },
  { "function", "^to%l", "to and a lower-case letter", "<ctype.h>" },
  { "function", "^str%l", "str and a lower-case letter", "<stdlib.h> and <string.h>" },
  { "function", "^mem%l", "mem and a lower-case letter", "<string.h>" },
  { "function", "^wcs%l", "wcs and a lower-case letter", "<string.h> and <wchar.h>" },
  { "function", "^atomic_%l", "atomic_ and a lower-case letter", "<stdatomic.h>" },
  { "function", "^memory_order_%l", "memory_order_ and a lower-case letter", "<stdatomic.h>" },
  { "function", "^cnd_%l", "cnd_ and a lower-case letter", "<threads.h>" },
  { "function", "^mtx_%l", "mtx_ and a lower-case letter", "<threads.h>" },
  { "function", "^thrd_%l", "thrd_ and a lower-case letter", "<threads.h>" },
  { "function", "^tss_%l", "tss_ and a lower-case letter", "<threads.h>" },
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
  -- { prefixes, a generated name, what it is, what C reserves }
  local generated = {
    { "macro", upper .. "_X", "the macro " .. upper .. "_INPUT_SIZE", "macros" },
    { "function", name .. "_infer", "the function " .. name .. "_infer", "external names" },
  }
  for _, g in ipairs(generated) do
    for _, r in ipairs(RESERVED_PREFIXES) do
      if r[1] == g[1] and g[2]:match(r[2]) then
        return string.format("would define %s, and C reserves %s that begin with %s for %s", g[3], g[4], r[3], r[4])
      end
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

--- A table field of the description, raw[name]: present (else the message
-- missing), a table (else not_table .. what it is) and every key accepted by
-- key_ok (else bad_key(key)).
local function check_table_field(ctx, raw, lines, name, key_ok, texts)
  if raw[name] == nil then ctx.fail("", texts.missing) end
  if type(raw[name]) ~= "table" then ctx.fail(name, texts.not_table .. describe(raw[name])) end
  local bad = first_bad_key(raw[name], key_ok, lines, name .. ".")
  if bad ~= nil then
    ctx.fail((type(bad) == "string" or math.type(bad) == "integer") and (name .. "." .. bad) or name,
      texts.bad_key(bad))
  end
end

--- The input field: { channels =, height =, width = } within the limits.
local function check_input(ctx, raw)
  if raw.input == nil then
    ctx.fail("", "input is missing; add input = { channels = 1, height = 28, width = 28 } (the size of "
      .. "the input image)")
  end
  if type(raw.input) ~= "table" then
    ctx.fail("input", "input must be a table { channels = C, height = H, width = W }, got " .. describe(raw.input))
  end
  ctx.fields(raw.input, INPUT_FIELDS, "input", "input")
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
  if raw.input.normalize ~= nil then
    input.normalize = interface.check_normalize(ctx, raw.input.normalize, input.channels)
  end
  if raw.input.description ~= nil then input.description = interface.check_description(ctx, raw.input.description) end
  return input
end

--- The layers field: a list of 1 to max_layers entries; returns the count.
local function check_layer_list(ctx, raw, lines)
  check_table_field(ctx, raw, lines, "layers", function(key)
    return math.type(key) ~= "integer" or key < 1 or key > #raw.layers
  end, {
    missing = "layers is missing; add layers = { { type = \"conv2d\", out_channels = 6, kernel = 5 }, ... }",
    not_table = "layers must be a list of layer tables, got ",
    bad_key = function(bad)
      return "layers must be a list { {...}, {...} } (no named entries or holes), found the key " .. describe(bad)
    end })
  local count = #raw.layers
  if count == 0 then ctx.fail("layers", "layers is empty; a network needs at least one layer") end
  if count > M.LIMITS.max_layers then
    ctx.fail("layers", string.format("%d layers is more than the limit of %d", count, M.LIMITS.max_layers))
  end
  return count
end

--- The optional check field: a safetensors file (relative to the description) holding
-- verification vectors from the training framework, `input` [N, ...] and `output` [N, K],
-- whose sizes must be the model's. Returns its resolved path.
local function check_vectors(ctx, raw, dir, input, output_shape)
  local file = raw.check
  if type(file) ~= "string" or file == "" then
    ctx.fail("check", "check must be a file name (a string such as \"mynet_check.safetensors\", "
      .. "relative to the description), got " .. describe(file))
  end
  local path = (dir and file:sub(1, 1) ~= "/") and (dir .. "/" .. file) or file
  local vectors, err = safetensors.read(path)
  if not vectors then ctx.fail("check", string.format("check file %s: %s", file, err)) end
  local sizes = { input = input.channels * input.height * input.width,
                  output = geometry.elements(output_shape) }
  local batch
  for _, which in ipairs({ "input", "output" }) do
    local t = vectors.tensors[which]
    if not t then
      ctx.fail("check", string.format("check file %s has no tensor \"%s\"; it needs \"input\" [N, ...] "
        .. "and \"output\" [N, K]", file, which))
    end
    local per_sample = 1
    for k = 2, #t.shape do per_sample = per_sample * t.shape[k] end
    if #t.shape < 2 or per_sample ~= sizes[which] or (batch and t.shape[1] ~= batch) then
      ctx.fail("check", string.format("check file %s: tensor \"%s\" has shape [%s]; the model needs "
        .. "[N, ...] with %d values per sample%s", file, which, table.concat(t.shape, ", "), sizes[which],
        batch and string.format(" and N = %d as in \"input\"", batch) or ""))
    end
    batch = t.shape[1]
  end
  return path
end

--- Validate a raw description.
-- @param raw table returned by the description
-- @param path description path (for messages and to resolve `weights`)
-- @param lines line map from lg.linemap
-- @param source the description's bytes (kept for the manifest's hash)
-- @return the model table of lg.model, without tensors
function M.validate(raw, path, lines, source)
  local ctx = validator(context(path, lines))
  local bad = first_bad_key(raw, function(key) return not TOP_FIELDS[key] end, lines, "")
  if bad ~= nil then
    ctx.fail(type(bad) == "string" and bad or "", hints.unknown_field(bad, "a description",
      TOP_FIELDS))
  end
  check_name(ctx, raw.name)
  local input = check_input(ctx, raw)
  if raw.weights ~= nil and (type(raw.weights) ~= "string" or raw.weights == "") then
    ctx.fail("weights", "weights must be a file name (a string such as \"lenet5.safetensors\", "
      .. "relative to the description), got " .. describe(raw.weights))
  end
  local count = check_layer_list(ctx, raw, lines)
  ctx.layer_count = count  -- for an operator that must come last (softmax)
  local dir = path:match("^(.*)/[^/]*$")
  local model = {
    path = path,
    source = source,
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
    layer.out_shape = ops.of(layer.type).infer(ctx, layer, shape, prev)
    local values = geometry.elements(layer.out_shape)
    if values > M.LIMITS.max_values then
      ctx.fail("layers." .. k, string.format("output %s has %d values, more than the limit of %d (64 MB "
        .. "of floats); use fewer channels or features, or a larger stride", geometry.shape_text(layer.out_shape),
        values, M.LIMITS.max_values), layer)
    end
    local params = ops.params(layer)
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
  if raw.check ~= nil then model.check_path = check_vectors(ctx, raw, dir, input, shape) end
  if raw.labels ~= nil then
    model.labels = interface.check_labels(ctx, raw.labels, geometry.elements(shape), prev)
  end
  return model
end

return M
