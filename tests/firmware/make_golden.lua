#!/usr/bin/env lua5.4
--- make_golden.lua: writes the golden inputs and expected outputs that the
-- firmware harness embeds, as a C header.
--
--   lua5.4 tests/firmware/make_golden.lua MODEL.lua OUT.h [--random-weights SEED]
--          [--gen-args "GENERATOR OPTIONS"] [--images IDX3_FILE --labels IDX1_FILE --count N]
--          [--random-count N] [--perturb] [--int8 CALIB]
--
-- Inputs: the first N images of an IDX file (pixels / 255, like the training
-- data) when given, then the standard cases of tests/harness/lgcheck.lua that
-- stress the activations: zeros, plus_100 and minus_100 (saturated sigmoid and
-- tanh, expf overflow and underflow), random (uniform in [-1, 1], seed 1),
-- then --random-count more of the model's input shape, uniform in [0, 1] like
-- pixels (random_unit, seeds 2, 3, ...): the inputs of a model that is not
-- fed 28x28 images.
-- --gen-args: the options the firmware's C was generated with (make's
-- FW_GEN_ARGS); a --random-weights in them applies here too, the others do not
-- change the reference's outputs.
-- --perturb: moves the first expected output of the first input by 100 times
-- the harnesses' tolerance (1e-3 (1 + |value|)), so
-- that a harness that passes this header does not compare (a test of the test).
-- --int8 CALIB: for --quantize=int8 --calibration CALIB firmware: the same
-- inputs as int8 codes (lg.reference_int8.quantize_input) and the integer
-- reference's output codes (gen/lg/reference_int8.lua), compared bit-exact;
-- --perturb then moves the first expected code by one step.
-- Expected outputs: gen/lg/reference.lua (the reference interpreter, double
-- precision, shares no code with the emitter), rounded to float. All values
-- are written as C99 hexadecimal float literals, so they are exact.
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
local root = script_dir .. "/../.."
package.path = root .. "/gen/?.lua;" .. root .. "/tests/harness/?.lua;" .. root .. "/tools/?.lua;" .. package.path

local errors = require("lg.errors")
local reference = require("lg.reference")
local reference_int8 = require("lg.reference_int8")
local lgcheck = require("lgcheck")
local cliargs = require("cliargs")

