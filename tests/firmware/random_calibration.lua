#!/usr/bin/env lua5.4
--- random_calibration.lua: the calibration file of the int8 firmware test for a
-- description that is not fed 28x28 images (no image set to calibrate on): N
-- seeded inputs, half uniform in [0, 1), half in [-1, 1) (tests/int8/int8lib.lua).
--
--   lua5.4 tests/firmware/random_calibration.lua MODEL.lua OUT.safetensors N SEED
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
local root = script_dir .. "/../.."
package.path = root .. "/gen/?.lua;" .. root .. "/tests/harness/?.lua;" .. root .. "/tests/int8/?.lua;"
  .. root .. "/tools/?.lua;" .. package.path

local model_path, out, n, seed = arg[1], arg[2], math.tointeger(tonumber(arg[3])), math.tointeger(tonumber(arg[4]))
if not (model_path and out and n and seed) then
  io.stderr:write("usage: random_calibration.lua MODEL.lua OUT.safetensors N SEED\n")
  os.exit(2)
end
-- only the input shape is used: random weights spare a description without a weights file
local model = require("lgcheck").load_model(model_path, 1)
require("int8lib").write_calibration(model, out, n, seed)
