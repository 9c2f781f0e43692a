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
    if entry.weight then
      parts[#parts + 1] = carray.weight_array(e.writer(), e.weight_name(layer),
        { shape = layer.weight.shape, data = entry.weight },
        string.format("layer %d (%s) weight, tensor %q, sha256 %s: int8 codes, per output channel scale "
          .. "(zero point 0)", layer.index, layer.type, render.comment_text(layer.weight_name), layer.weight.sha256),
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

--- expr (a code, int8 or int32) with the activations of act_layers applied.
-- A relu right after the compute layer is already the clamp of its
-- requantization (lg.quantize folds it) and costs nothing.
function M.activation_expr(e, act_layers, expr, compute_layer)
  for i, layer in ipairs(act_layers) do
    local entry = M.entry(e, layer)
    if layer.type == "relu" then
      local folded = i == 1 and compute_layer and layer.index == compute_layer.index + 1
        and M.entry(e, compute_layer).out.range_of == "relu"
      if not folded then
        e.uses_relu = true
        expr = string.format("lg_relu(%s, %d)", expr, entry.input.zero_point)
      end
    else
      expr = string.format("%s[%s + 128]", M.table_name(e, layer), expr)
    end
  end
  return expr
end

--- The output code of accumulator `acc` of output channel `oc` (a loop
-- variable name or a number).
function M.requantize_expr(e, layer, acc, oc)
  local entry = M.entry(e, layer)
  return string.format("lg_requantize(%s, %s[%s], %s[%s], %d, %d)", acc, array_name(e, layer, "multiplier"), oc,
    array_name(e, layer, "shift"), oc, entry.out.zero_point, entry.low)
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
    local c_in, kh, kw = layer.in_shape[1], layer.kernel.h, layer.kernel.w
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

--- A registry of the weight pairs the DSP path (__smlad, templates/
-- source_head_int8.c) of one conv layer reads: slot(s) is the int32 column of
-- the int16 pair (w[s], w[s + 2]) of a kernel row, low half first. The table,
-- [out_channels][in_channels / groups][kernel h][columns], exists only under
-- LG_DSP (the portable path reads the int8 weights).
function M.conv_pairs(e, layer)
  local registry = { keys = {}, starts = {} }
  function registry.slot(s)
    if not registry.keys[s] then
      registry.keys[s] = #registry.starts
      registry.starts[#registry.starts + 1] = s
    end
    return registry.keys[s]
  end
  function registry.name() return array_name(e, layer, "weight_pairs") end
  function registry.table()
    if #registry.starts == 0 then return nil end
    local weight = M.entry(e, layer).weight
    local c_in, kh, kw = layer.weight.shape[2], layer.kernel.h, layer.kernel.w
    local function pack(low, high) return high * 65536 + (low & 0xffff) end
    local values = {}
    for oc = 0, layer.out_channels - 1 do
      for c = 0, c_in - 1 do
        for ky = 0, kh - 1 do
          local row = ((oc * c_in + c) * kh + ky) * kw + 1
          for _, s in ipairs(registry.starts) do
            values[#values + 1] = pack(weight[row + s], weight[row + s + 2])
          end
        end
      end
    end
    return "#ifdef LG_DSP\n" .. carray.weight_array(e.writer(), registry.name(),
      { shape = { layer.out_channels, c_in, kh, #registry.starts }, data = values },
      string.format("layer %d: int8 weights as int16 pairs for __smlad, per kernel row: (w[s], w[s + 2]) for "
        .. "s = %s (low half first)", layer.index, table.concat(registry.starts, ", ")),
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
      text = text .. string.format("; clamp [%d, 127]; multiplier>>shift (31 - shift bits) per channel: %s",
        entry.low, table.concat(ms, " "))
    end
    lines[#lines + 1] = text
  end
  return lines
end

return M