local FASHION = { "t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                  "sneaker", "bag", "ankle boot" }
local KINDS = { "zeros", "plus_100", "minus_100", "random" }

local function fail(msg)
  io.stderr:write("make_golden: " .. msg .. "\n")
  os.exit(2)
end

local function parse_args(args)
  local parser = cliargs.parser("make_golden.lua", "Write the golden inputs and expected outputs the "
    .. "firmware harness embeds, as a C header (see the comment at the top of the script).")
  parser:argument("model", "The description."):argname("MODEL.lua")
  parser:argument("out", "The header to write."):argname("OUT.h")
  parser:option("--random-weights", "Seeded random weights."):argname("SEED"):convert(cliargs.integer)
    :target("random_seed")
  parser:option("--gen-args", "The options the firmware's C was generated with."):argname("ARGS")
  parser:option("--images", "An IDX3 file of images."):argname("IDX3")
  parser:option("--labels", "Their IDX1 labels."):argname("IDX1")
  parser:option("--count", "Images to take.", "8"):argname("N"):convert(cliargs.integer)
  parser:option("--random-count", "Random inputs in [0, 1] to add."):argname("N"):convert(cliargs.integer)
  parser:flag("--perturb", "Move the first expected output by 100 times the tolerance.")
  parser:option("--int8", "Int8 golden codes for --quantize=int8 with this calibration file."):argname("CALIB")
  local opts = cliargs.parse(parser, cliargs.join_values(args, { ["--gen-args"] = true }))
  if opts.gen_args then
    local words = {}
    for w in opts.gen_args:gmatch("%S+") do words[#words + 1] = w end
    for k, w in ipairs(words) do
      local seed = w:match("^%-%-random%-weights=(.*)$") or (w == "--random-weights" and words[k + 1])
      if seed then
        opts.random_seed = math.tointeger(tonumber(seed)) or fail("--gen-args: --random-weights needs an integer")
      end
    end
  end
  return opts
end

local function read_file(path)
  local f = io.open(path, "rb") or fail("cannot read " .. path)
  local data = f:read("a")
  f:close()
  return data
end

--- First `count` images of an IDX3 ubyte file, each scaled to [0, 1] floats.
local function read_images(path, count, size)
  local data = read_file(path)
  local magic, n, rows, cols = string.unpack(">I4I4I4I4", data)
  if magic ~= 0x803 then fail(path .. ": not an IDX3 ubyte file") end
  if rows * cols ~= size then
    fail(string.format("%s: %dx%d images, the model's input has %d values", path, rows, cols, size))
  end
  if n < count then fail(string.format("%s has %d images, %d wanted", path, n, count)) end
  local images = {}
  for k = 0, count - 1 do
    local img, base = {}, 16 + k * size
    for j = 1, size do
      img[j] = lgcheck.to_float32(data:byte(base + j) / 255.0)
    end
    images[#images + 1] = img
  end
  return images
end

local function read_labels(path, count)
  local data = read_file(path)
  local magic, n = string.unpack(">I4I4", data)
  if magic ~= 0x801 or n < count then fail(path .. ": not an IDX1 ubyte file with enough labels") end
  local labels = {}
  for k = 1, count do labels[k] = data:byte(8 + k) end
  return labels
end

--- C99 hexadecimal float literal of a float32 value (exact).
local function cfloat(x)
  x = lgcheck.to_float32(x)
  if x ~= x or x == math.huge or x == -math.huge then
    fail("non-finite value " .. tostring(x))
  end
  return string.format("%a", x) .. "f"
end

local function emit_array(out, values, per_line)
  for i = 1, #values, per_line do
    local line = {}
    for j = i, math.min(i + per_line - 1, #values) do line[#line + 1] = cfloat(values[j]) end
    out[#out + 1] = "        " .. table.concat(line, ", ") .. (i + per_line <= #values and "," or "")
  end
end

--- One static const table of golden_value_t (float, or int8_t codes with
-- --int8), a row per case (case[field]).
local function emit_table(out, declarator, cases, field, per_line, int8)
  out[#out + 1] = "static const golden_value_t " .. declarator .. " = {"
  for k, case in ipairs(cases) do
    out[#out + 1] = "    { /* " .. case.name .. " */"
    if int8 then
      for i = 1, #case[field], 16 do
        local last = math.min(i + 15, #case[field])
        out[#out + 1] = "        " .. table.concat(case[field], ", ", i, last) .. (last < #case[field] and "," or "")
      end
    else
      emit_array(out, case[field], per_line)
    end
    out[#out + 1] = "    }" .. (k < #cases and "," or "")
  end
  out[#out + 1] = "};"
  out[#out + 1] = ""
end

--- The quantization table the generator builds from CALIB (lg.quantize).
local function int8_params(model, calib_path)
  local ok, q = pcall(function()
    return require("lg.quantize").build(model, require("lg.calibration").read(calib_path, model))
  end)
  if not ok then fail(errors.is(q) and errors.format(q) or tostring(q)) end
  return q
end

local function main(args)
  local opts = parse_args(args)
  local ok, model = pcall(lgcheck.load_model, opts.model, opts.random_seed)
  if not ok then
    fail(errors.is(model) and errors.format(model) or tostring(model))
  end
  local in_size = model.input.channels * model.input.height * model.input.width
  local cases = {}
  if opts.images then
    local images = read_images(opts.images, opts.count, in_size)
    local labels = opts.labels and read_labels(opts.labels, opts.count) or {}
    for k, img in ipairs(images) do
      local label = labels[k]
      cases[#cases + 1] = {
        name = string.format("image %d%s", k - 1,
          label and string.format(" (%s)", FASHION[label + 1] or tostring(label)) or ""),
        label = label or -1, input = img }
    end
  end
  for _, kind in ipairs(KINDS) do
    cases[#cases + 1] = { name = kind, label = -1, input = lgcheck.INPUT_KINDS[kind](in_size, 1) }
  end
  for seed = 2, (opts.random_count or 0) + 1 do
    cases[#cases + 1] = { name = "random_unit:" .. seed, label = -1,
                          input = lgcheck.INPUT_KINDS.random_unit(in_size, seed) }
  end
  local q = opts.int8 and int8_params(model, opts.int8)
  for _, case in ipairs(cases) do
    if q then
      case.input = reference_int8.quantize_input(q, case.input)
      case.output = reference_int8.run(model, q, case.input)
    else
      case.output = reference.run(model, case.input)
    end
  end
  if opts.perturb then
    cases[1].name = cases[1].name .. " (perturbed)"
    local want = cases[1].output[1]
    if q then
      cases[1].output[1] = want == 127 and 126 or want + 1 -- one code step
    else
      cases[1].output[1] = want + 1e-3 * (1 + math.abs(want)) -- 100 times the tolerance
    end
  end
  local out_size = #cases[1].output

  local name, upper = model.name, model.name:upper()
  local o = {}
  o[#o + 1] = "/* DO NOT EDIT: generated by tests/firmware/make_golden.lua from " .. opts.model
    .. (opts.random_seed and (" --random-weights " .. opts.random_seed) or "")
    .. (opts.int8 and (" --int8 " .. opts.int8) or "")
    .. (opts.perturb and ", one expected value PERTURBED" or "") .. ".\n"
    .. " * Inputs and the reference interpreter's outputs (gen/lg/reference.lua, double\n"
    .. " * precision, rounded to float) for tests/firmware/harness.c and harness_rv32.c. */"
  o[#o + 1] = "#ifndef LG_GOLDEN_H"
  o[#o + 1] = "#define LG_GOLDEN_H"
  o[#o + 1] = ""
  o[#o + 1] = string.format('#include "%s.h"', name)
  o[#o + 1] = ""
  o[#o + 1] = string.format('#define GOLDEN_MODEL "%s"', name)
  if q then
    o[#o + 1] = "/* int8 codes, compared bit-exact (golden_check.h) */"
    o[#o + 1] = "#define GOLDEN_INT8 1"
    o[#o + 1] = "typedef int8_t golden_value_t;"
    o[#o + 1] = string.format("#define GOLDEN_INFER %s_infer_int8", name)
  else
    o[#o + 1] = "typedef float golden_value_t;"
    o[#o + 1] = string.format("#define GOLDEN_INFER %s_infer", name)
  end
  o[#o + 1] = string.format("#define GOLDEN_COUNT %d", #cases)
  o[#o + 1] = string.format("#define GOLDEN_INPUT_SIZE %d", in_size)
  o[#o + 1] = string.format("#define GOLDEN_OUTPUT_SIZE %d", out_size)
  o[#o + 1] = "/* The generated header must agree with the data below; regenerate both if this fails. */"
  o[#o + 1] = string.format("typedef char golden_input_size_check[(%s_INPUT_SIZE == GOLDEN_INPUT_SIZE) ? 1 : -1];", upper)
  o[#o + 1] = string.format("typedef char golden_output_size_check[(%s_OUTPUT_SIZE == GOLDEN_OUTPUT_SIZE) ? 1 : -1];", upper)
  o[#o + 1] = ""
  o[#o + 1] = "static const char *const golden_name[GOLDEN_COUNT] = {"
  for k, case in ipairs(cases) do
    o[#o + 1] = string.format('    "%s"%s', case.name, k < #cases and "," or "")
  end
  o[#o + 1] = "};"
  local labels = {}
  for k, case in ipairs(cases) do labels[k] = tostring(case.label) end
  o[#o + 1] = "/* dataset label, -1 for synthetic inputs */"
  o[#o + 1] = "static const int golden_label[GOLDEN_COUNT] = { " .. table.concat(labels, ", ") .. " };"
  o[#o + 1] = ""
  emit_table(o, "golden_input[GOLDEN_COUNT][GOLDEN_INPUT_SIZE]", cases, "input", 8, q)
  emit_table(o, "golden_output[GOLDEN_COUNT][GOLDEN_OUTPUT_SIZE]", cases, "output", 4, q)
  o[#o + 1] = "#endif /* LG_GOLDEN_H */"

  local tmp = opts.out .. ".tmp"
  local f = io.open(tmp, "w") or fail("cannot write " .. tmp)
  f:write(table.concat(o, "\n"), "\n")
  f:close()
  local renamed, err = os.rename(tmp, opts.out)
  if not renamed then fail(err) end
end

main(arg)
