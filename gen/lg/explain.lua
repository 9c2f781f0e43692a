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

return M
