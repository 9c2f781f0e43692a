--- `gen/lenetgen --explain`: the layer table a reviewer reads first.
local geometry = require("lg.geometry")
local ops = require("lg.ops")

local M = {}

local function pair(p) return p and geometry.pair_text(p) or "" end

--- Where a layer's values go: the step's buffer for its last layer, else
-- fused into its step, or nowhere (a flatten of the input).
local function writes_text(s, layer)
  if s and s.step.last_index == layer.index then
    return geometry.buffer_text(s.step.output, s.step.out_elements)
  end
  return s and "(fused)" or "(no-op)"
end

--- Columns padded to their widest cell, trailing blanks removed.
local function aligned(rows)
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do widths[i] = math.max(widths[i] or 0, #cell) end
  end
  local out = {}
  for _, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do cells[i] = string.format("%-" .. widths[i] .. "s", cell) end
    out[#out + 1] = (table.concat(cells, "  "):gsub("%s+$", ""))
  end
  return out
end

function M.table(model, plan)
  local step_of = {}
  for k, step in ipairs(plan.steps) do
    for _, layer in ipairs(step.layers) do step_of[layer.index] = { k = k, step = step } end
  end
  local rows = { { "layer", "type", "line", "kernel", "stride", "pad", "input", "output", "MACs", "weights B",
                   "step", "unroll", "writes" } }
  for _, layer in ipairs(model.layers) do
    local s = step_of[layer.index]
    rows[#rows + 1] = {
      tostring(layer.index), layer.type, tostring(layer.line or "?"), pair(layer.kernel), pair(layer.stride),
      layer.padding and geometry.padding_text(layer.padding) or "", geometry.shape_text(layer.in_shape), geometry.shape_text(layer.out_shape),
      tostring(ops.macs(layer)), tostring(4 * ops.params(layer)),
      s and tostring(s.k) or "-", s and s.step.unroll or "-", writes_text(s, layer),
    }
  end
  local out = { string.format("%s: %s, input %dx%dx%d", model.path, model.name, model.input.channels,
    model.input.height, model.input.width) }
  table.move(aligned(rows), 1, #rows, #out + 1, out)
  for _, notes in ipairs({ model.notes or {}, plan.notes }) do
    for _, note in ipairs(notes) do
      out[#out + 1] = note.line and string.format("note: line %d: %s", note.line, note.text) or ("note: " .. note.text)
    end
  end
  out[#out + 1] = string.format("total: %d parameters (%d bytes of weights), %d MACs, %d bytes of activation "
    .. "memory (input and output not counted)", plan.params, 4 * plan.params, plan.macs, 4 * plan.scratch_floats)
  return table.concat(out, "\n") .. "\n"
end

--- --explain --quantize=int8: per layer the float range seen on the
-- calibration set, the output's scale and zero point, and the
-- signal-to-quantization-noise ratio of the integer network's output
-- against the float one (lg.quantize.measure_sqnr).
function M.quantization(model, plan, q)
  local function num(x) return string.format("%.6g", x) end
  local rows = { { "layer", "type", "float range", "scale", "zero point", "SQNR dB", "note" } }
  rows[2] = { "input", "", num(q.input.min) .. " .. " .. num(q.input.max), num(q.input.scale),
              tostring(q.input.zero_point), "", q.input.degenerate and "degenerate range: every value equal" or "" }
  local degenerate = 0
  for k, layer in ipairs(model.layers) do
    local entry = q.layers[k]
    local note = ""
    if entry.out == entry.input then
      note = "shares its input's quantization"
    elseif entry.out.fixed then
      note = "fixed output quantization; 256-entry table"
    elseif entry.out.range_of == "relu" then
      note = "range of the relu after it (ReLU folded into the clamp)"
    elseif entry.out.range_of then
      note = string.format("range of the %s after it (folded into the clamp)", entry.out.range_of)
    end
    if entry.value_of then
      -- SQNR against the batch norm's float output
      note = string.format("batch norm %d folded in%s", entry.value_of - 1,
        entry.out.range_of and (", range of the " .. entry.out.range_of .. " after it") or "")
    elseif entry.folded_into then
      note = string.format("folded into layer %d", entry.folded_into)
    end
    if entry.multiplier and entry.out.degenerate then
      degenerate = degenerate + 1
      note = string.format("degenerate range: every calibration output is %s (scale %s stands in)",
        num(entry.out.min), num(entry.out.scale))
    end
    local sqnr = entry.sqnr_db and (entry.sqnr_db == math.huge and "exact" or string.format("%.1f", entry.sqnr_db)) or ""
    rows[#rows + 1] = { tostring(layer.index), layer.type, num(entry.range.min) .. " .. " .. num(entry.range.max),
      num(entry.out.scale), tostring(entry.out.zero_point), sqnr, note }
  end
  local out = { string.format("int8 quantization (TFLite scheme) from %d calibration inputs of %s:",
    q.calibration.count, q.calibration.path) }
  table.move(aligned(rows), 1, #rows, #out + 1, out)
  local weight_bytes, bias_bytes, table_bytes = 0, 0, 0
  for _, entry in ipairs(q.layers) do
    if entry.weight then
      weight_bytes = weight_bytes + #entry.weight
      bias_bytes = bias_bytes + 4 * #entry.bias
      table_bytes = table_bytes + 8 * #entry.multiplier
    elseif entry.table then
      table_bytes = table_bytes + 256
    end
  end
  out[#out + 1] = string.format("int8 total: %d bytes of int8 weights, %d bytes of int32 biases (before the "
    .. "zero point folding per window shape), %d bytes of multipliers, shifts and tables, %d bytes of activation "
    .. "memory", weight_bytes, bias_bytes, table_bytes, plan.scratch_floats)
  if degenerate > 0 then
    out[#out + 1] = string.format("note: %d layer(s) with a degenerate range: their outputs carry no information "
      .. "on the calibration set; use more varied calibration inputs", degenerate)
  end
  return table.concat(out, "\n") .. "\n"
end

return M
