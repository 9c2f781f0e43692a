--- Calibration inputs for --quantize=int8: a safetensors file holding one F32
-- tensor `input` of shape [N, C, H, W], N >= 1 representative inputs in the
-- model's input format (after input.normalize, as _infer receives them).
-- Every mistake is one "CALIB: error: ..." line that says what is expected.
local errors = require("lg.errors")
local geometry = require("lg.geometry")

local M = {}

M.TENSOR = "input"

--- Read and check CALIB against the model's input shape.
-- @param path the calibration file
-- @param model the model of lg.model (its input {channels, height, width})
-- @return { path =, count = N, inputs = { flat C-H-W arrays of float32 values } }
function M.read(path, model)
  local safetensors = require("lg.safetensors")
  local input = model.input
  local want = { input.channels, input.height, input.width }
  local expect = string.format("a safetensors file with one F32 tensor %q of shape [N, %d, %d, %d] "
    .. "(N calibration inputs of model %s)", M.TENSOR, want[1], want[2], want[3], model.name)
  local file, err
  local f, open_err = io.open(path, "rb")
  local bytes = f and f:read("a")
  if f then f:close() end
  if not f then
    err = "cannot open: " .. tostring(open_err):gsub("^" .. path:gsub("%p", "%%%0") .. ": ", ""):gsub("^%u", string.lower)
  elseif not bytes then
    err = "cannot read it (a directory?)"
  else
    file, err = safetensors.decode(bytes, { allow_nonfinite = true })
  end
  if not file then
    errors.raise(path, nil, string.format("calibration: %s; expected %s", err, expect))
  end
  local tensor = file.tensors[M.TENSOR]
  if not tensor then
    local names = #file.names > 0 and ("it holds " .. table.concat(file.names, ", ", 1, math.min(#file.names, 5)))
      or "it holds no tensor"
    errors.raise(path, nil, string.format("calibration: no tensor %q (%s); expected %s", M.TENSOR, names, expect))
  end
  local shape = tensor.shape
  if #shape ~= 4 then
    errors.raise(path, nil, string.format("calibration: tensor %q has shape %s (rank %d); expected rank 4: %s",
      M.TENSOR, geometry.shape_list(shape), #shape, expect))
  end
  if shape[2] ~= want[1] or shape[3] ~= want[2] or shape[4] ~= want[3] then
    errors.raise(path, nil, string.format("calibration: tensor %q has shape %s, but model %s takes %s inputs; "
      .. "expected %s", M.TENSOR, geometry.shape_list(shape), model.name, geometry.shape_text(want), expect))
  end
  if shape[1] == 0 then
    errors.raise(path, nil, string.format("calibration: tensor %q holds no inputs (N = 0); expected %s",
      M.TENSOR, expect))
  end
  local size = want[1] * want[2] * want[3]
  local data = tensor.data
  local inputs = {}
  for n = 1, shape[1] do
    local one = table.move(data, (n - 1) * size + 1, n * size, 1, {})
    inputs[n] = one
  end
  for i, v in ipairs(data) do
    if v ~= v or v == math.huge or v == -math.huge then
      errors.raise(path, nil, string.format("calibration: input %d element %d is %s; calibration inputs "
        .. "must be finite", (i - 1) // size, (i - 1) % size, v ~= v and "NaN" or (v > 0 and "+Inf" or "-Inf")))
    end
  end
  return { path = path, count = shape[1], inputs = inputs, sha256 = require("lg.hash").sha256_hex(bytes) }
end

return M
