--- global_avgpool: the mean of each channel, C x H x W -> C x 1 x 1 (PyTorch's
-- AdaptiveAvgPool2d(1)). Kernel level: a loop over channels and rows, each row
-- summed in straight-line code; full: one function per channel.
local ckernel = require("lg.ckernel")
local int8emit = require("lg.int8emit")

local M = {}

M.types = { "global_avgpool" }
M.role = "compute"
M.fields = { type = true, unroll = true }
M.int8 = true  -- the sum of the codes over H*W divided rounding half away from zero (lg_average)

function M.infer(v, layer, shape, prev)
  if #shape ~= 3 then
    local after = prev and string.format(" after layer %d (%s)", prev.index, prev.type) or ""
    v.fail("layers." .. (layer.index + 1), string.format("input is flat (%d values)%s, but global_avgpool needs "
      .. "a channels x height x width input; move the flatten after it", shape[1], after), layer)
  end
  return { shape[1], 1, 1 }
end

function M.attributes(layer)
  return string.format("mean of each channel's %dx%d values", layer.in_shape[2], layer.in_shape[3])
end

local function store(e, w, step, c, count)
  if e.q then
    e.uses_average = true
    -- s sums stored values: less count times the storage offset, the codes' sum
    local offset = e.storage_in.offset
    local sum = (offset == 0) and "s" or string.format("s - %d", count * offset)
    w.line("y[%s][0][0] = %s;", c, int8emit.store_expr(e, int8emit.activation_expr(e, step.act_layers,
      string.format("lg_average(%s, %d)", sum, count))))
    return
  end
  w.line("y[%s][0][0] = %s;", c, ckernel.activation_expr(step.acts, ckernel.divide_by_count("s", count)))
end

--- s += each value of row `row` (a number or "row") of channel c (int8: an int32 sum of codes).
local function add_row(e, w, c, row, width, first)
  for col = 0, width - 1 do
    if first and col == 0 then
      w.line("%s s = x[%s][%s][0];", e.q and "int32_t" or "float", c, row)
    else
      w.line("s += x[%s][%s][%d];", c, row, col)
    end
  end
end

local function emit_kernel(e, step, fname)
  local _, h, wd = table.unpack(step.in_shape)
  ckernel.channel_loop_function(e, step, fname, "c", step.in_shape[1], function(w)
    add_row(e, w, "c", 0, wd, true)
    if h > 1 then
      w.line("for (int row = 1; row < %d; ++row) {", h)
      add_row(e, w, "c", "row", wd, false)
      w.line("}")
    end
    store(e, w, step, "c", h * wd)
  end)
end

local function emit_full(e, step, fname)
  local c_count, h, wd = table.unpack(step.in_shape)
  ckernel.full_parts(e, step, fname, function(part)
    for c = 0, c_count - 1 do
      part(string.format("_c%d", c), function(w)
        for row = 0, h - 1 do add_row(e, w, c, row, wd, row == 0) end
        store(e, w, step, c, h * wd)
      end)
    end
  end)
end

local function emit_none(e, step, fname)
  local _, h, wd = table.unpack(step.in_shape)
  ckernel.channel_loop_function(e, step, fname, "c", step.in_shape[1], function(w)
    w.line(e.q and "int32_t s = 0;" or "float s = 0.0f;")
    w.line("for (int row = 0; row < %d; ++row) {", h)
    w.line("for (int col = 0; col < %d; ++col) {", wd)
    w.line("s += x[c][row][col];")
    w.line("}")
    w.line("}")
    store(e, w, step, "c", h * wd)
  end)
end

M.emit = { full = emit_full, kernel = emit_kernel, none = emit_none }

return M
