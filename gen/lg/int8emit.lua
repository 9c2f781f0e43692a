--- What the emitter writes only for --quantize=int8: the integer constant
-- tables (int8 weights, per-channel multipliers and shifts, activation
-- tables, biases with the input zero point folded in) and the expressions
-- that requantize an accumulator and apply an activation to a code. Every
-- number comes from the quantization table of lg.quantize (e.q); the op
-- modules call these where their float code has a float expression.
local carray = require("lg.carray")
local render = require("lg.render")

local M = {}

--- The quantization entry of a layer.
function M.entry(e, layer)
  return e.q.layers[layer.index + 1]
end

--------------------------------------------------------------------------------
-- Storage of activation codes
--------------------------------------------------------------------------------

-- The caller's buffers hold int8 codes (the _infer_int8 API). Tensors between
-- steps (the arena) hold u = code + 128 as uint8 (TFLite's uint8 asymmetric
-- form, zero point + 128): ARMv6-M loads an unsigned byte at an immediate
-- offset (LDRB) but a signed one only at a register offset (LDRSB), and a
-- multiply-accumulate reads u as it is (the bias folds the stored zero point).
M.ARENA_OFFSET = 128

--- How a buffer of the plan ({ kind = "input" | "output" | "arena" }) holds
-- codes: { ctype, offset }, stored value = code + offset.
function M.storage(buffer)
  if buffer.kind == "arena" then return { ctype = "uint8_t", offset = M.ARENA_OFFSET } end
  return { ctype = "int8_t", offset = 0 }
end

--- The step being emitted reads e.storage_in and writes e.storage_out (set by
-- lg.emit before each step): the stored zero point of the input.
function M.stored_zero_point(e, layer)
  return M.entry(e, layer).input.zero_point + e.storage_in.offset
end

--- The value to store for a code expression (int8 or int32, in [-128, 127]).
function M.store_expr(e, code)
  local offset = e.storage_out.offset
  if offset == 0 then return code end
  return string.format("(uint8_t)(%s + %d)", code, offset)
end

--- The code of a value read from the input (an int32 expression when stored
-- with an offset).
function M.load_expr(e, stored)
  local offset = e.storage_in.offset
  if offset == 0 then return stored end
  return string.format("((int32_t)%s - %d)", stored, offset)
end

--- The DSP pair helpers (templates/source_head_int8.c) of the input's storage:
-- lg_low_pair / lg_high_pair for int8 codes, lg_low_upair / lg_high_upair for uint8.
function M.pair_helper(e, high)
  local unsigned = e.storage_in.offset ~= 0 and "u" or ""
  return string.format("lg_%s_%spair", high and "high" or "low", unsigned)
end

local function array_name(e, layer, what)
  return string.format("%s_layer%d_%s", e.name, layer.index, what)
end

