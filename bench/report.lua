#!/usr/bin/env lua5.4
--- report.lua: RESULTS_DIR/results.csv (+ BUILD_DIR/meta.txt) -> RESULTS_DIR/results.md and
-- RESULTS_DIR/speed_vs_size.png (drawn by gnuplot). No measuring: `make bench-report`
-- redraws both from the CSV.
--
--   lua5.4 bench/report.lua --dir BUILD_DIR --results RESULTS_DIR [--default CONFIG]
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/?.lua;" .. script_dir .. "/../tools/?.lua;" .. package.path
local common = require("bench_common")

local function fail(msg)
  io.stderr:write("report: " .. msg .. "\n")
  os.exit(2)
end

local cliargs = require("cliargs")
local parser = cliargs.parser("report.lua", "Write results.md and the chart from results.csv.")
parser:option("--dir", "The benchmark's build directory (meta.txt)."):argname("BUILD_DIR"):count(1)
parser:option("--results", "Where results.csv is and results.md goes."):argname("RESULTS_DIR"):count(1)
parser:option("--default", "The configuration the generator uses by default.", "kernel-fused-builtin")
  :argname("CONFIG")
local opts = cliargs.parse(parser, arg)

local rows = common.read_csv(opts.results .. "/results.csv") or fail("no " .. opts.results .. "/results.csv: run make bench")
local meta = common.read_meta(opts.dir .. "/meta.txt")

local NET_TITLES = {
  lenet5 = "LeNet-5 (models/lenet5.lua, trained weights)",
  lenet5_wide = "LeNet-5 wide (bench/lenet5_wide.lua: 16 and 32 conv channels, --random-weights 1)",
  bench_tiny = "tiny smoke-test network (bench/smoke_tiny.lua, --random-weights 7)",
}

-- ---- number formatting ----
local function us(ns)
  if not ns then return "–" end
  local v = ns / 1000
  if v < 10 then return string.format("%.2f", v) elseif v < 100 then return string.format("%.1f", v) end
  return string.format("%.0f", v)
end

local function us_range(r, prefix)
  local med = r[prefix .. "_median_ns"]
  if not med then return "–" end
  return string.format("%s (%s–%s)", us(med), us(r[prefix .. "_min_ns"]), us(r[prefix .. "_max_ns"]))
end

local function ratio(v)
  if not v then return "–" end
  return string.format(v >= 10 and "%.0fx" or "%.2fx", v)
end

local function instr(v)
  if not v then return "–" end
  if v >= 100000 then return string.format("%.3f M", v / 1e6) end
  return string.format("%d", math.floor(v + 0.5))
end

local function int(v)
  if not v then return "–" end
  if type(v) ~= "number" then return tostring(v) end
  local s = string.format("%d", math.floor(v + 0.5))
  -- thin grouping for readability: 1234567 -> 1,234,567
  local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (out:gsub("^,", ""):gsub("^%-,", "-"))
end

local function secs(r, prefix)
  local e, c, m = r[prefix .. "_s"], r[prefix .. "_cpu_s"], r[prefix .. "_mb"]
  if not e then return "–" end
  return string.format("%.1f (%.1f) / %.0f", e, c or 0, m or 0)
end

local function label(r)
  if r.impl == "baseline" then return "baseline (nested loops)" end
  if r.impl == "reference" then return "reference interpreter (Lua)" end
  if r.impl == "pytorch" then return "PyTorch, batch 1, 1 thread" end
  if r.impl == "reference-int8" then return "integer reference interpreter (Lua, int8)" end
  return "lenetgen " .. r.impl
end

--- "mean / worst (check)" of a QEMU count; prefix m4f_o2, m4f_os or rv32_o2
local function qemu_cell(r, prefix)
  local mean, max, check = r[prefix .. "_instructions_mean"], r[prefix .. "_instructions_max"], r[prefix .. "_check"]
  if not mean then return "–" end
  local s = instr(mean)
  if max and max ~= mean then s = s .. " / " .. instr(max) end
  if check and check ~= "ok" then s = s .. " (" .. check .. ")" end
  return s
