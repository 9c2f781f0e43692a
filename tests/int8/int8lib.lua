--- Shared pieces of the int8 tests: calibration files of seeded inputs, the
-- int8 input cases and the data file tests/int8/harness_int8.c reads (the
-- integer reference's output codes for each case).
local lgcheck = require("lgcheck")
local quantize = require("lg.quantize")
local reference_int8 = require("lg.reference_int8")

local M = {}

--- Write CALIB with n seeded inputs: half like pixels in [0, 1), half in [-1, 1).
function M.write_calibration(model, path, n, seed)
  local size = model.input.channels * model.input.height * model.input.width
  local data = {}
  for i = 1, n do
    local kind = (i % 2 == 1) and "random_unit" or "random"
    local x = lgcheck.INPUT_KINDS[kind](size, seed * 1000 + i)
    table.move(x, 1, size, #data + 1, data)
  end
  assert(require("lg.safetensors_write").write(path, {
    input = { shape = { n, model.input.channels, model.input.height, model.input.width }, data = data } }))
end

--- Input code cases: every code at its extremes and at the zero point, seeded
-- random codes, and the codes of the first calibration inputs.
function M.input_cases(model, q, calib_inputs, seed)
  local size = model.input.channels * model.input.height * model.input.width
  local function filled(v)
    local t = {}
    for i = 1, size do t[i] = v end
    return t
  end
  local cases = { filled(-128), filled(127), filled(q.input.zero_point) }
  for s = 1, 2 do
    local next_unit = lgcheck.uniform_source(seed * 7 + s)
    local t = {}
    for i = 1, size do t[i] = math.floor(next_unit() * 256) - 128 end
    cases[#cases + 1] = t
  end
  for i = 1, math.min(2, #calib_inputs) do cases[#cases + 1] = reference_int8.quantize_input(q, calib_inputs[i]) end
  return cases
end

--- The data file of harness_int8.c for these cases.
function M.write_data(model, q, cases, path)
  local size = model.input.channels * model.input.height * model.input.width
  local function pack(codes)
    local chunks = {}
    for i = 1, #codes, 1024 do
      local last = math.min(#codes, i + 1023)
      chunks[#chunks + 1] = string.pack(string.rep("b", last - i + 1), table.unpack(codes, i, last))
    end
    return table.concat(chunks)
  end
  local parts, head = {}, nil
  for _, codes in ipairs(cases) do
    local out, trace = reference_int8.run(model, q, codes)
    if not head then
      head = { string.pack("<c8I4I4I4I4", "LGINT8\n", #cases, size, #out, #trace) }
      for _, layer_codes in ipairs(trace) do head[#head + 1] = string.pack("<I4", #layer_codes) end
    end
    parts[#parts + 1] = pack(codes)
    for _, layer_codes in ipairs(trace) do parts[#parts + 1] = pack(layer_codes) end
  end
  local f = assert(io.open(path, "wb"))
  f:write(table.concat(head), table.concat(parts))
  f:close()
end

--- Quantize a model from a calibration file as the generator does.
function M.quantize(model, calib_path)
  local calib = require("lg.calibration").read(calib_path, model)
  return quantize.build(model, calib), calib
end

return M
