--- int8 harness: generated --quantize=int8 C against the integer reference
-- (gen/lg/reference_int8.lua), bit-exact (tolerance 0), every layer traced.
-- For each description (models/, tests/tiny/, and random architectures of
-- tools/random_arch.lua with seeded weights) and each unroll level: write a
-- seeded calibration file, generate, compile warning-free (tools/cwarn.flags)
-- with ASan and UBSan together with tests/int8/harness_int8.c and run it on
-- the int8 input cases (int8lib). The plan alternates with the seed. Then a
-- one-step change of one int8 weight in generated code must be caught.
--   lua5.4 tests/int8/test_int8_harness.lua [-v] [--seeds 1-20] [--levels full,kernel,none]
local root = arg[0]:match("^(.*)/tests/int8/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. root .. "/tests/harness/?.lua;" .. root .. "/tests/int8/?.lua;"
  .. root .. "/tools/?.lua;" .. package.path

local cflags = require("cflags")
local int8lib = require("int8lib")
local shellutil = require("shellutil")
local t = require("testlib")

local args = t.parse_args("tests/int8/test_int8_harness.lua", "int8 C against the integer reference, bit-exact.",
  function(p)
    p:option("--seeds", "Random architectures FROM-TO.", "1-20")
    p:option("--levels", "Unroll levels.", "full,kernel,none")
    p:option("--model", "A description (repeatable; default models/*.lua and tests/tiny/*.lua)."):count("*")
    p:flag("--big-full", "Also run --unroll=full sources over 4 MB (LeNet-5: about 3.5 minutes; make soak-int8).")
    p:option("--part", "Run only part K of N of the descriptions (every Nth, from the Kth), in a build "
      .. "directory of its own: make test-int8 runs the parts side by side.", "1/1")
  end)

local part, parts = args.part:match("^(%d+)/(%d+)$")
part, parts = tonumber(part), tonumber(parts)
if not part or part < 1 or part > parts then
  io.stderr:write("tests/int8/test_int8_harness.lua: --part wants K/N with 1 <= K <= N, got " .. args.part .. "\n")
  os.exit(2)
end
-- LG_INT8_BUILD: test-int8-mul32 runs LeNet-5 beside test-int8, in a directory of its own
local BUILD = (os.getenv("LG_INT8_BUILD") or "build/int8") .. ((parts > 1) and ("/part" .. part) or "")
local SAN = "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
-- a sanitized build of a file this large costs minutes and gigabytes (LeNet-5 --unroll=full):
-- it is compiled -O1 without sanitizers, still bit-exact
local SAN_MAX_BYTES = 4000000
local CC = os.getenv("CC") or "gcc"
-- the generated LG_DSP branch on the host: tests/int8/acle_emul.h supplies the ACLE intrinsics
local DSP_EMULATION = "-include " .. root .. "/tests/int8/acle_emul.h"

local function sh(cmd)
  local out, code = shellutil.capture(cmd .. " 2>&1")
  return code == 0, out
end

--- Generate, compile and run one model at one level; returns ok, detail.
-- extra: more compiler options (the DSP path: -include tests/int8/acle_emul.h); gen = false reuses
-- the generated files.
local function run_one(entry, level, dir, calib, data, extra, gen_again)
  os.execute("mkdir -p " .. shellutil.shell_quote(dir))
  local gen = string.format("%s/gen/lenetgen %s --quantize=int8 --calibration %s --unroll=%s %s -o %s", root,
    shellutil.shell_quote(entry.path), calib, level, entry.options, dir)
  if gen_again ~= false then
    local ok, out = sh(gen)
    if not ok then return false, "lenetgen: " .. out end
  end
  local src = dir .. "/" .. entry.name .. ".c"
  local size = #(shellutil.read_file(src) or "")
  -- make test leaves the largest fully unrolled sources to make soak-int8 (CI time);
  -- the tiny networks and random architectures keep --unroll=full in make test
  if level == "full" and size > SAN_MAX_BYTES and not args.big_full then return nil, "over 4 MB at full" end
  local flags = size > SAN_MAX_BYTES and "-O1" or SAN
  local upper = entry.name:upper()
  local compile = string.format("%s %s %s -D%s_TRACE -I%s -DHARNESS_HEADER='\"%s.h\"' -DHARNESS_NAME=%s "
    .. "-DHARNESS_UPPER=%s %s %s/tests/int8/harness_int8.c %s -o %s/harness", CC, cflags.warn, flags, upper, dir,
    entry.name, entry.name, upper, extra or "", root, src, dir)
  local ok, out = sh(compile)
  if not ok then return false, "compile: " .. out:sub(1, 2000) end
  ok, out = sh(string.format("%s/harness %s", dir, data))
  return ok, out
end

-- tests/tiny networks using issue 14's window fields and layers whose code differs between the
-- plans (a pool fused into its conv): run at both. In tiny_dilation, tiny_same, tiny_ceil,
-- tiny_avg_nopad, tiny_maxdil, tiny_bn_fold, tiny_bn_unfolded and tiny_gap_softmax no pool can be
-- fused, and --plan=layered writes the same C but for the options line of the banner.
local BOTH_PLANS = { tiny_depthwise = true }

local function describe_entries()
  local entries = {}
  local models = {}
  table.move(args.model, 1, #args.model, 1, models)
  if #models == 0 then
    local listing = shellutil.capture("ls " .. root .. "/models/*.lua " .. root .. "/tests/tiny/*.lua")
    for path in listing:gmatch("[^\n]+") do models[#models + 1] = path end
  end
  for _, path in ipairs(models) do
    entries[#entries + 1] = { path = path, options = "", seed = nil }
    -- issue 14's fields and layers: the other memory plan too (the default one fuses)
    if BOTH_PLANS[path:match("([^/]+)%.lua$")] then
      entries[#entries + 1] = { path = path, options = "--plan=layered", seed = nil, name_suffix = "_layered" }
    end
  end
  if #args.model == 0 then
    -- the int8 paths the others may miss (see its comment), both plans
    for seed, plan in ipairs({ "fused", "layered" }) do
      entries[#entries + 1] = { path = root .. "/tests/int8/models/int8_mix.lua", seed = seed,
        options = string.format("--random-weights %d --plan=%s", seed, plan), name_suffix = "_" .. plan }
    end
  end
  local from, to = args.seeds:match("^(%d+)%-(%d+)$")
  local random_arch = require("random_arch")
  os.execute("mkdir -p " .. BUILD .. "/arch")
  for seed = tonumber(from or 1), tonumber(to or 0) do
    local path = string.format("%s/arch/rand_%d.lua", BUILD, seed)
    shellutil.write_file(path, random_arch.description(seed, { max_macs = 2000, int8 = true }))
    entries[#entries + 1] = { path = path, seed = seed, options = string.format("--random-weights %d --plan=%s",
      seed, (seed % 2 == 0) and "fused" or "layered") }
  end
  return entries
end

local levels = {}
for level in args.levels:gmatch("[^,]+") do levels[#levels + 1] = level end

-- Descriptions using what the int8 kernels lack (a layer type without int8,
-- a softmax too large for its int32 sum) must be refused in one clean line
-- naming the layer; the rest run.
local quantize = require("lg.quantize")
local supported = {}
for index, entry in ipairs(describe_entries()) do
  if (index - 1) % parts ~= part - 1 then goto next_entry end
  local model = require("lg.model").load(entry.path, { random_seed = entry.seed })
  local ok, err = pcall(quantize.check_support, model)
  if ok then
    supported[#supported + 1] = entry
  else
    local message = require("lg.errors").format(err)
    t.check(message:match("^[^\n]+:%d+: error: layer %d+ %([%w_]+%): %-%-quantize=int8 does not support [^\n]+$")
      ~= nil, entry.path .. ": refused by --quantize=int8 in one line naming the layer", message)
  end
  ::next_entry::
end

local entries = supported
-- LeNet-5's own checks below run in the part that has it
local has_lenet5 = false
for _, entry in ipairs(entries) do
  if entry.path:match("models/lenet5%.lua$") and not entry.name_suffix then has_lenet5 = true end
end
for _, entry in ipairs(entries) do
  local model = require("lg.model").load(entry.path, { random_seed = entry.seed })
  entry.name = model.name
  local base = BUILD .. "/" .. model.name .. (entry.name_suffix or "")
  os.execute("mkdir -p " .. base)
  local calib = base .. "/calib.safetensors"
  int8lib.write_calibration(model, calib, 8, entry.seed or 1)
  local q, c = int8lib.quantize(model, calib)
  local data = base .. "/cases.bin"
  int8lib.write_data(model, q, int8lib.input_cases(model, q, c.inputs, entry.seed or 1), data)
  for _, level in ipairs(levels) do
    local ok, detail = run_one(entry, level, base .. "/" .. level, calib, data)
    if ok == nil then
      print(string.format("skip %s --unroll=%s: %s (run with --big-full: make soak-int8)", entry.path, level, detail))
    else
      t.check(ok, string.format("%s --unroll=%s %s: bit-exact with the integer reference", entry.path, level,
        entry.options), detail)
    end
    -- the __ARM_FEATURE_DSP path (__smlad on packed weight pairs), its intrinsics emulated in C
    local src = base .. "/" .. level .. "/" .. entry.name .. ".c"
    if ok and (shellutil.read_file(src) or ""):find("__smlad(", 1, true) then
      ok, detail = run_one(entry, level, base .. "/" .. level, calib, data, DSP_EMULATION, false)
      t.check(ok, string.format("%s --unroll=%s %s: DSP path (ACLE emulated) bit-exact with the integer reference",
        entry.path, level, entry.options), detail)
    end
  end
end

-- Every generated file also compiles warning-free with clang and arm-none-eabi-gcc (-O2, -Os).
for _, entry in ipairs(entries) do
  for _, level in ipairs(levels) do
    local dir = BUILD .. "/" .. entry.name .. (entry.name_suffix or "") .. "/" .. level
    local src = dir .. "/" .. entry.name .. ".c"
    if #(shellutil.read_file(src) or "") <= SAN_MAX_BYTES then
      for _, cc in ipairs({ "clang -O2", "arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard "
        .. "-mfpu=fpv4-sp-d16 -Os" }) do
        local ok, out = sh(string.format("%s %s -c %s -o %s/strict.o", cc, cflags.warn, src, dir))
        t.check(ok, string.format("%s --unroll=%s: warning-free under %s", entry.path, level, cc:match("^%S+")), out)
      end
    end
  end
end

-- _infer_int8 uses no floating point: on Cortex-M0+ (no FPU) only _infer, the float
-- wrapper, may call the soft-float routines. LeNet-5, and the tiny networks of the
-- int8 batch norm, slope, softmax and average steps (--unroll=kernel).
local function check_nofloat(name, level, what)
  local dir = BUILD .. "/" .. name .. "/" .. level
  local ok, out = sh(string.format("arm-none-eabi-gcc %s -mcpu=cortex-m0plus -mthumb -O2 -ffunction-sections "
    .. "-c %s/%s.c -o %s/m0plus.o && arm-none-eabi-objdump -r %s/m0plus.o", cflags.warn, dir, name, dir, dir))
  local section, bad, seen = nil, {}, 0
  for line in out:gmatch("[^\n]+") do
    section = line:match("^RELOCATION RECORDS FOR %[(.-)%]") or section
    local sym = line:match("(__aeabi_[fd]%w*)") or line:match("(__aeabi_u?[il]2[fd])")
    if sym then
      seen = seen + 1
      if section ~= ".text." .. name .. "_infer" then bad[#bad + 1] = section .. ": " .. sym end
    end
  end
  t.check(ok and seen > 0 and #bad == 0, string.format("%s --unroll=%s on Cortex-M0+: soft-float "
    .. "routines only in the float wrapper _infer", what, level), ok and table.concat(bad, "\n") or out)
end
for _, level in ipairs(levels) do
  if has_lenet5 and (level ~= "full" or args.big_full) then check_nofloat("lenet5", level, "LeNet-5") end
end
for _, name in ipairs({ "tiny_bn_fold", "tiny_bn_unfolded", "tiny_gap_softmax" }) do
  local src = BUILD .. "/" .. name .. "/kernel/" .. name .. ".c"
  if shellutil.read_file(src) then check_nofloat(name, "kernel", name) end
end

-- A one-step change in one int8 weight of generated LeNet-5 code is caught.
if has_lenet5 then
  local dir = BUILD .. "/lenet5/kernel"
  local src = dir .. "/lenet5.c"
  local text = shellutil.read_file(src)
  if t.check(text ~= nil, "mutation: generated LeNet-5 kernel-level code exists", src) then
    -- the first value of layer 0's weights, one code up (or down at 127), in
    -- every copy of them: the int8 table and the int32 one of the ARMv6-M
    -- bodies (LG_ARMV6M, which CC="gcc -DLG_INT8_MUL32" of make
    -- test-int8-mul32 compiles)
    local changed, v = text, nil
    for _, array in ipairs({ "static const int8_t lenet5_layer0_weight[", "static const int32_t lenet5_layer0_weight32[" }) do
      local at = changed:find(array, 1, true)
      if at then
        local s, e, value = changed:find("{ (%-?%d+),", at)
        v = tonumber(value)
        changed = changed:sub(1, s + 1) .. tostring(v < 127 and v + 1 or v - 1) .. changed:sub(e)
      end
    end
    local mdir = BUILD .. "/mutant"
    os.execute("mkdir -p " .. mdir)
    shellutil.write_file(mdir .. "/lenet5.c", changed)
    shellutil.write_file(mdir .. "/lenet5.h", shellutil.read_file(dir .. "/lenet5.h"))
    local ok, out = sh(string.format("%s %s %s -DLENET5_TRACE -I%s -DHARNESS_HEADER='\"lenet5.h\"' "
      .. "-DHARNESS_NAME=lenet5 -DHARNESS_UPPER=LENET5 %s/tests/int8/harness_int8.c %s/lenet5.c -o %s/harness",
      CC, cflags.warn, "-O1", mdir, root, mdir, mdir))
    t.check(ok, "mutation: the changed code compiles", out)
    local ran, result = sh(string.format("%s/harness %s/lenet5/cases.bin", mdir, BUILD))
    -- layer 0 is fused with its sigmoid and pool: the step reports as layer 2
    t.check(not ran and result:find("first diverging layer 2", 1, true) ~= nil,
      "mutation: weight code " .. v .. " -> " .. (v < 127 and v + 1 or v - 1) .. " is caught by the trace of "
      .. "layer 0's step", result)
  end
end

-- The DSP path really runs on packed pairs: LeNet-5's kernel-level conv2 uses __smlad, and a change
-- of one packed weight pair is caught with the intrinsics emulated (and ignored by the portable path,
-- which never compiles the pair tables).
if has_lenet5 then
  local dir = BUILD .. "/lenet5/kernel"
  local text = shellutil.read_file(dir .. "/lenet5.c") or ""
  local at = text:find("static const int32_t lenet5_layer3_weight_pairs", 1, true)
  if t.check(at ~= nil and text:find("__smlad(", 1, true) ~= nil,
      "DSP mutation: LeNet-5 kernel-level conv2 has packed weight pairs read by __smlad", dir) then
    local s, e, value = text:find("{ (%-?%d+),", at)
    -- the low half (weight w[oc 0][c 0][ky 0][0]) 32 codes up: one code may round away in conv2
    local bumped = tonumber(value) + 32
    local changed = text:sub(1, s + 1) .. tostring(bumped) .. text:sub(e)
    local mdir = BUILD .. "/mutant-dsp"
    os.execute("mkdir -p " .. mdir)
    shellutil.write_file(mdir .. "/lenet5.c", changed)
    shellutil.write_file(mdir .. "/lenet5.h", shellutil.read_file(dir .. "/lenet5.h"))
    for _, dsp in ipairs({ true, false }) do
      local ok, out = sh(string.format("%s %s -O1 %s -DLENET5_TRACE -I%s -DHARNESS_HEADER='\"lenet5.h\"' "
        .. "-DHARNESS_NAME=lenet5 -DHARNESS_UPPER=LENET5 %s/tests/int8/harness_int8.c %s/lenet5.c -o %s/harness",
        CC, cflags.warn, dsp and DSP_EMULATION or "", mdir, root, mdir, mdir))
      t.check(ok, "DSP mutation: the changed code compiles", out)
      local ran, result = sh(string.format("%s/harness %s/lenet5/cases.bin", mdir, BUILD))
      if dsp then
        -- conv2 (layer 3) is fused with its sigmoid, pool and the flatten: the step reports as layer 6
        t.check(not ran and result:find("first diverging layer 6", 1, true) ~= nil,
          "DSP mutation: packed pair " .. value .. " -> " .. bumped .. " is caught on the DSP path",
          result)
      else
        t.check(ran, "DSP mutation: the portable path does not read the packed pairs", result)
      end
    end
  end
end

t.finish()