--- `static const <ctype> name[n] = { ... };`, 8 values a line, after a comment.
local function int_array(e, ctype, name, dims_text, values, comment)
  local w = e.writer()
  w.line("/* %s */", comment)
  w.line("static const %s %s%s = {", ctype, name, dims_text)
  for i = 1, #values, 8 do
    w.line("    %s%s", table.concat(values, ", ", i, math.min(i + 7, #values)), (i + 8 <= #values) and "," or "")
  end
  w.line("};")
  return w.text()
end

--- The constant tables of the network: int8 weights, multipliers and shifts
-- of each conv2d and linear layer, the 256-entry table of each sigmoid and tanh.
function M.constant_sections(e, model)
  local parts = {}
  for _, layer in ipairs(model.layers) do
    local entry = M.entry(e, layer)
    if entry.weight_shape then
      table.move(M.channel_affine_tables(e, layer), 1, 3, #parts + 1, parts)
    elseif entry.slope then
      local slope_parts = M.slope_tables(e, layer)
      table.move(slope_parts, 1, #slope_parts, #parts + 1, parts)
    elseif entry.exp_table then
      parts[#parts + 1] = int_array(e, "int32_t", array_name(e, layer, "exp"), "[256]", entry.exp_table,
        string.format("layer %d (softmax): round(2^16 * exp(-%s * d)) for the code difference d = max - q "
          .. "(input scale %s, zero point %d; output scale 1/256, zero point -128)", layer.index,
          render.float(entry.input.scale), render.float(entry.input.scale), entry.input.zero_point))
    elseif entry.weight then
      parts[#parts + 1] = carray.weight_array(e.writer(), e.weight_name(layer),
        { shape = layer.weight.shape, data = entry.weight },
        string.format("layer %d (%s) weight, tensor %q, sha256 %s: int8 codes, per output channel scale "
          .. "(zero point 0)%s", layer.index, layer.type, render.comment_text(layer.weight_name), layer.weight.sha256,
          entry.value_of and string.format(", of the weights with batch norm %d folded in", entry.value_of - 1) or ""),
        "int8_t", tostring)
      local n = #entry.multiplier
      parts[#parts + 1] = int_array(e, "int32_t", array_name(e, layer, "multiplier"), string.format("[%d]", n),
        entry.multiplier, string.format("layer %d: requantization multipliers (Q31), one per output channel", layer.index))
      parts[#parts + 1] = int_array(e, "int32_t", array_name(e, layer, "shift"), string.format("[%d]", n),
        entry.shift, string.format("layer %d: requantization shifts (left when positive)", layer.index))
    elseif entry.table then
      parts[#parts + 1] = int_array(e, "int8_t", M.table_name(e, layer), "[256]", entry.table,
        string.format("layer %d (%s): output code of input code i - 128 (input scale %s, zero point %d; "
          .. "output scale %s, zero point %d)", layer.index, layer.type, render.float(entry.input.scale),
          entry.input.zero_point, render.float(entry.out.scale), entry.out.zero_point))
    end
  end
  return parts
end

function M.table_name(e, layer)
  return array_name(e, layer, layer.type)
end

--- The multipliers (Q31) and shifts of a per-channel step, one text.
local function multiplier_arrays(e, layer, prefix, multipliers, shifts, what)
  local dims = string.format("[%d]", #multipliers)
  return int_array(e, "int32_t", array_name(e, layer, prefix .. "multiplier"), dims, multipliers,
    string.format("layer %d: %s multipliers (Q31), one per channel", layer.index, what)) .. "\n"
    .. int_array(e, "int32_t", array_name(e, layer, prefix .. "shift"), dims, shifts,
    string.format("layer %d: %s shifts (left when positive)", layer.index, what))
end

--- An unfolded batchnorm2d's tables: weight codes (+-127 per channel), bias
-- with the input zero point folded in, multipliers and shifts.
function M.channel_affine_tables(e, layer)
  local entry = M.entry(e, layer)
  local n, zx = #entry.weight, entry.input.zero_point
  local bias = {}
  for c = 1, n do bias[c] = entry.bias[c] - zx * entry.weight[c] end
  local dims = string.format("[%d]", n)
  return {
    int_array(e, "int8_t", array_name(e, layer, "weight"), dims, entry.weight, string.format("layer %d "
      .. "(batchnorm2d): scale = gamma / sqrt(running_var + eps) as int8 codes, per channel scale |scale| / 127",
      layer.index)),
    int_array(e, "int32_t", array_name(e, layer, "bias"), dims, bias, string.format("layer %d: shift = beta - "
      .. "running_mean x scale as int32 at s_in * s_w, input zero point %d folded in", layer.index, zx)),
    multiplier_arrays(e, layer, "", entry.multiplier, entry.shift, "requantization"),
  }
end

--- The code of channel c (a number or "c") of an unfolded batchnorm2d from input code x.
function M.channel_affine_expr(e, layer, c, x)
  local entry = M.entry(e, layer)
  return string.format("lg_requantize(%s[%s] + (int32_t)%s[%s] * (int32_t)%s, %s[%s], %s[%s], %d, %d, 0)",
    array_name(e, layer, "bias"), c, array_name(e, layer, "weight"), c, x, array_name(e, layer, "multiplier"), c,
    array_name(e, layer, "shift"), c, entry.out.zero_point, entry.low)
end

--- prelu with a slope per channel: its codes, multipliers and shifts (none
-- for one slope: lg_slope takes it as literals).
function M.slope_tables(e, layer)
  local entry = M.entry(e, layer)
  if #entry.slope == 1 then return {} end
  local dims = string.format("[%d]", #entry.slope)
  return {
    int_array(e, "int32_t", array_name(e, layer, "slope"), dims, entry.slope, string.format("layer %d (%s): "
      .. "slope codes per channel (+-127, scale |slope| / 127)", layer.index, layer.type)),
    multiplier_arrays(e, layer, "slope_", entry.slope_multiplier, entry.slope_shift, "slope (s_in * s_slope / s_out)"),
  }
end

--- leaky_relu or prelu of code expr, channel c (a number or "c"; any for one slope).
function M.slope_expr(e, layer, expr, c)
  local entry = M.entry(e, layer)
  e.uses_slope = true
  local slope, mult, shift
  if #entry.slope == 1 then
    slope, mult, shift = entry.slope[1], entry.slope_multiplier[1], entry.slope_shift[1]
  else
    slope, mult, shift = array_name(e, layer, "slope") .. "[" .. c .. "]",
      array_name(e, layer, "slope_multiplier") .. "[" .. c .. "]", array_name(e, layer, "slope_shift") .. "[" .. c .. "]"
  end
  return string.format("lg_slope(%s, %d, %d, %d, %s, %s, %s, %d)", expr, entry.input.zero_point,
    entry.identity_multiplier, entry.identity_shift, slope, mult, shift, entry.out.zero_point)
end

--- The name of softmax's exponential table.
function M.exp_table_name(e, layer)
  return array_name(e, layer, "exp")
end

--- One activation layer on code expr.
local function activation_of(e, layer, expr)
  local entry = M.entry(e, layer)
  if layer.type == "relu" then
    e.uses_relu = true
    return string.format("lg_relu(%s, %d)", expr, entry.input.zero_point)
  elseif layer.type == "relu6" or layer.type == "clip" then
    e.uses_clamp = true
    return string.format("lg_clamp(%s, %d, %d)", expr, entry.low, entry.high)
  elseif layer.type == "leaky_relu" then
    return M.slope_expr(e, layer, expr, 0)
  end
  return string.format("%s[%s + 128]", M.table_name(e, layer), expr)
end

--- expr (a code, int8 or int32) with the activations of act_layers applied.
-- A relu, relu6 or clip right after the compute layer (through a folded
-- batch norm) is already the clamp of its requantization (lg.quantize folds
-- it) and costs nothing.
function M.activation_expr(e, act_layers, expr, compute_layer)
  for i, layer in ipairs(act_layers) do
    local folded = i == 1 and compute_layer and M.entry(e, layer).folded
    if not folded then expr = activation_of(e, layer, expr) end
  end
  return expr
end

-- lg_requantize's bounded modes (lg.int8bound)
local int8bound = require("lg.int8bound")
M.BOUNDED_LIMIT, M.FOLD_RIGHT_LIMIT, M.bounded_mode = int8bound.BOUNDED_LIMIT, int8bound.FOLD_RIGHT_LIMIT,
  int8bound.bounded_mode
local bounded_cache = setmetatable({}, { __mode = "k" })  -- entry -> M.bounded_mode(entry)

--- The output code of accumulator `acc` of output channel `oc` (a loop
-- variable name or a number).
function M.requantize_expr(e, layer, acc, oc)
  local entry = M.entry(e, layer)
  local mode = bounded_cache[entry]
  if mode == nil then
    mode = M.bounded_mode(entry)
    -- mode 3 computes zero_point * 2^right at each call: worth it where the
    -- multiplier and shift are one channel's for many positions (a conv's
    -- map), not where each output has its own (a linear layer)
    local shape = layer.out_shape
    if mode == 3 and not (#shape == 3 and shape[2] * shape[3] > 1) then mode = 2 end
    bounded_cache[entry] = mode
  end
  -- mode 3 differs from 2 only on the DSP path: LG_BOUNDED_3 is 2 elsewhere, so
  -- other cores see the calls of mode 2 (RV32 -Os: 1,702,594 instructions
  -- with a literal 3, 1,616,305 with 2; make firmware-test)
  local expr = string.format("lg_requantize(%s, %s[%s], %s[%s], %d, %d, %s)", acc, array_name(e, layer, "multiplier"),
    oc, array_name(e, layer, "shift"), oc, entry.out.zero_point, entry.low, (mode == 3) and "LG_BOUNDED_3" or mode)
  if entry.high < 127 then
    -- a folded relu6 or clip whose upper bound is a code below 127
    e.uses_clamp = true
    expr = string.format("lg_clamp(%s, %d, %d)", expr, entry.low, entry.high)
  end
  return expr
end

--------------------------------------------------------------------------------
-- Biases with the input zero point folded in
--------------------------------------------------------------------------------

--- A registry of the tap rectangles of one conv layer's windows: each
-- accumulator starts from bias - zx * (sum of the weights of its real taps),
-- so the multiply-accumulates read the codes as they are. rect(yf, yl, xf,
-- xl) gives the column of that rectangle in the bias table; rect() the raw
-- bias (the --unroll=none loops subtract zx at every tap instead).
function M.conv_bias(e, layer)
  local registry = { keys = {}, list = {} }
  function registry.rect(yf, yl, xf, xl)
    local key = yf and string.format("%d:%d:%d:%d", yf, yl, xf, xl) or "raw"
    local id = registry.keys[key]
    if not id then
      id = #registry.list
      registry.keys[key] = id
      registry.list[id + 1] = yf and { yf = yf, yl = yl, xf = xf, xl = xl } or false
    end
    return id
  end
  function registry.name() return array_name(e, layer, "bias") end
  --- The table text, once every rectangle is registered.
  function registry.table()
    local entry = M.entry(e, layer)
    local zx = M.stored_zero_point(e, layer)
    -- the input channels each output channel reads (in_channels / groups)
    local c_in, kh, kw = layer.weight.shape[2], layer.kernel.h, layer.kernel.w
    local values = {}
    for oc = 0, layer.out_channels - 1 do
      for _, r in ipairs(registry.list) do
        local sum = 0
        if r then
          for c = 0, c_in - 1 do
            for ky = r.yf, r.yl do
              for kx = r.xf, r.xl do sum = sum + entry.weight[((oc * c_in + c) * kh + ky) * kw + kx + 1] end
            end
          end
        end
        values[#values + 1] = entry.bias[oc + 1] - zx * sum
      end
    end
    return carray.weight_array(e.writer(), registry.name(),
      { shape = { layer.out_channels, #registry.list }, data = values }, string.format("layer %d: int32 bias per output channel and window shape (%d), stored input zero point %d "
        .. "folded in: bias - zero_point * (sum of the weights of the window's real taps)", layer.index,
        #registry.list, zx), "int32_t", tostring)
  end
  return registry
end

--- A registry of the weights the DSP path (__smlad, templates/
-- source_head_int8.c) of one conv layer reads, one int32 column per kernel row
-- each: slot(s) is the int16 pair (w[s], w[s + 2]) of the row, low half first;
-- single(s) is w[s] alone, for a multiply-add; high_single(s) the pair (0,
-- w[s]); so a row's weights are one array and one pointer. The table, [out_channels][in_channels / groups]
-- [kernel h][columns], exists only under LG_DSP (the portable path reads the
-- int8 weights).
function M.conv_pairs(e, layer)
  local registry = { keys = {}, columns = {} }
  local function column(kind, s)
    local key = kind .. " " .. s
    if not registry.keys[key] then
      registry.keys[key] = #registry.columns
      registry.columns[#registry.columns + 1] = { s = s, kind = kind }
    end
    return registry.keys[key]
  end
  function registry.slot(s) return column("pair", s) end
  function registry.single(s) return column("single", s) end
  function registry.high_single(s) return column("high", s) end
  function registry.name() return array_name(e, layer, "weight_pairs") end
  function registry.table()
    if #registry.columns == 0 then return nil end
    local weight = M.entry(e, layer).weight
    local c_in, kh, kw = layer.weight.shape[2], layer.kernel.h, layer.kernel.w
    local function pack(low, high) return high * 65536 + (low & 0xffff) end
    local values, names = {}, {}
    local formats = { pair = "(w[%d], w[%d])", single = "w[%d]", high = "(0, w[%d])" }
    for _, col in ipairs(registry.columns) do
      names[#names + 1] = string.format(formats[col.kind], col.s, col.s + 2)
    end
    local function value(row, col)
      if col.kind == "single" then return weight[row + col.s] end
      if col.kind == "high" then return pack(0, weight[row + col.s]) end
      return pack(weight[row + col.s], weight[row + col.s + 2])
    end
    for oc = 0, layer.out_channels - 1 do
      for c = 0, c_in - 1 do
        for ky = 0, kh - 1 do
          local row = ((oc * c_in + c) * kh + ky) * kw + 1
          for _, col in ipairs(registry.columns) do
            values[#values + 1] = value(row, col)
          end
        end
      end
    end
    return "#ifdef LG_DSP\n" .. carray.weight_array(e.writer(), registry.name(),
      { shape = { layer.out_channels, c_in, kh, #registry.columns }, data = values },
      string.format("layer %d: int8 weights per kernel row for the DSP path: %s (pairs are int16 pairs for "
        .. "__smlad, low half first)", layer.index, table.concat(names, ", ")),
      "int32_t", tostring) .. "\n#endif"
  end
  return registry
end

--- The int8 weights of one conv layer as int32, [out_channels][in_channels /
-- groups][kernel h][kernel w], for the ARMv6-M bodies (LG_ARMV6M: LDR reads
-- a word at an immediate offset, LDRSB a byte only at a register offset).
function M.conv_weights32(e, layer)
  local registry = {}
  function registry.name() return array_name(e, layer, "weight32") end
  function registry.table()
    return "#ifdef LG_ARMV6M\n" .. carray.weight_array(e.writer(), registry.name(),
      { shape = layer.weight.shape, data = M.entry(e, layer).weight },
      string.format("layer %d: the int8 weights as int32 for ARMv6-M (one LDR each)", layer.index),
      "int32_t", tostring) .. "\n#endif"
  end
  return registry
end

--- A linear layer's int8 weights + 128 as uint8, for the ARMv6-M code
-- (LG_ARMV6M: LDRB has an immediate offset, LDRSB has not).
function M.linear_weights_u8_name(e, layer)
  return array_name(e, layer, "weight_u8")
end

function M.linear_weights_u8_table(e, layer)
  local values = {}
  for i, v in ipairs(M.entry(e, layer).weight) do values[i] = v + 128 end
  return "#ifdef LG_ARMV6M\n" .. carray.weight_array(e.writer(), M.linear_weights_u8_name(e, layer),
    { shape = layer.weight.shape, data = values },
    string.format("layer %d: the int8 weights + 128 as uint8 for ARMv6-M", layer.index), "uint8_t", tostring)
    .. "\n#endif"
end

--- linear: bias - zx * (sum of the row's weights), one per output.
function M.linear_bias_table(e, layer)
  local entry = M.entry(e, layer)
  local zx = M.stored_zero_point(e, layer)
  local n_in = layer.in_shape[1]
  local values = {}
  for o = 0, layer.out_features - 1 do
    local sum = 0
    for i = 1, n_in do sum = sum + entry.weight[o * n_in + i] end
    values[o + 1] = entry.bias[o + 1] - zx * sum
  end
  return int_array(e, "int32_t", array_name(e, layer, "bias"), string.format("[%d]", layer.out_features), values,
    string.format("layer %d: int32 bias, stored input zero point %d folded in", layer.index, zx))
end

--- Audit comment lines of a step: each layer's scales, zero points,
-- multipliers and shifts.
function M.comment_lines(e, step)
  local lines = {}
  for _, layer in ipairs(step.layers) do
    local entry = M.entry(e, layer)
    local text = string.format(" *   int8: in scale %s zero point %d -> out scale %s zero point %d",
      render.float(entry.input.scale), entry.input.zero_point, render.float(entry.out.scale), entry.out.zero_point)
    if entry.multiplier then
      local ms = {}
      for i = 1, #entry.multiplier do ms[i] = string.format("%d>>%d", entry.multiplier[i], -entry.shift[i]) end
      text = text .. string.format("; clamp [%d, %d]; multiplier>>shift (31 - shift bits) per channel: %s",
        entry.low, entry.high, table.concat(ms, " "))
    elseif entry.folded then
      text = text .. string.format("; folded into layer %d's %s", entry.folded_into, entry.low
        and string.format("clamp [%d, %d]", entry.low, entry.high) or "weights and bias")
    elseif entry.low then
      text = text .. string.format("; clamp on codes [%d, %d]", entry.low, entry.high)
    elseif entry.slope then
      local ss = {}
      for i = 1, #entry.slope do
        ss[i] = string.format("%d*%d>>%d", entry.slope[i], entry.slope_multiplier[i], -entry.slope_shift[i])
      end
      text = text .. string.format("; x >= 0: %d>>%d; x < 0: slope code*multiplier>>shift per channel: %s",
        entry.identity_multiplier, -entry.identity_shift, table.concat(ss, " "))
    elseif entry.exp_table then
      text = text .. "; exp table of the code difference to the max (2^16 scale), rounded division by the sum"
    end
    lines[#lines + 1] = text
  end
  return lines
end

return M
