#!/usr/bin/env lua5.4
--- check_smoke.lua: checks what `make bench-smoke` produced for the tiny network, that the
-- benchmark's scripts work; never how fast anything is.
--
--   lua5.4 bench/check_smoke.lua RESULTS_DIR NET
--
-- Every configuration has a row with a host time, outputs that agree with the reference
-- interpreter, a callgrind count (with valgrind), Cortex-M4F sizes and a QEMU count whose
-- outputs passed the firmware harness (with the ARM tools), compile records; the baseline's
-- speed-up against itself is 1; results.md has a table per network and the chart is a PNG
-- (with gnuplot). The int8 configuration (kernel-fused-int8): host outputs equal to the integer
-- reference's codes (its own row, reference-int8), QEMU runs on Cortex-M4F, Cortex-M0+ code and
-- RV32IMAC at -O2 and -Os that passed against the int8 golden codes. Prints "N passed, N failed".
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/?.lua;" .. script_dir .. "/../tools/?.lua;" .. package.path
local common = require("bench_common")


local T = require("testlib")
local check = T.check
local args = T.parse_args("bench/check_smoke.lua", "Check the benchmark's results on a tiny network.",
  function(p)
    p:argument("dir", "The results directory."):argname("RESULTS_DIR")
    p:argument("net", "The network's name."):argname("NET")
  end)
local dir, net = args.dir, args.net

local function have(cmd) return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true end
local function positive(v) return type(v) == "number" and v > 0 end
local with_arm = have("arm-none-eabi-gcc") and io.open("/usr/lib/arm-none-eabi/newlib") ~= nil
local with_qemu = with_arm and have("qemu-system-arm")
local with_rv32 = have("riscv64-unknown-elf-gcc") and have("qemu-system-riscv32")

local rows = common.read_csv(dir .. "/results.csv")
check(rows ~= nil, "results.csv exists in " .. dir)
rows = rows or {}
local by_impl = {}
for _, r in ipairs(rows) do
  check(r.net == net, "row " .. tostring(r.impl) .. " is for " .. net)
  by_impl[r.impl] = r
end

local expected = { "baseline", "kernel-fused-libm", "none-layered-builtin", "full-fused-libm", "kernel-fused-int8" }
for _, impl in ipairs(expected) do
  local r = by_impl[impl]
  check(r ~= nil, impl .. ": has a row")
  if r then
    local full = impl:match("^full") ~= nil
    check(positive(r.host_o2_median_ns) and r.host_o2_min_ns <= r.host_o2_median_ns
      and r.host_o2_median_ns <= r.host_o2_max_ns, impl .. ": host -O2 min <= median <= max, positive")
    check(r.host_o2_check == "ok", impl .. ": host -O2 output agrees with the reference (" .. tostring(r.host_o2_max_abs_diff) .. ")")
    if not full then
      check(positive(r.host_o3native_median_ns), impl .. ": host -O3 -march=native timed")
      check(r.host_o3native_check == "ok", impl .. ": host -O3 output agrees with the reference")
      check(positive(r.host_o3native_speedup_vs_baseline), impl .. ": -O3 speed-up against the baseline")
    end
    check(positive(r.host_o2_speedup_vs_baseline), impl .. ": -O2 speed-up against the baseline")
    check(positive(r.compile_host_o2_cpu_s) or r.compile_host_o2_cpu_s == 0, impl .. ": host compile recorded")
    check(positive(r.compile_host_o2_mb), impl .. ": host compile peak memory recorded")
    check(positive(r.c_source_bytes), impl .. ": C source size")
    -- fully unrolled, the compiler may fold every weight into the code (0 bytes of arrays)
    check(positive(r.weight_bytes) or (full and r.weight_bytes == 0), impl .. ": weight bytes")
    check(positive(r.activation_bytes_header), impl .. ": activation bytes from the header")
    if have("valgrind") then
      check(positive(r.host_o2_instructions), impl .. ": callgrind instructions per inference")
    end
    if with_arm then
      check(positive(r.m4f_o2_code_bytes), impl .. ": Cortex-M4F -O2 code size")
      check(positive(r.compile_m4f_o2_mb), impl .. ": Cortex-M4F compile recorded")
      if not full then check(positive(r.m4f_os_code_bytes), impl .. ": Cortex-M4F -Os code size") end
    end
    if with_qemu then
      check(r.m4f_o2_check == "ok" and positive(r.m4f_o2_instructions_mean)
        and r.m4f_o2_instructions_mean <= r.m4f_o2_instructions_max, impl .. ": QEMU -O2 passed and counted")
      if not full then
        check(r.m4f_os_check == "ok" and positive(r.m4f_os_instructions_mean), impl .. ": QEMU -Os passed and counted")
      end
    end
    -- RV32IMAC: builtin math or int8 only (no C library)
    if with_rv32 and (impl:match("%-builtin$") or impl:match("%-int8$")) then
      check(r.rv32_o2_check == "ok" and positive(r.rv32_o2_instructions_mean)
        and r.rv32_o2_instructions_mean <= r.rv32_o2_instructions_max, impl .. ": RV32IMAC QEMU -O2 passed and counted")
    end
    if impl:match("%-int8$") then
      check(r.host_o2_max_abs_diff == 0 and r.host_o3native_max_abs_diff == 0,
        impl .. ": host output codes equal the integer reference's (bit-exact)")
      if with_rv32 then
        check(r.rv32_os_check == "ok" and positive(r.rv32_os_instructions_mean), impl .. ": RV32IMAC QEMU -Os passed and counted")
      end
      if with_arm then
        check(positive(r.m0plus_o2_code_bytes) and positive(r.m0plus_os_code_bytes), impl .. ": Cortex-M0+ code sizes")
      end
      if with_qemu then
        for _, opt in ipairs({ "o2", "os" }) do
          check(r["m0plus_" .. opt .. "_check"] == "ok" and positive(r["m0plus_" .. opt .. "_instructions_mean"]),
            impl .. ": Cortex-M0+ QEMU -" .. opt .. " passed and counted")
        end
      end
    end
  end
end
local base = by_impl.baseline
check(base and math.abs((base.host_o2_speedup_vs_baseline or 0) - 1) < 1e-9, "baseline: speed-up 1 against itself")
local ref = by_impl.reference
check(ref and positive(ref.host_o2_median_ns), "reference interpreter timed")
local ref_int8 = by_impl["reference-int8"]
check(ref_int8 and positive(ref_int8.host_o2_median_ns), "integer reference interpreter timed")

local f = io.open(dir .. "/results.md", "r")
local md = f and f:read("a") or ""
if f then f:close() end
check(md:match("## [^\n]*bench/smoke_tiny.lua") ~= nil, "results.md has a section for the network")
check(md:match("| lenetgen kernel%-fused%-libm |") ~= nil, "results.md has a row per configuration")
check(md:match("## Commands") ~= nil, "results.md lists the commands")
check(md:match("| lenetgen kernel%-fused%-int8 |") ~= nil and md:match("### int8 on the microcontrollers") ~= nil,
  "results.md has the int8 rows and the int8 microcontroller table")
if have("gnuplot") then
  f = io.open(dir .. "/speed_vs_size.png", "rb")
  local head = f and f:read(8) or ""
  if f then f:close() end
  check(head == "\137PNG\r\n\26\n", "speed_vs_size.png is a PNG")
end

T.finish()