end

local function host_cell(r, prefix)
  local s = us_range(r, prefix)
  if r[prefix .. "_check"] == "differs" then s = s .. " **output differs**" end
  return s
end

-- ---- networks in file order ----
local nets, by_net = {}, {}
for _, r in ipairs(rows) do
  if not by_net[r.net] then
    by_net[r.net] = {}
    nets[#nets + 1] = r.net
  end
  table.insert(by_net[r.net], r)
end

local function sorted_rows(net)
  local order = { baseline = 0, reference = 90, pytorch = 91, ["reference-int8"] = 92 }
  local math_rank = { libm = 0, builtin = 1, int8 = 2 }
  local unroll_rank = { full = 1, kernel = 2, none = 3 }
  local list = {}
  for _, r in ipairs(by_net[net]) do list[#list + 1] = r end
  local function key(r)
    if order[r.impl] then return order[r.impl] * 100 end
    return (unroll_rank[r.unroll] or 5) * 100 + (r.plan == "fused" and 0 or 10) + (math_rank[r.math] or 3)
  end
  table.sort(list, function(a, b) return key(a) < key(b) end)
  return list
end

local out = {}
local function w(s) out[#out + 1] = s or "" end

w("# lenetgen benchmark")
w()
w("Written by `make bench` (mk/bench.mk, bench/measure.lua, bench/report.lua). Raw numbers:")
w("[results.csv](results.csv); chart: [speed_vs_size.png](speed_vs_size.png). Re-run with `make bench`:")
w("builds are cached in build/bench, so a re-run rebuilds only what the generator changed and then")
w("measures everything again. Timings are never asserted by any test.")
w()
w("## Machine and tools")
w()
w(string.format("- CPU: %s, %s logical CPUs, `uname -m` %s (%s); from /proc/cpuinfo", meta.cpu or "?",
  meta.cpus or "?", meta.arch or "?", meta.cpu_flags or "?"))
w(string.format("- measurements one at a time, %s; the build phase ran in parallel before them; load average "
  .. "when measuring started: %s (/proc/loadavg: 1, 5, 15 minutes)",
  (meta.pin or ""):match("taskset") and ("pinned with `" .. meta.pin:gsub("%s+$", "") .. "`") or (meta.pin or "?"),
  meta.load or "?"))
w(string.format("- commit %s%s", meta.commit or "?",
  meta.dirty == "yes" and " with uncommitted changes in gen/, templates/, bench/ or mk/bench.mk" or ""))
w(string.format("- %s; %s; %s; %s; %s; %s; PyTorch %s", meta.gcc or "gcc ?", meta.arm_gcc or "arm-none-eabi-gcc: not installed",
  meta.rv32_gcc or "riscv64-unknown-elf-gcc: not installed", meta.qemu or "qemu-system-arm: not installed", meta.valgrind or "valgrind: not installed", meta.lua or "lua5.4",
  meta.torch or "?"))
w()
w("## How to read the tables")
w()
w("- **host time**: microseconds per inference, median (min–max) of " .. (meta.reps or "?")
  .. " batches, each batch grown to at least " .. string.format("%.0f", (tonumber(meta.min_batch_us) or 0) / 1000)
  .. " ms, after one warm-up batch; the batches are")
w("  run in " .. (meta.rounds or "?") .. " rounds through every program in turn, so that a burst of load hits all")
w("  configurations alike. CPU time of the process (clock_gettime(CLOCK_PROCESS_CPUTIME_ID)), so")
w("  time spent waiting for a core does not count; on a busy machine caches and the sibling hyperthread")
w("  still move it by tens of percent between runs: the instruction counts are the exact figures.")
w("  The reference interpreter: the")
w("  same over " .. (meta.ref_reps or "?") .. " single inferences (os.clock). PyTorch: batch 1, one thread,")
w("  torch.inference_mode(), Python call overhead included.")
w("- **vs baseline**: the baseline's median divided by the row's median, both measured in this run at the")
w("  same optimisation level (higher is faster); the reference and PyTorch rows are compared with the")
w("  baseline at -O2.")
w("- **host instr.**: instructions per inference counted by callgrind on the -O2 build (2N inferences minus N,")
w("  over N), and the baseline's count divided by the row's; valgrind 3.19 does not decode AVX-512, so")
w("  the -O3 -march=native build is not counted.")
w("- **Cortex-M4F instr.**: instructions per inference on QEMU mps2-an386 with `-icount shift=0`, read from")
w("  SysTick by tests/firmware/harness.c: mean / worst over the golden inputs (Fashion-MNIST images and")
w("  the zeros, ±100 and random cases), every output checked against the reference interpreter.")
w("  Instructions, not cycles: a load or a VFMA takes more than one cycle on silicon. The harness is")
w("  always -O2; the network is compiled at the column's level.")
w("- **RV32IMAC instr.**: the same on QEMU virt (riscv64-unknown-elf-gcc -march=rv32imac -mabi=ilp32, no C")
w("  library, soft float from libgcc), counted exactly by the rdinstret CSR (tests/firmware/harness_rv32.c);")
w("  builtin math only (there is no libm), not for `full`.")
w("- **code**: the network's object for Cortex-M4F (arm-none-eabi-gcc, -ffunction-sections): .text plus")
w("  read-only data that is not a weight (tools/footprint); **lib**: library code the inference reaches")
w("  in the linked image (newlib expf, tanhf). **weights**: the weight and bias arrays (flash).")
w("- **act. RAM**: NAME_ACTIVATION_BYTES of the header (generated code: the planned arena; baseline: its")
w("  per-layer buffers); **.bss**: the object's static RAM; input and output belong to the caller.")
w("  **stack**: tools/footprint's worst case of one inference call (-O2).")
w("- **compile**: seconds elapsed (CPU seconds) / peak MB of the compiler for the network's .c alone,")
w("  /usr/bin/time -f '%e %U %S %M'; builds ran in parallel on a shared machine, so elapsed time")
w("  includes waiting: CPU seconds are the steadier figure.")
w()

--- "met" or "**missed**": v <= limit when `le`, else v >= limit.
local function met(v, limit, le)
  if not v then return "not measured" end
  if le then return v <= limit and "met" or "**missed**" end
  return v >= limit and "met" or "**missed**"
end

--- The row of configuration `impl` in a list of rows, or nil.
local function by_impl_of(list, impl)
  for _, r in ipairs(list) do
    if r.impl == impl then return r end
  end
end

for _, net in ipairs(nets) do
  local list = sorted_rows(net)
  w("## " .. (NET_TITLES[net] or net))
  w()
  -- the issue's targets, default configuration
  local def
  for _, r in ipairs(list) do
    if r.impl == opts.default then def = r end
  end
  local base, ref
  for _, r in ipairs(list) do
    if r.impl == "baseline" then base = r elseif r.impl == "reference" then ref = r end
  end
  if def and net == "lenet5" then
    local ref_ratio_o2 = ref and def.host_o2_median_ns and ref.host_o2_median_ns / def.host_o2_median_ns
    w("Issue 6 targets, default configuration (`" .. opts.default .. "`):")
    w()
    w("| target | measured | |")
    w("|---|---|---|")
    w(string.format("| Cortex-M4F -O2 ≤ 0.8 M instructions per inference | %s mean, %s worst | %s |",
      instr(def.m4f_o2_instructions_mean), instr(def.m4f_o2_instructions_max), met(def.m4f_o2_instructions_max, 0.8e6, true)))
    w(string.format("| activation RAM ≤ 6.5 KB (6,656 B) | %s B (header), %s B .bss | %s |", int(def.activation_bytes_header),
      int(def.m4f_static_ram_bytes), met(def.activation_bytes_header, 6656, true)))
    w(string.format("| code ≤ 16 KB (16,384 B) at -Os, Cortex-M4F, weights excluded | %s B (+ %s B library) | %s |",
      int(def.m4f_os_code_bytes), int(def.m4f_os_lib_bytes), met(def.m4f_os_code_bytes, 16384, true)))
    w(string.format("| host -O2 ≥ 4x the baseline | %s | %s |", ratio(def.host_o2_speedup_vs_baseline),
      met(def.host_o2_speedup_vs_baseline, 4)))
    w(string.format("| host -O3 -march=native ≥ 4x the baseline | %s | %s |", ratio(def.host_o3native_speedup_vs_baseline),
      met(def.host_o3native_speedup_vs_baseline, 4)))
    w(string.format("| host -O2 ≥ 4x the reference interpreter | %s | %s |", ratio(ref_ratio_o2), met(ref_ratio_o2, 4)))
    w()
  end
  w("### Speed")
  w()
  w("| implementation | host -O2 µs | vs baseline | host -O3 -march=native µs | vs baseline | host instr. (-O2) | vs baseline | Cortex-M4F instr. -O2 (mean / worst) | Cortex-M4F instr. -Os | RV32IMAC instr. -O2 |")
  w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for _, r in ipairs(list) do
    w(string.format("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", label(r), host_cell(r, "host_o2"),
      ratio(r.host_o2_speedup_vs_baseline), host_cell(r, "host_o3native"), ratio(r.host_o3native_speedup_vs_baseline),
      instr(r.host_o2_instructions), ratio(r.host_o2_instructions_ratio_vs_baseline), qemu_cell(r, "m4f_o2"),
      qemu_cell(r, "m4f_os"), qemu_cell(r, "rv32_o2")))
  end
  w()
  -- int8 (issue 13) on the microcontrollers: every target at -O2 and -Os
  local int8_rows = {}
  for _, r in ipairs(list) do
    if r.math == "int8" and r.impl ~= "reference-int8" then int8_rows[#int8_rows + 1] = r end
  end
  local int8_def = by_impl_of(list, "kernel-fused-int8")
  if int8_def and net == "lenet5" then
    local flash = int8_def.m4f_os_code_bytes and int8_def.weight_bytes
      and int8_def.m4f_os_code_bytes + (int8_def.m4f_os_lib_bytes or 0) + int8_def.weight_bytes
    w("Issue 13 and 17 int8 targets (`kernel-fused-int8`; host outputs bit-exact against the integer reference,")
    w("QEMU outputs against its golden codes):")
    w()
    w("| target | measured | |")
    w("|---|---|---|")
    w(string.format("| Cortex-M4F -O2 ≤ 0.6 M instructions per inference | %s mean, %s worst | %s |",
      instr(int8_def.m4f_o2_instructions_mean), instr(int8_def.m4f_o2_instructions_max),
      met(int8_def.m4f_o2_instructions_max, 0.6e6, true)))
    w(string.format("| Cortex-M0+ code -O2 (mps2-an385) ≤ 2.0 M | %s mean, %s worst | %s |",
      instr(int8_def.m0plus_o2_instructions_mean), instr(int8_def.m0plus_o2_instructions_max),
      met(int8_def.m0plus_o2_instructions_max, 2.0e6, true)))
    w(string.format("| RV32IMAC -O2 ≤ 2.0 M (issue 17) | %s mean, %s worst | %s |",
      instr(int8_def.rv32_o2_instructions_mean), instr(int8_def.rv32_o2_instructions_max),
      met(int8_def.rv32_o2_instructions_max, 2.0e6, true)))
    w(string.format("| flash at -Os on M4F: code + library + weights and tables ≤ 80 KB (81,920 B) | %s B (%s + %s + %s) | %s |",
      int(flash), int(int8_def.m4f_os_code_bytes), int(int8_def.m4f_os_lib_bytes), int(int8_def.weight_bytes),
      met(flash, 81920, true)))
    w(string.format("| activation RAM ≤ 3,200 B | %s B (header) | %s |", int(int8_def.activation_bytes_header),
      met(int8_def.activation_bytes_header, 3200, true)))
    w()
  end
  if #int8_rows > 0 then
    w("### int8 on the microcontrollers (instructions per inference, mean / worst; code bytes)")
    w()
    w("| implementation | Cortex-M4F -O2 | Cortex-M4F -Os | Cortex-M0+ -O2 | Cortex-M0+ -Os | RV32IMAC -O2 | RV32IMAC -Os | M4F code -Os | M0+ code -O2 | M0+ code -Os |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for _, r in ipairs(int8_rows) do
      w(string.format("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", label(r), qemu_cell(r, "m4f_o2"),
        qemu_cell(r, "m4f_os"), qemu_cell(r, "m0plus_o2"), qemu_cell(r, "m0plus_os"), qemu_cell(r, "rv32_o2"),
        qemu_cell(r, "rv32_os"), int(r.m4f_os_code_bytes), int(r.m0plus_o2_code_bytes), int(r.m0plus_os_code_bytes)))
    end
    w()
  end
  w("### Size and build (bytes unless stated)")
  w()
  w("| implementation | Cortex-M4F code -O2 | code -Os | lib -O2 | weights | act. RAM | .bss | stack | C source | gcc -O2 s (CPU) / MB | arm-none-eabi-gcc -O2 s (CPU) / MB |")
  w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for _, r in ipairs(list) do
    if r.impl ~= "reference" and r.impl ~= "pytorch" and r.impl ~= "reference-int8" then
      w(string.format("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", label(r), int(r.m4f_o2_code_bytes),
        int(r.m4f_os_code_bytes), int(r.m4f_o2_lib_bytes), int(r.weight_bytes), int(r.activation_bytes_header),
        int(r.m4f_static_ram_bytes), r.m4f_o2_stack_bytes and tostring(r.m4f_o2_stack_bytes) or "–",
        int(r.c_source_bytes), secs(r, "compile_host_o2"), secs(r, "compile_m4f_o2")))
    end
  end
  w()
  local missing = {}
  for _, r in ipairs(list) do
    if r.note then missing[#missing + 1] = "- " .. r.impl .. ": " .. r.note end
  end
  if #missing > 0 then
    w("Not measured:")
    w()
    for _, m in ipairs(missing) do w(m) end
    w()
  end
end

w("## Left out")
w()
local with_full, without_full = {}, {}
for _, net in ipairs(nets) do
  local has = false
  for _, r in ipairs(by_net[net]) do
    if r.unroll == "full" then has = true end
  end
  if has then with_full[#with_full + 1] = net else without_full[#without_full + 1] = net end
end
if #with_full > 0 then
  w("- `--unroll=full` (" .. table.concat(with_full, ", ") .. ") is built once, at -O2 (host and Cortex-M4F):")
  w("  its compile takes minutes and gigabytes (see its compile column), so it has no -Os and no")
  w("  -O3 -march=native build. `make bench BENCH_FULL=no` skips it.")
  w("- With `full`, gcc folds the constant weight reads into the code (literal pools): the weights")
  w("  column counts only the arrays left, the rest of the weights is inside the code column.")
end
for _, net in ipairs(without_full) do
  if net == "lenet5_wide" then
    w("- No `--unroll=full` for the wide variant: about four times LeNet-5's multiply-accumulates, its")
    w("  compile would not fit the benchmark's time budget (LeNet-5's alone takes minutes).")
  elseif net ~= "bench_tiny" then
    w("- No `--unroll=full` for " .. net .. " (BENCH_FULL=no).")
  end
end
w("- Cortex-M4F figures are QEMU instruction counts, not cycles on silicon.")
w("- int8 (`UNROLL-PLAN-int8`, `--quantize=int8 --calibration NET/calibration.safetensors`): no `full`")
w("  build (its float twin already takes minutes); the host rows time `NAME_infer_int8` on a fixed")
w("  pattern of input codes, so they exclude the float wrapper's quantize and dequantize; the")
w("  integer reference row is timed like the float one. Its weights column is the int8 weights,")
w("  int32 biases and per-channel multipliers and shifts (tools/footprint).")
for _, n in ipairs(meta.notes or {}) do w("- " .. n) end
w()
w("## Commands")
w()
w("```")
w("make bench            # everything; knobs: BENCH_NETS, BENCH_FULL=no, BENCH_REPS, BENCH_CPU, BENCH_JOBS")
w("make bench-report     # redraw results.md and the chart from results.csv")
w("# generation (per configuration), e.g.")
w("gen/lenetgen models/lenet5.lua -o DIR --unroll=kernel --plan=fused --math=libm")
w("gen/lenetgen bench/lenet5_wide.lua -o DIR --unroll=kernel --plan=fused --math=libm --random-weights 1")
w("lua5.4 tools/make-calibration models/lenet5.lua --images /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \\")
w("    --count 500 -o build/bench/lenet5/calibration.safetensors                 # int8: the first 500 training images")
w("gen/lenetgen models/lenet5.lua -o DIR --unroll=kernel --plan=fused --math=builtin --quantize=int8 \\")
w("    --calibration build/bench/lenet5/calibration.safetensors")
w("lua5.4 bench/export_baseline.lua models/lenet5.lua -o DIR      # baseline weights, buffers, API header")
w("# compiles (each wrapped in /usr/bin/time -f '%e %U %S %M' and timeout)")
w("gcc -O2 | -O3 -march=native  " .. require("cflags").warn .. " -c NAME.c")
w("arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffunction-sections -fdata-sections \\")
w("    -fstack-usage -O2 | -Os (same warnings) -c NAME.c")
w("riscv64-unknown-elf-gcc -march=rv32imac -mabi=ilp32 -ffreestanding -ffunction-sections -fdata-sections \\")
w("    -O2 (same warnings) -c NAME.c                        # int8 also -Os")
w("arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft -ffunction-sections -fdata-sections \\")
w("    -fstack-usage -O2 | -Os (same warnings) -c NAME.c     # int8 only")
w("# measurements (examples of the exact commands run)")
for _, k in ipairs({ "host", "callgrind", "qemu", "qemu_m0plus", "qemu_rv32", "footprint", "reference",
    "reference_int8", "pytorch" }) do
  if meta["cmd_" .. k] then w(meta["cmd_" .. k]) end
end
w("```")
w()

local md = table.concat(out, "\n")
local f = io.open(opts.results .. "/results.md", "w") or fail("cannot write results.md")
f:write(md)
f:close()

-- ---- the chart ----
local function have(cmd) return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true end
if not have("gnuplot") then
  io.stderr:write("report: gnuplot not installed (apt-get install gnuplot-nox): no chart\n")
  os.exit(0)
end
-- One row of two panels per network: Cortex-M4F instructions and host time, each against
-- Cortex-M4F code size, a legend entry per point. Shape by unroll level (triangle baseline,
-- square full, circle kernel, diamond none), filled for the fused plan and open for layered,
-- colour by math (blue libm, orange builtin). Points that coincide (the same code size,
-- speeds within 3%) share one entry.
local SHAPE = { baseline = { 9, 9 }, full = { 5, 4 }, kernel = { 7, 6 }, none = { 13, 12 } } -- filled, open
local COLOR = { libm = "#1f77b4", builtin = "#ff7f0e", int8 = "#2ca02c", baseline = "#333333" }

--- "none-fused-libm" + "none-layered-libm" -> "none-fused/layered-libm"
local function merge_labels(a, b)
  local wa, wb = {}, {}
  for x in a:gmatch("[^-]+") do wa[#wa + 1] = x end
  for x in b:gmatch("[^-]+") do wb[#wb + 1] = x end
  if #wa ~= #wb then return a .. " = " .. b end
  for i = 1, #wa do
    if wa[i] ~= wb[i] and not ("/" .. wa[i] .. "/"):find("/" .. wb[i] .. "/", 1, true) then
      wa[i] = wa[i] .. "/" .. wb[i]
    end
  end
  return table.concat(wa, "-")
end

--- Points of one panel: { x, y, pt, color, label }, coinciding ones merged.
local function panel_points(net, ycol, scale)
  local points = {}
  for _, r in ipairs(sorted_rows(net)) do
    local x, y = r.m4f_o2_code_bytes, r[ycol]
    if x and y then
      local base = r.impl == "baseline"
      local shape = SHAPE[base and "baseline" or r.unroll] or SHAPE.kernel
      local p = { x = x, y = y / scale, pt = shape[(base or r.plan == "fused") and 1 or 2],
        color = COLOR[base and "baseline" or r.math] or COLOR.libm, label = base and "baseline (loops)" or r.impl }
      local merged = false
      for _, q in ipairs(points) do
        if q.color == p.color and math.abs(q.x - x) <= 0.02 * x and math.abs(q.y - p.y) <= 0.03 * q.y then
          q.label = merge_labels(q.label, p.label)
          merged = true
          break
        end
      end
      if not merged then points[#points + 1] = p end
    end
  end
  return points
end

local gp = {
  string.format("set terminal pngcairo size 1600,%d font 'sans,10'", 80 + 480 * #nets),
  string.format("set output '%s/speed_vs_size.png'", opts.results),
  string.format("set multiplot layout %d,2 title 'lenetgen: speed against code size per configuration "
    .. "(lower left is better; code = Cortex-M4F -O2 object, weights excluded)'", #nets),
  "set logscale xy",
  "set grid",
  "set key outside right top font ',8' spacing 1.1",
  "set xlabel 'Cortex-M4F code at -O2, bytes (log)'",
  "set format x '%.0s%c'",
  "set format y '%.0s%c'",
}
for _, net in ipairs(nets) do
  local title = (NET_TITLES[net] or net):match("^([^(]+)"):gsub("%s+$", "")
  for _, panel in ipairs({
    { "m4f", "m4f_o2_instructions_mean", 1, "Cortex-M4F instructions / inference, -O2, QEMU" },
    { "host", "host_o2_median_ns", 1000, "host time / inference, -O2, median µs" },
  }) do
    local points = panel_points(net, panel[2], panel[3])
    local dat = string.format("%s/plot_%s_%s.dat", opts.dir, net, panel[1])
    local blocks = {}
    for i, p in ipairs(points) do blocks[i] = string.format("# %s\n%d %.6g\n", p.label, p.x, p.y) end
    local df = io.open(dat, "w") or fail("cannot write " .. dat)
    df:write(table.concat(blocks, "\n\n"))
    df:close()
    gp[#gp + 1] = string.format("set title '%s'", title)
    gp[#gp + 1] = string.format("set ylabel '%s'", panel[4])
    local clauses = {}
    for i, p in ipairs(points) do
      clauses[i] = string.format("'%s' index %d using 1:2 with points pt %d ps 1.6 lw 1.5 lc rgb '%s' title '%s'",
        dat, i - 1, p.pt, p.color, p.label)
    end
    if #clauses > 0 then
      gp[#gp + 1] = "plot " .. table.concat(clauses, ", ")
    else
      gp[#gp + 1] = "set label 1 'not measured' at graph 0.5, graph 0.5 center"
      gp[#gp + 1] = "plot [1:10] [1:10] NaN notitle"
      gp[#gp + 1] = "unset label 1"
    end
  end
end
gp[#gp + 1] = "unset multiplot"
local gpath = opts.dir .. "/speed_vs_size.gp"
local gf = io.open(gpath, "w") or fail("cannot write " .. gpath)
gf:write(table.concat(gp, "\n"), "\n")
gf:close()
if os.execute("gnuplot " .. gpath) ~= true then fail("gnuplot failed on " .. gpath) end
