--- linear: a fully connected layer on a flat vector (y = W x + b).
local ckernel = require("lg.ckernel")
local geometry = require("lg.geometry")
local int8emit = require("lg.int8emit")
local shared = require("lg.ops.shared")

local M = {}

M.types = { "linear" }
M.role = "compute"
M.int8 = true  -- emits --quantize=int8 code (see lg.int8emit)
M.fields = { type = true, out_features = true, bias = true, weight = true, unroll = true }

-- linear outputs computed together: each input load feeds 8 FMAs (LeNet-5,
-- Cortex-M4F QEMU instruction count: 4 outputs 0.923 M per inference, 8 give 0.914 M)
M.MAC_BLOCK = 8
M.CHUNK = 8  -- inputs per iteration of the kernel-level input loop
-- int8 on a DSP core: outputs per pass over the inputs. LeNet-5 Cortex-M4F, QEMU
-- instructions per inference, -O2 / -Os: 2 give 970,640 / 1,035,120, 4 give
-- 948,120 / 1,007,440, 8 give 960,000 / 991,880 (-O2 decides)
M.DSP_OUTPUTS = 4
-- int8 without DSP: outputs per pass over the inputs. LeNet-5, QEMU
-- instructions per inference, Cortex-M0+ code -O2 / RV32IMAC -O2: 8 (one
-- pass) give 2,342,840 / 1,704,995, 4 give 2,273,640 / 1,684,681, 3 give
-- 2,245,840 / -, 2 give 2,227,640 / 1,634,402, 1 gives 2,268,640 / -. (16
-- inputs per iteration instead of CHUNK, with the ARMv6-M uint8 weights:
-- 2,013,200 / 1,706,910 against 2,003,600 / 1,634,402.)
M.PORTABLE_OUTPUTS = 2

function M.check(v, raw, layer, fpath)
  shared.check_tensors(v, raw, layer, fpath, "out_features", "values", v.limits.max_features)
end

function M.infer(v, layer, shape, prev)
  if #shape ~= 1 then
    local after = prev and string.format(" after layer %d (%s)", prev.index, prev.type) or ""
    v.fail("layers." .. (layer.index + 1), string.format("input is %s%s; add { type = \"flatten\" } before a "
      .. "linear layer", geometry.shape_text(shape), after), layer)
  end
  return { layer.out_features }
end

function M.macs(layer)
  return layer.in_shape[1] * layer.out_features
end

function M.params(layer)
  return layer.out_features * layer.in_shape[1] + (layer.bias and layer.out_features or 0)
end

function M.tensors(layer)
  return { layer.out_features, layer.in_shape[1] }, { layer.out_features }
end

function M.attributes(layer)
  return string.format("out_features %d, %s", layer.out_features, shared.bias_text(layer))
end

--------------------------------------------------------------------------------
-- Emission
--------------------------------------------------------------------------------

--- The stored value of accumulator acc of output o.
local function output_value(e, step, acc, o)
  if e.q then
    return int8emit.store_expr(e, int8emit.activation_expr(e, step.act_layers,
      int8emit.requantize_expr(e, step.layer, acc, o), step.layer))
  end
  return ckernel.activation_expr(step.acts, acc)
end

--- int8: the bias table (zero point folded in) before the step's functions.
local function add_bias_table(e, step)
  if e.q then e.add_table(int8emit.linear_bias_table(e, step.layer)) end
end

