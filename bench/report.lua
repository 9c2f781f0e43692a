#!/usr/bin/env lua5.4
--- report.lua: RESULTS_DIR/results.csv (+ BUILD_DIR/meta.txt) -> RESULTS_DIR/results.md and
-- RESULTS_DIR/speed_vs_size.png (drawn by gnuplot). No measuring: `make bench-report`
-- redraws both from the CSV.
--
--   lua5.4 bench/report.lua --dir BUILD_DIR --results RESULTS_DIR [--default CONFIG]
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/?.lua;" .. package.path
local common = require("bench_common")

local function fail(msg)
  io.stderr:write("report: " .. msg .. "\n")
  os.exit(2)
end

local opts, i = { default = "kernel-fused-libm" }, 1
while i <= #arg do
  if arg[i] == "--dir" then opts.dir = arg[i + 1]
  elseif arg[i] == "--results" then opts.results = arg[i + 1]
  elseif arg[i] == "--default" then opts.default = arg[i + 1]
  else fail("usage: report.lua --dir BUILD_DIR --results RESULTS_DIR [--default CONFIG]") end
  i = i + 2
end
if not opts.dir or not opts.results then fail("usage: report.lua --dir BUILD_DIR --results RESULTS_DIR") end

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
  return "lenetgen " .. r.impl
end

