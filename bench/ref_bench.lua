#!/usr/bin/env lua5.4
--- ref_bench.lua: time per inference of the reference interpreter (gen/lg/reference.lua,
-- plain Lua loops in double precision), for the benchmark.
--
--   lua5.4 bench/ref_bench.lua MODEL.lua [--random-weights SEED] [--reps N] [--int8 CALIB]
--
-- Prints "output V0 V1 ..." (the reference's output for the driver's fixed input, see
-- bench/driver.c; bench/measure.lua checks every implementation against it) and
-- "time_ns MIN MEDIAN MAX 1 REPS": CPU time (os.clock) of single inferences after one
-- warm-up inference. Loading the model and weights is not timed.
-- --int8 CALIB: the integer reference (gen/lg/reference_int8.lua) of the network generated with
-- --quantize=int8 --calibration CALIB, on the int8 driver's input codes (bench/driver.c
-- BENCH_INT8); "output" then lists output codes, which the int8 programs must equal exactly.
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
local root = script_dir .. "/.."
package.path = root .. "/gen/?.lua;" .. root .. "/tools/?.lua;" .. package.path

local errors = require("lg.errors")
local model_loader = require("lg.model")
local reference = require("lg.reference")

local function fail(msg)
  io.stderr:write("ref_bench: " .. msg .. "\n")
  os.exit(2)
end

local cliargs = require("cliargs")
local parser = cliargs.parser("ref_bench.lua", "Time per inference of the reference interpreter.")
parser:argument("model", "The description."):argname("MODEL.lua")
parser:option("--random-weights", "Seeded random weights."):argname("SEED"):convert(cliargs.integer):target("seed")
parser:option("--reps", "Timed inferences (1 or more).", "5"):argname("N"):convert(cliargs.integer)
parser:option("--int8", "Run the integer reference with this calibration file."):argname("CALIB")
local opts = cliargs.parse(parser, arg, function(a)
  if a.reps < 1 then return "--reps must be 1 or more" end
end)

local ok, model = pcall(model_loader.load, opts.model, { random_seed = opts.seed })
if not ok then fail(errors.is(model) and errors.format(model) or tostring(model)) end

--- The driver's fixed input (bench/driver.c): ((i * 2654435761) mod 2^32 >> 16 & 255) / 256.
local function driver_input(n)
  local v = {}
  for k = 0, n - 1 do
    local h = (k * 2654435761) & 0xFFFFFFFF
    v[k + 1] = ((h >> 16) & 255) / 256
  end
  return v
end

--- The int8 driver's fixed input codes: ((i * 2654435761) mod 2^32 >> 16 & 255) - 128.
local function driver_codes(n)
  local v = {}
  for k = 0, n - 1 do
    local h = (k * 2654435761) & 0xFFFFFFFF
    v[k + 1] = ((h >> 16) & 255) - 128
  end
  return v
end

local size = model.input.channels * model.input.height * model.input.width
local infer, input
if opts.int8 then
  local quant_ok, q = pcall(function()
    return require("lg.quantize").build(model, require("lg.calibration").read(opts.int8, model))
  end)
  if not quant_ok then fail(errors.is(q) and errors.format(q) or tostring(q)) end
  local reference_int8 = require("lg.reference_int8")
  infer = function(codes) return reference_int8.run(model, q, codes) end
  input = driver_codes(size)
else
  infer = function(values) return reference.run(model, values) end
  input = driver_input(size)
end
local output = infer(input) -- also the warm-up
local parts = {}
for k, x in ipairs(output) do parts[k] = string.format("%.9g", x) end
print("output " .. table.concat(parts, " "))

local times = {}
for r = 1, opts.reps do
  local t0 = os.clock()
  infer(input)
  times[r] = (os.clock() - t0) * 1e9
end
table.sort(times)
print(string.format("time_ns %.1f %.1f %.1f 1 %d", times[1], times[(opts.reps + 1) // 2], times[opts.reps], opts.reps))