--- Outputs first..first+count-1 (first: loop variable or number). With
-- chunked = true the inputs run in a loop of CHUNK-wide straight-line
-- chunks (a 400-input body fully unrolled makes compilers hoist loads and
-- spill); otherwise every input is unrolled.
local function linear_block(e, w, step, first, count, chunked)
  local layer = step.layer
  local n_in = layer.in_shape[1]
  -- the rows from a loop variable stay pointer arithmetic (deviation D-11):
  -- &weight[o] costs LeNet-5 8 bytes of code with arm-none-eabi-gcc -Os
  local rows = (type(first) == "number") and "&%s[%s]" or "%s + %s"
  local armv6m = e.q and chunked
  if armv6m then
    -- ARMv6-M: the weights + 128 as uint8 (lg.int8emit.linear_weights_u8)
    w.line("#ifdef LG_ARMV6M")
    w.line("const uint8_t (*w)[%d] = " .. rows .. ";", n_in, int8emit.linear_weights_u8_name(e, layer), first)
    w.line("#else")
  end
  w.line("const %s (*w)[%d] = " .. rows .. ";", e.value_type, n_in, e.weight_name(layer), first)
  if armv6m then w.line("#endif") end
  for j = 0, count - 1 do
    if e.q then
      -- the bias table has the input zero point folded in (lg.int8emit);
      -- offset: 128 * (sum of the inputs) on ARMv6-M, else 0
      w.line("int32_t a%d = %s[%s]%s; /* output [%s] */", j, e.bias_name(layer), ckernel.affine(first, 1, j),
        armv6m and " - offset" or "", ckernel.affine(first, 1, j))
    else
      local init = layer.bias and string.format("%s[%s]", e.bias_name(layer), ckernel.affine(first, 1, j)) or "0.0f"
      w.line("float a%d = %s; /* output [%s] */", j, init, ckernel.affine(first, 1, j))
    end
  end
  local function macs(i_var, from, to)
    for i = from, to do
      for j = 0, count - 1 do
        local idx = ckernel.affine(i_var, 1, i)
        w.line("LG_MAC(a%d, w[%d][%s], x[%s]);", j, j, idx, idx)
      end
    end
  end
  local chunk = M.CHUNK
  local loops = chunked and (n_in // chunk) or 0
  if e.q and loops > 0 and chunk % 4 == 0 then
    -- int8 on a DSP core (templates/source_head_int8.c): four inputs and four
    -- weights as one word each, both split by __sxtb16 the same way (so the
    -- weights need no reordering), two __smlad per four multiply-accumulates;
    -- passes over the inputs for DSP_OUTPUTS accumulators at a time, one word
    -- of inputs per iteration, keep everything in registers
    w.line("#ifdef LG_DSP")
    for first_j = 0, count - 1, M.DSP_OUTPUTS do
      w.line("for (int i = 0; i < %d; i += 4) {", loops * chunk)
      for j = first_j, math.min(first_j + M.DSP_OUTPUTS, count) - 1 do
        w.line("a%d = __smlad(%s(&x[i]), lg_low_pair(&w[%d][i]), a%d);", j, int8emit.pair_helper(e, false), j, j)
        w.line("a%d = __smlad(%s(&x[i]), lg_high_pair(&w[%d][i]), a%d);", j, int8emit.pair_helper(e, true), j, j)
      end
      w.line("}")
    end
    w.line("#else")
  end
  if e.q and loops > 1 then
    -- int8 portable C: passes over the inputs for PORTABLE_OUTPUTS outputs at
    -- a time, each input code loaded once per pass and used by each of them
    for first_j = 0, count - 1, M.PORTABLE_OUTPUTS do
      w.line("for (int i = 0; i < %d; i += %d) {", loops * chunk, chunk)
      for k = 0, chunk - 1 do
        for j = first_j, math.min(first_j + M.PORTABLE_OUTPUTS, count) - 1 do
          local idx = ckernel.affine("i", 1, k)
          w.line("LG_MAC(a%d, w[%d][%s], x[%s]);", j, j, idx, idx)
        end
      end
      w.line("}")
    end
  elseif loops == 1 then
    macs(0, 0, chunk - 1)
  elseif loops > 1 then
    w.line("for (int i = 0; i < %d; i += %d) {", loops * chunk, chunk)
    macs("i", 0, chunk - 1)
    w.line("}")
  end
  if e.q and loops > 0 and chunk % 4 == 0 then w.line("#endif") end
  macs(0, loops * chunk, n_in - 1)
  for j = 0, count - 1 do
    w.line("y[%s] = %s;", ckernel.affine(first, 1, j), output_value(e, step, "a" .. j, ckernel.affine(first, 1, j)))
  end
end

local function emit_kernel(e, step, fname)
  local n_out = step.layer.out_features
  local block = M.MAC_BLOCK
  local full_blocks = n_out // block
  ckernel.step_function(e, step, fname, function(w)
    if e.q then
      -- ARMv6-M reads the weights + 128 (an LDRB at an immediate offset, where
      -- a signed byte costs a MOVS and an LDRSB): sum (w + 128) * x over the
      -- inputs less 128 * (sum x) is sum w * x
      w.line("#ifdef LG_ARMV6M")
      w.line("int32_t sum = 0;")
      w.line("for (int i = 0; i < %d; ++i) {", step.layer.in_shape[1])
      w.line("sum += (int32_t)x[i];")
      w.line("}")
      w.line("const int32_t offset = 128 * sum;")
      w.line("(void)%s; /* the int8 weights: other cores */", e.weight_name(step.layer))
      w.line("#else")
      w.line("const int32_t offset = 0;")
      w.line("#endif")
    end
    if full_blocks == 1 then
      w.line("{")
      linear_block(e, w, step, 0, block, true)
      w.line("}")
    elseif full_blocks > 1 then
      w.line("for (int o = 0; o < %d; o += %d) {", full_blocks * block, block)
      linear_block(e, w, step, "o", block, true)
      w.line("}")
    end
    if n_out % block > 0 then
      w.line("{")
      linear_block(e, w, step, full_blocks * block, n_out % block, true)
      w.line("}")
    end
  end)
  add_bias_table(e, step)
  if e.q then e.add_table(int8emit.linear_weights_u8_table(e, step.layer)) end
end

local function emit_full(e, step, fname)
  local n_out = step.layer.out_features
  local block = math.max(1, math.min(M.MAC_BLOCK, ckernel.FULL_FUNCTION_MACS // step.layer.in_shape[1]))
  ckernel.full_parts(e, step, fname, function(part)
    for first = 0, n_out - 1, block do
      part(string.format("_out%d", first), function(w)
        linear_block(e, w, step, first, math.min(block, n_out - first), false)
      end)
    end
  end)
  add_bias_table(e, step)
end

local function emit_none(e, step, fname)
  local layer = step.layer
  ckernel.step_function(e, step, fname, function(w)
    w.line("for (int o = 0; o < %d; ++o) {", layer.out_features)
    if e.q then
      w.line("int32_t acc = %s[o];", e.bias_name(layer))
    else
      w.line("float acc = %s;", layer.bias and (e.bias_name(layer) .. "[o]") or "0.0f")
    end
    w.line("for (int i = 0; i < %d; ++i) {", layer.in_shape[1])
    w.line("LG_MAC(acc, %s[o][i], x[i]);", e.weight_name(layer))
    w.line("}")
    w.line("y[o] = %s;", output_value(e, step, "acc", "o"))
    w.line("}")
  end)
  add_bias_table(e, step)
end

M.emit = { full = emit_full, kernel = emit_kernel, none = emit_none }

return M