local function m4f_cell(r, opt)
  local mean, max, check = r["m4f_" .. opt .. "_instructions_mean"], r["m4f_" .. opt .. "_instructions_max"],
    r["m4f_" .. opt .. "_check"]
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
  local order = { baseline = 0, reference = 90, pytorch = 91 }
  local unroll_rank = { full = 1, kernel = 2, none = 3 }
  local list = {}
  for _, r in ipairs(by_net[net]) do list[#list + 1] = r end
  local function key(r)
    if order[r.impl] then return order[r.impl] * 100 end
    return (unroll_rank[r.unroll] or 5) * 100 + (r.plan == "fused" and 0 or 10) + (r.math == "libm" and 0 or 1)
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
w(string.format("- %s; %s; %s; %s; %s; PyTorch %s", meta.gcc or "gcc ?", meta.arm_gcc or "arm-none-eabi-gcc: not installed",
  meta.qemu or "qemu-system-arm: not installed", meta.valgrind or "valgrind: not installed", meta.lua or "lua5.4",
  meta.torch or "?"))
w()
w("## How to read the tables")
w()
w("- **host time**: microseconds per inference, median (min–max) of " .. (meta.reps or "?")
  .. " batches, each batch grown to at least " .. string.format("%.0f", (tonumber(meta.min_batch_us) or 0) / 1000)
  .. " ms, after one warm-up batch; CPU time of the process (clock_gettime(CLOCK_PROCESS_CPUTIME_ID)),")
w("  so time spent waiting for a core on a shared machine does not count. The reference interpreter: the")
w("  same over " .. (meta.ref_reps or "?") .. " single inferences (os.clock). PyTorch: batch 1, one thread,")
w("  torch.inference_mode(), Python call overhead included.")
w("- **vs baseline**: the baseline's median divided by the row's median, both measured in this run at the")
w("  same optimisation level (higher is faster); the reference and PyTorch rows are compared with the")
w("  baseline at -O2.")
w("- **host instr.**: instructions per inference counted by callgrind on the -O2 build (2N inferences minus N,")
w("  over N); valgrind 3.19 does not decode AVX-512, so the -O3 -march=native build is not counted.")
w("- **Cortex-M4F instr.**: instructions per inference on QEMU mps2-an386 with `-icount shift=0`, read from")
w("  SysTick by tests/firmware/harness.c: mean / worst over the golden inputs (Fashion-MNIST images and")
w("  the zeros, ±100 and random cases), every output checked against the reference interpreter.")
w("  Instructions, not cycles: a load or a VFMA takes more than one cycle on silicon. The harness is")
w("  always -O2; the network is compiled at the column's level.")
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
    local function met(v, limit, le)
      if not v then return "not measured" end
      if le then return v <= limit and "met" or "**missed**" end
      return v >= limit and "met" or "**missed**"
    end
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
  w("| implementation | host -O2 µs | vs baseline | host -O3 -march=native µs | vs baseline | host instr. (-O2) | Cortex-M4F instr. -O2 (mean / worst) | Cortex-M4F instr. -Os |")
  w("|---|---:|---:|---:|---:|---:|---:|---:|")
  for _, r in ipairs(list) do
    w(string.format("| %s | %s | %s | %s | %s | %s | %s | %s |", label(r), host_cell(r, "host_o2"),
      ratio(r.host_o2_speedup_vs_baseline), host_cell(r, "host_o3native"), ratio(r.host_o3native_speedup_vs_baseline),
      instr(r.host_o2_instructions), m4f_cell(r, "o2"), m4f_cell(r, "os")))
  end
  w()
  w("### Size and build (bytes unless stated)")
  w()
  w("| implementation | Cortex-M4F code -O2 | code -Os | lib -O2 | weights | act. RAM | .bss | stack | C source | gcc -O2 s (CPU) / MB | arm-none-eabi-gcc -O2 s (CPU) / MB |")
  w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for _, r in ipairs(list) do
    if r.impl ~= "reference" and r.impl ~= "pytorch" then
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
w("- `--unroll=full` is built once per network at -O2 (host and Cortex-M4F, fused plan, libm):")
w("  its compile takes minutes and gigabytes (see its compile column), so no -Os and no -O3 build.")
w("  `make bench BENCH_FULL=no` skips it.")
if not by_net.lenet5_wide or true then
  w("- The wide variant has no `full` build: about four times LeNet-5's multiply-accumulates, its compile")
  w("  would not fit the benchmark's time budget.")
end
w("- Cortex-M4F figures are QEMU instruction counts, not cycles on silicon.")
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
w("lua5.4 bench/export_baseline.lua models/lenet5.lua -o DIR      # baseline weights, buffers, API header")
w("# compiles (each wrapped in /usr/bin/time -f '%e %U %S %M' and timeout)")
w("gcc -O2 | -O3 -march=native  -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wdouble-promotion -Werror -c NAME.c")
w("arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffunction-sections -fdata-sections \\")
w("    -fstack-usage -O2 | -Os (same warnings) -c NAME.c")
w("# measurements (examples of the exact commands run)")
for _, k in ipairs({ "host", "callgrind", "qemu", "footprint", "reference", "pytorch" }) do
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
local plots_left, plots_right = {}, {}
local COLORS = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd" }
for k, net in ipairs(nets) do
  local dat = string.format("%s/plot_%s.dat", opts.dir, net)
  local lines = { "# m4f_o2_code_bytes m4f_o2_instructions_mean host_o2_median_us label" }
  for _, r in ipairs(sorted_rows(net)) do
    if r.m4f_o2_code_bytes then
      local lab = r.impl == "baseline" and "baseline" or r.impl
      lines[#lines + 1] = string.format("%d %s %s %s", r.m4f_o2_code_bytes,
        r.m4f_o2_instructions_mean and string.format("%d", r.m4f_o2_instructions_mean) or "?",
        r.host_o2_median_ns and string.format("%.3f", r.host_o2_median_ns / 1000) or "?", lab)
    end
  end
  local df = io.open(dat, "w") or fail("cannot write " .. dat)
  df:write(table.concat(lines, "\n"), "\n")
  df:close()
  local title = (NET_TITLES[net] or net):match("^([^(]+)"):gsub("%s+$", "")
  local color = COLORS[(k - 1) % #COLORS + 1]
  plots_left[#plots_left + 1] = string.format(
    "'%s' using 1:2 with points pt 7 ps 1.4 lc rgb '%s' title '%s', '' using 1:2:4 with labels left offset 0.7,0.35 font ',8' tc rgb '%s' notitle",
    dat, color, title, color)
  plots_right[#plots_right + 1] = string.format(
    "'%s' using 1:3 with points pt 7 ps 1.4 lc rgb '%s' title '%s', '' using 1:3:4 with labels left offset 0.7,0.35 font ',8' tc rgb '%s' notitle",
    dat, color, title, color)
end
local gp = {
  "set terminal pngcairo size 1600,700 font 'sans,10'",
  string.format("set output '%s/speed_vs_size.png'", opts.results),
  "set datafile missing '?'",
  "set multiplot layout 1,2 title 'lenetgen: speed against code size per configuration (lower left is better; "
    .. "code = Cortex-M4F -O2 object, weights excluded)'",
  "set logscale xy",
  "set grid",
  "set key top right",
  "set xlabel 'Cortex-M4F code at -O2, bytes (log)'",
  "set ylabel 'Cortex-M4F instructions per inference, -O2, QEMU (log)'",
  "set offsets graph 0.02, graph 0.25, graph 0.05, graph 0.05",
  "plot " .. table.concat(plots_left, ", "),
  "set ylabel 'host time per inference, -O2, median microseconds (log)'",
  "plot " .. table.concat(plots_right, ", "),
  "unset multiplot",
}
local gpath = opts.dir .. "/speed_vs_size.gp"
local gf = io.open(gpath, "w") or fail("cannot write " .. gpath)
gf:write(table.concat(gp, "\n"), "\n")
gf:close()
if os.execute("gnuplot " .. gpath) ~= true then fail("gnuplot failed on " .. gpath) end
