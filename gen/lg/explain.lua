--- `gen/lenetgen --explain`: the layer table a reviewer reads first.
local planner = require("lg.plan")
local validate = require("lg.validate")

local M = {}

local function pair(p) return p and string.format("%dx%d", p.h, p.w) or "" end

function M.table(model, plan)
  local step_of = {}
  for k, step in ipairs(plan.steps) do
    for _, layer in ipairs(step.layers) do step_of[layer.index] = { k = k, step = step } end
  end
  local rows = { { "layer", "type", "line", "kernel", "stride", "pad", "input", "output", "MACs", "weights B",
                   "step", "unroll", "writes" } }
  for _, layer in ipairs(model.layers) do
    local s = step_of[layer.index]
    local writes
    if s and s.step.last_index == layer.index then
      local out = s.step.output
      writes = out.kind == "arena"
        and string.format("scratch[%d..%d]", out.offset, out.offset + s.step.out_elements - 1) or out.kind
    elseif s then
      writes = "(fused)"
    else
      writes = "(no-op)"
    end
    rows[#rows + 1] = {
      tostring(layer.index), layer.type, tostring(layer.line or "?"), pair(layer.kernel), pair(layer.stride),
      pair(layer.padding), validate.shape_text(layer.in_shape), validate.shape_text(layer.out_shape),
      tostring(planner.layer_macs(layer)), tostring(4 * planner.layer_params(layer)),
      s and tostring(s.k) or "-", s and s.step.unroll or "-", writes,
    }
  end
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do widths[i] = math.max(widths[i] or 0, #cell) end
  end
  local out = { string.format("%s: %s, input %dx%dx%d", model.path, model.name, model.input.channels,
    model.input.height, model.input.width) }
  for _, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do cells[i] = string.format("%-" .. widths[i] .. "s", cell) end
    out[#out + 1] = (table.concat(cells, "  "):gsub("%s+$", ""))
  end
  for _, note in ipairs(plan.notes) do
    out[#out + 1] = string.format("note: line %s: %s", note.line or "?", note.text)
  end
  out[#out + 1] = string.format("total: %d parameters (%d bytes of weights), %d MACs, %d bytes of activation "
    .. "memory (input and output not counted)", plan.params, 4 * plan.params, plan.macs, 4 * plan.scratch_floats)
  return table.concat(out, "\n") .. "\n"
end

return M
