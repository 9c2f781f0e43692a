--- Harness driver: prepares a suite of generated models for the CMocka harness
-- (tests/harness/harness.c) and writes the reference data it compares with.
--
-- usage (from the repository root):
--   lua5.4 tests/harness/driver.lua plan --suite NAME [--levels full,kernel,none]
--          [--builds opt,san] [--model FILE]... [--seeds FROM-TO] [--max-macs N]
--          [--gen-options "LENETGEN OPTIONS"]
--     Writes build/harness/NAME/suite.mk (a makefile: generate, compile, link
--     one harness binary per unroll level, run) plus the per-level registries,
--     per-model shims and, for --seeds, the random descriptions
--     (tools/random_arch.lua). Then: make -f build/harness/NAME/suite.mk -j2 run
--   lua5.4 tests/harness/driver.lua data FILE [--random-weights SEED] -o OUT
--     Runs the reference interpreter on the model's input cases (lgcheck's
--     standard inputs, plus the PyTorch cases of tests/tiny/expected/NAME.lua
--     when the description has them) and writes OUT for harness.c.
local root = arg[0]:match("^(.*)/tests/harness/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. root .. "/tests/harness/?.lua;" .. root .. "/tools/?.lua;" .. package.path

local errors = require("lg.errors")
local reference = require("lg.reference")
local lgcheck = require("lgcheck")
local magnitude = require("magnitude")

local BUILD_ROOT = "build/harness"
local LEVELS = { full = true, kernel = true, none = true }
local BUILDS = { opt = true, san = true }

local function die(msg)
  io.stderr:write("driver.lua: " .. msg .. "\n")
  os.exit(2)
end

--- Write a file only when its content changes (so make sees no change otherwise).
local function write_if_changed(path, text)
  local f = io.open(path, "rb")
  if f then
    local old = f:read("a")
    f:close()
    if old == text then return end
  end
  os.execute("mkdir -p '" .. path:match("^(.*)/[^/]*$") .. "'")
  f = assert(io.open(path .. ".tmp", "wb"))
  f:write(text)
  f:close()
  assert(os.rename(path .. ".tmp", path))
end

local function split(list)
  local t = {}
  for item in list:gmatch("[^,%s]+") do t[#t + 1] = item end
  return t
end

------------------------------------------------------------------------------
-- data: reference outputs for harness.c
------------------------------------------------------------------------------

--- PyTorch cases stored for a tiny network: <dir>/expected/<name>.lua.
local function torch_cases(path, model)
  local dir = path:match("^(.*)/[^/]*$") or "."
  local expected_path = dir .. "/expected/" .. model.name .. ".lua"
  local f = io.open(expected_path, "r")
  if not f then return {} end
  f:close()
  local expected = dofile(expected_path)
  local cases = {}
  for _, case in ipairs(expected.cases) do
    cases[#cases + 1] = { name = "torch_" .. case.name, input = case.input, torch = case.output32 }
  end
  return cases
end

--- Verification vectors named by the description's check field (from the training
-- framework, e.g. an ONNX test data set): compared like the PyTorch cases.
local function check_file_cases(model)
  if not model.check_path then return {} end
  local vectors = assert(require("lg.safetensors").read(model.check_path))
  local input, output = vectors.tensors.input, vectors.tensors.output
  local n_in, n_out = #input.data // input.shape[1], #output.data // output.shape[1]
  local cases = {}
  for k = 1, input.shape[1] do
    cases[k] = { name = "check_" .. (k - 1), input = table.move(input.data, (k - 1) * n_in + 1, k * n_in, 1, {}),
                 torch = table.move(output.data, (k - 1) * n_out + 1, k * n_out, 1, {}) }
  end
  return cases
end

local function pack_values(fmt, values)
  local parts = {}
  for i = 1, #values, 1024 do
    local last = math.min(#values, i + 1023)
    parts[#parts + 1] = string.pack("<" .. string.rep(fmt, last - i + 1), table.unpack(values, i, last))
  end
  return table.concat(parts)
end

--- Data file format: see the comment at the top of harness.c.
local function write_data(model, cases, out_path)
  local input_size = model.input.channels * model.input.height * model.input.width
  local parts = {}
  local layer_counts
  for _, case in ipairs(cases) do
    local output, trace = reference.run(model, case.input)
    if not layer_counts then
      layer_counts = {}
      for k, values in ipairs(trace) do layer_counts[k] = #values end
      parts[1] = string.pack("<c8I4I4I4I4", "LGHARN2\n", #model.layers, #cases, input_size, #output)
      for k, layer in ipairs(model.layers) do
        parts[#parts + 1] = string.pack("<I4I4c16", layer.index, layer_counts[k], layer.type)
      end
    end
    parts[#parts + 1] = string.pack("<c32I4", case.name:sub(1, 31), case.torch and 1 or 0)
    parts[#parts + 1] = pack_values("f", case.input)
    for _, values in ipairs(trace) do parts[#parts + 1] = pack_values("d", values) end
    for _, mags in ipairs(magnitude.run(model, case.input, trace)) do parts[#parts + 1] = pack_values("d", mags) end
    if case.torch then
      assert(#case.torch == #output, "PyTorch output size differs from the reference's")
      parts[#parts + 1] = pack_values("d", case.torch)
    end
  end
  write_if_changed(out_path, table.concat(parts))
end

local function cmd_data(args)
  local path, seed, out = args.file, args.random_weights, args.o
  local ok, model = pcall(lgcheck.load_model, path, seed)
  if not ok then die(errors.is(model) and errors.format(model) or tostring(model)) end
  local cases = lgcheck.input_cases(model, seed or 1)
  for _, case in ipairs(torch_cases(path, model)) do cases[#cases + 1] = case end
  for _, case in ipairs(check_file_cases(model)) do cases[#cases + 1] = case end
  write_data(model, cases, out)
end

------------------------------------------------------------------------------
-- plan: the suite makefile, registries and shims
------------------------------------------------------------------------------

--- Name and weights file of a description, without loading its tensors.
local function describe_model(path)
  local load = require("lg.load")
  local validate = require("lg.validate")
  local ok, model = pcall(function()
    local raw, _, lines = load.load(path)
    return validate.validate(raw, path, lines)
  end)
  if not ok then die(errors.is(model) and errors.format(model) or tostring(model)) end
  return model.name, model.weights_path
end

--- Generator options of a random architecture: plan and math vary with the seed.
local function random_options(seed)
  local plan = (seed % 2 == 0) and "fused" or "layered"
  local math_option = ((seed // 2) % 2 == 0) and "libm" or "builtin"
  return string.format("--plan=%s --math=%s --random-weights %d", plan, math_option, seed)
end

local SHIM = [[
/* Generated by tests/harness/driver.lua: connects %s (%s) to the harness. */
#include <stddef.h>
#include "harness.h"
#include "%s.h"

void %s_trace(int layer_index, const float *values, int count);
void %s_trace(int layer_index, const float *values, int count)
{
    harness_trace(layer_index, values, count);
}

/* HARNESS_NO_SAN: build-model skipped the sanitized build (file too large). */
#if %s && !defined(HARNESS_NO_SAN)
void %s_san_infer(const float *input, float *output);
void %s_san_infer_scratch(const float *input, float *output, float *scratch);
#define SAN_INFER %s_san_infer
#define SAN_INFER_SCRATCH %s_san_infer_scratch
#else
#define SAN_INFER NULL
#define SAN_INFER_SCRATCH NULL
#endif

const struct harness_model harness_model_%s = {
    "%s", "%s",
    %s_INPUT_SIZE, %s_OUTPUT_SIZE, %s_SCRATCH_FLOATS,
    %s, %s,
    SAN_INFER, SAN_INFER_SCRATCH
};
]]

local function shim_text(entry, builds)
  local n, upper = entry.name, entry.name:upper()
  local opt = builds.opt and { n .. "_infer", n .. "_infer_scratch" } or { "NULL", "NULL" }
  return string.format(SHIM, n, entry.options, n, n, n, builds.san and "1" or "0", n, n, n, n,
    n, n, entry.options, upper, upper, upper, opt[1], opt[2])
end

local function registry_text(suite_level, entries, level_dir, data_dir)
  local out = {
    "/* Generated by tests/harness/driver.lua: the models of harness suite " .. suite_level .. ". */",
    "#include <stddef.h>",
    '#include "harness.h"',
    "",
    "/* Weak: a model whose generation or compilation failed is simply absent (NULL). */",
  }
  for _, e in ipairs(entries) do
    out[#out + 1] = string.format("extern const struct harness_model harness_model_%s __attribute__((weak));", e.name)
  end
  out[#out + 1] = ""
  out[#out + 1] = string.format('const char harness_suite_name[] = "%s";', suite_level)
  out[#out + 1] = string.format("const int harness_registry_count = %d;", #entries)
  out[#out + 1] = "const struct harness_entry harness_registry[] = {"
  for _, e in ipairs(entries) do
    out[#out + 1] = string.format('    { "%s", &harness_model_%s, "%s/%s.bin", "%s/%s/build.log" },',
      e.name, e.name, data_dir, e.name, level_dir, e.name)
  end
  if #entries == 0 then out[#out + 1] = '    { "none", NULL, "", "" }' end
  out[#out + 1] = "};"
  return table.concat(out, "\n") .. "\n"
end

local MAKEFILE_HEAD = [[
# Generated by tests/harness/driver.lua plan; do not edit. Run from the repository root:
#   make -f %s/suite.mk -j2 run
S := %s
LUA ?= lua5.4
CC ?= gcc
CWARN ?= $(strip $(file < tools/cwarn.flags))
HARNESS_SAN ?= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
HARNESS_OPT_FLAGS ?= -O2
HARNESS_SAN_FLAGS ?= -O1 -g $(HARNESS_SAN)
HARNESS_SAN_MAX_BYTES ?= 4000000
# flags of the final link, e.g. -Ofast so that the program runs as a user's -Ofast program would
HARNESS_LINK_FLAGS ?=
export CC CWARN HARNESS_OPT_FLAGS HARNESS_SAN_FLAGS HARNESS_SAN_MAX_BYTES
GEN_DEPS := gen/lenetgen $(wildcard gen/lg/*.lua) $(wildcard templates/*)
BUILD_DEPS := tests/harness/build-model tests/harness/harness.h
REF_DEPS := $(wildcard gen/lg/*.lua) tests/harness/driver.lua tests/harness/lgcheck.lua tests/harness/magnitude.lua
HARNESS_COMPILE = $(CC) $(CWARN) -O1 -g $(HARNESS_SAN) -Itests/harness
Q ?= @

.PHONY: run
run: %s
	$(Q)tests/harness/run-suite %s

$(S)/harness.o: tests/harness/harness.c tests/harness/harness.h
	$(Q)$(HARNESS_COMPILE) -c $< -o $@
]]

local function cmd_plan(args)
  local suite, levels, models, max_macs = args.suite, split(args.levels), args.model, args.max_macs
  local builds = {}
  for _, b in ipairs(split(args.builds)) do builds[b] = true end
  local seeds = {}
  for _, range in ipairs(args.seeds) do
    local from, to = range:match("^(%d+)%-(%d+)$")
    if not from then from = range:match("^(%d+)$"); to = from end
    if not from then die("--seeds wants FROM-TO") end
    for seed = tonumber(from), tonumber(to) do seeds[#seeds + 1] = seed end
  end
  if not suite or not suite:match("^[%w_%-/]+$") then die("plan needs --suite NAME (letters, digits, _-/)") end
  for _, l in ipairs(levels) do if not LEVELS[l] then die("unknown level " .. l) end end
  for b in pairs(builds) do if not BUILDS[b] then die("unknown build " .. b) end end
  local dir = BUILD_ROOT .. "/" .. suite

  -- every model: name, description, dependencies, options
  local entries, seen = {}, {}
  local function add(entry)
    if seen[entry.name] then die(string.format("two models named %s (%s, %s)", entry.name, seen[entry.name], entry.path)) end
    seen[entry.name] = entry.path
    entries[#entries + 1] = entry
  end
  for _, path in ipairs(models) do
    local name, weights_path = describe_model(path)
    add({ name = name, path = path, deps = path .. (weights_path and (" " .. weights_path) or ""),
      gen_options = "", data_options = "" })
  end
  local random_arch = require("random_arch")
  for _, seed in ipairs(seeds) do
    local path = string.format("%s/arch/rand_%d.lua", dir, seed)
    write_if_changed(path, random_arch.description(seed, { max_macs = max_macs }))
    add({ name = "rand_" .. seed, path = path, deps = path, gen_options = random_options(seed),
      data_options = "--random-weights " .. seed })
  end

  local builds_list = {}
  for _, b in ipairs({ "opt", "san" }) do if builds[b] then builds_list[#builds_list + 1] = b end end
  local binaries = {}
  for _, level in ipairs(levels) do binaries[#binaries + 1] = string.format("$(S)/%s/harness", level) end
  local mk = { string.format(MAKEFILE_HEAD, dir, dir, table.concat(binaries, " "), table.concat(binaries, " ")) }
  local data_files = {}
  for _, e in ipairs(entries) do
    local data = string.format("$(S)/data/%s.bin", e.name)
    data_files[#data_files + 1] = data
    mk[#mk + 1] = string.format("%s: %s $(REF_DEPS)\n\t$(Q)mkdir -p $(@D)\n\t$(Q)$(LUA) tests/harness/driver.lua data %s %s -o $@\n",
      data, e.deps, e.path, e.data_options)
  end
  for _, level in ipairs(levels) do
    local level_dir = dir .. "/" .. level
    local objects = {}
    local level_entries = {}
    for _, e in ipairs(entries) do
      local options = string.format("--unroll=%s%s", level, e.gen_options ~= "" and (" " .. e.gen_options) or "")
      if args.gen_options ~= "" then options = options .. " " .. args.gen_options end
      level_entries[#level_entries + 1] = { name = e.name, options = options }
      write_if_changed(string.format("%s/%s/shim.c", level_dir, e.name), shim_text(level_entries[#level_entries], builds))
      local object = string.format("$(S)/%s/%s/model.o", level, e.name)
      objects[#objects + 1] = object
      -- the generated .c is a prerequisite once it exists, so an edited .c is rebuilt
      -- (with HARNESS_NO_GENERATE=1, as tests/harness/test_broken.lua does, it is kept)
      mk[#mk + 1] = string.format("%s: %s $(S)/%s/%s/shim.c $(wildcard $(S)/%s/%s/%s.c) $(GEN_DEPS) $(BUILD_DEPS)\n"
        .. "\t$(Q)tests/harness/build-model $(S)/%s/%s %s '%s' %s %s\n",
        object, e.deps, level, e.name, level, e.name, e.name, level, e.name, e.name,
        table.concat(builds_list, " "), e.path, options)
    end
    write_if_changed(level_dir .. "/registry.c", registry_text(suite .. "/" .. level, level_entries, level_dir, dir .. "/data"))
    mk[#mk + 1] = string.format("$(S)/%s/registry.o: $(S)/%s/registry.c tests/harness/harness.h\n\t$(Q)$(HARNESS_COMPILE) -c $< -o $@\n",
      level, level)
    -- link whatever built; a missing model.o becomes a failing "build" test
    mk[#mk + 1] = string.format("$(S)/%s/harness: $(S)/harness.o $(S)/%s/registry.o %s %s\n"
      .. "\t$(Q)$(CC) -g $(HARNESS_SAN) $(HARNESS_LINK_FLAGS) -o $@ $(S)/harness.o $(S)/%s/registry.o "
      .. "$$(for o in $(filter %%/model.o,$^); do [ -f $$o ] && echo $$o; done) -lcmocka -lm\n",
      level, level, table.concat(objects, " "), table.concat(data_files, " "), level)
  end
  write_if_changed(dir .. "/suite.mk", table.concat(mk, "\n"))
  print(dir .. "/suite.mk")
end

local cliargs = require("cliargs")
local parser = cliargs.parser("driver.lua", "Harness driver (see the comment at the top of "
  .. "tests/harness/driver.lua).")
parser:command_target("command")
local plan = parser:command("plan", "Write build/harness/NAME/suite.mk, the registries, shims and "
  .. "random descriptions.")
plan:option("--suite", "The suite's name (letters, digits, _-/)."):argname("NAME"):count(1)
plan:option("--levels", "Unroll levels.", "full,kernel,none")
plan:option("--builds", "opt (optimised) and/or san (traced, sanitized).", "opt,san")
plan:option("--model", "A description (repeatable)."):argname("FILE"):count("*")
plan:option("--seeds", "Random architectures FROM-TO (repeatable)."):argname("FROM-TO"):count("*")
plan:option("--max-macs", "MAC budget of the random architectures."):argname("N"):convert(cliargs.integer)
plan:option("--gen-options", "More lenetgen options for every model (written --gen-options=\"--split-bytes=20000\").", "")
local data = parser:command("data", "Write the reference data of one description for harness.c.")
data:argument("file", "The description."):argname("FILE")
data:option("--random-weights", "Seeded random weights."):argname("SEED"):convert(cliargs.integer)
data:option("-o", "The data file to write."):argname("OUT"):count(1)
local args = cliargs.parse(parser, arg)
if args.command == "plan" then cmd_plan(args) else cmd_data(args) end
