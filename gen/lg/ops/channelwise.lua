--- Emission shared by the per-channel elementwise steps (batchnorm2d left
-- unfolded, prelu): y[c][...] = value(c, x[c][...]) for every element, the
-- step's activations applied to it. An input of C x H x W has C channels of
-- H x W values; a flat input of n values has n channels of one value (as
-- PyTorch's BatchNorm1d and PReLU read an (N, n) input).
local ckernel = require("lg.ckernel")
local int8emit = require("lg.int8emit")

local M = {}

--- Channels and values per channel of the step's input.
local function layout(step)
  local s = step.in_shape
  if #s == 3 then return s[1], s[2] * s[3] end
  return s[1], 1
end

--- The element of buffer `var` at channel c, position i within the channel.
local function element(step, var, c, i)
  if #step.in_shape == 1 then return string.format("%s[%s]", var, c) end
  local w = step.in_shape[3]
  if type(i) == "number" then
    return string.format("%s[%s][%d][%d]", var, c, i // w, i % w)
  end
  return string.format("%s[%s][row][col]", var, c)
end

local function store(e, w, step, value, c, i)
  local x = element(step, "x", c, i)
  if not e.q then
    w.line("%s = %s;", element(step, "y", c, i), ckernel.activation_expr(step.acts, value(e, step.layer, c, x)))
    return
  end
  -- int8: the code of the stored input, the stored value of the output code (lg.int8emit.storage)
  local v = value(e, step.layer, c, int8emit.load_expr(e, x))
  w.line("%s = %s;", element(step, "y", c, i), int8emit.store_expr(e, int8emit.activation_expr(e, step.act_layers, v)))
end

--- Loops over every channel and position: kernel and none (an elementwise
-- step has no window to unroll, as the copy step of lg.ops.activation).
local function emit_loops(e, step, fname, value)
  local channels = layout(step)
  ckernel.channel_loop_function(e, step, fname, "c", channels, function(w)
    if #step.in_shape == 3 then
      w.line("for (int row = 0; row < %d; ++row) {", step.in_shape[2])
      w.line("for (int col = 0; col < %d; ++col) {", step.in_shape[3])
      store(e, w, step, value, "c", "hw")
      w.line("}")
      w.line("}")
    else
      store(e, w, step, value, "c", 0)
    end
  end)
end

--- The emit table of a per-channel operator; value(e, layer, c, x) is the
-- C expression of one output from channel c (a number or "c") and input x
-- (int8, e.q: a code).
function M.emitters(value)
  local function full(e, step, fname)
    local channels, size = layout(step)
    ckernel.full_parts(e, step, fname, function(part)
      for c = 0, channels - 1 do
        -- one function per channel would be thousands after a linear layer
        if #step.in_shape == 1 and c > 0 then break end
        part(#step.in_shape == 1 and "_all" or string.format("_c%d", c), function(w)
          if #step.in_shape == 1 then
            for k = 0, channels - 1 do store(e, w, step, value, k, 0) end
          else
            for i = 0, size - 1 do store(e, w, step, value, c, i) end
          end
        end)
      end
    end)
  end
  local function loops(e, step, fname) emit_loops(e, step, fname, value) end
  return { full = full, kernel = loops, none = loops }
end

return M
