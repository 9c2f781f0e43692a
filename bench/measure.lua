#!/usr/bin/env lua5.4
--- measure.lua: the measuring half of `make bench` (mk/bench.mk builds everything first).
--
--   lua5.4 bench/measure.lua --dir BUILD_DIR --results RESULTS_DIR [--cpu N] [--reps N]
--          [--min-batch-us US] [--ref-reps N] [--rounds N] [--qemu-timeout S] [--torch yes|no] NET:MODEL:SEED:CFG,CFG,... ...
--
-- One thing at a time, pinned to one core (taskset -c N) when taskset exists, for each
-- network and each configuration built by mk/bench.mk (see there for the layout):
--   host time       bench/driver.c "time": min/median/max ns per inference, CPU time, -O2
--                   and -O3 -march=native, in rounds across all programs (--rounds, default
--                   3, of reps/rounds batches each); the output is checked against the reference
--   host instr.     callgrind, -O2 build: instructions of 2N inferences minus N, over N
--   Cortex-M4F      QEMU mps2-an386 with -icount shift=0 running tests/firmware/harness.c
--                   (SysTick instruction count, outputs checked against the reference
--                   interpreter's), -O2 and -Os; sizes from tools/footprint
--   int8            (configurations UNROLL-PLAN-int8) host outputs bit-exact against the
--                   integer reference (bench/ref_bench.lua --int8 NET/calibration.safetensors,
--                   its own row "reference-int8"), plus Cortex-M0+ code on QEMU mps2-an385 and
--                   RV32IMAC at -O2 and -Os, against int8 golden codes
--   compile         the .time files of the build (elapsed, CPU, peak memory)
-- plus the reference interpreter (bench/ref_bench.lua) and PyTorch (bench/torch_bench.py,
-- when /usr/bin/python3 imports torch). Writes RESULTS_DIR/results.csv and BUILD_DIR/meta.txt
-- (machine, tools, commands); bench/report.lua turns both into results.md and the chart.
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/?.lua;" .. script_dir .. "/../gen/?.lua;" .. script_dir .. "/../tools/?.lua;" .. package.path
local common = require("bench_common")
local read = require("lg.files").read


local function fail(msg)
  io.stderr:write("measure: " .. msg .. "\n")
  os.exit(2)
end

local function parse_args(args)
  local cliargs = require("cliargs")
  local parser = cliargs.parser("measure.lua", "Measure the built benchmark configurations.")
  parser:option("--dir", "The benchmark's build directory."):argname("DIR"):count(1)
  parser:option("--results", "Where results.csv goes."):argname("DIR"):count(1)
  parser:option("--cpu", "The core the measurements are pinned to."):argname("N")
  parser:option("--reps", "Timed batches per host program.", "21"):argname("N"):convert(cliargs.integer)
  parser:option("--min-batch-us", "Length of one batch.", "20000"):argname("US"):convert(cliargs.number)
  parser:option("--ref-reps", "Runs of the reference interpreter.", "5"):argname("N"):convert(cliargs.integer)
  parser:option("--rounds", "Rounds through all the programs.", "3"):argname("N"):convert(cliargs.integer)
  parser:option("--qemu-timeout", "Seconds one QEMU run may take.", "300"):argname("S"):convert(cliargs.number)
  parser:option("--torch", "Measure PyTorch too.", "yes"):choices({ "yes", "no" })
  parser:argument("plan", "The networks and their configurations."):args("+"):argname("NET:MODEL:SEED:CFG,CFG,...")
  local opts = cliargs.parse(parser, args, function(a)
    a.nets = {}
    for _, item in ipairs(a.plan) do
      local net, model, seed, cfgs = item:match("^([%w_]+):([^:]+):(%d*):(.+)$")
      if not net then return "bad plan item " .. item end
      local list = {}
      for c in cfgs:gmatch("[^,]+") do list[#list + 1] = c end
      a.nets[#a.nets + 1] = { name = net, model = model, seed = seed ~= "" and seed or nil, configs = list }
    end
  end)
  opts.torch = opts.torch ~= "no"
  if opts.reps % 2 == 0 then opts.reps = opts.reps + 1 end -- an odd count has a true median
  if opts.rounds < 1 then fail("--rounds must be at least 1") end
  return opts
end

local sh = common.shell_quote

--- Runs a shell command; returns its standard output (and error, merged) and success.
local function run(cmd)
  local p = io.popen(cmd .. " 2>&1", "r")
  local out = p:read("a")
  local ok = p:close()
  return out, ok == true
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function file_size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

local function have(cmd)
  return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true
end

local function first_line(cmd)
  local out, ok = run(cmd)
  if not ok then return nil end
  return (out:match("[^\n]+"))
end

-- "output v0 v1 ..." and "time_ns min med max batch reps" of driver, ref_bench, torch_bench
local function parse_bench(out)
  local r = {}
  local o = out:match("output([^\n]*)")
  if o then
    r.output = {}
    for v in o:gmatch("%S+") do r.output[#r.output + 1] = tonumber(v) end
  end
  local mn, md, mx, batch = out:match("time_ns (%S+) (%S+) (%S+) (%d+)")
  if mn then r.min, r.med, r.max, r.batch = tonumber(mn), tonumber(md), tonumber(mx), tonumber(batch) end
  return r
end

--- Largest |got - want| and whether all agree within the project's tolerance
-- (1e-5 + 1e-5 |want|, tests/harness/lgcheck.lua), or exactly when `exact` (int8 codes).
local function compare(got, want, exact)
  if not got or not want or #got ~= #want then return nil, false end
  local worst, ok = 0, true
  local tolerance = exact and function() return 0 end or function(w) return 1e-5 + 1e-5 * math.abs(w) end
  for i = 1, #want do
    local d = math.abs(got[i] - want[i])
    if d ~= d then d = math.huge end
    if d > worst then worst = d end
    if not (d <= tolerance(want[i])) then ok = false end
  end
  return worst, ok
end

--- The compile record of an object: elapsed, cpu seconds, peak MB; or a reason it is missing.
local function compile_record(obj)
  if exists(obj .. ".timedout") then
    return { note = "compile timed out after " .. (read(obj .. ".timedout") or "?"):gsub("%s+", "") .. " s" }
  end
  local t = read(obj .. ".time")
  if not t then return { note = "not built" } end
  local e, u, s, m = t:match("([%d%.]+) ([%d%.]+) ([%d%.]+) (%d+)%s*$")
  if not e then return { note = "no timing" } end
  local r = { elapsed = tonumber(e), cpu = tonumber(u) + tonumber(s), mb = tonumber(m) / 1024 }
  if not exists(obj) then r.note = "compile failed (" .. obj .. ".log)" end
  return r
end

--- Reads a firmware harness's report (tests/firmware/harness.c or harness_rv32.c) into
-- row[key_instr_max], row[key_instr_mean] and row[key_check]; returns the check word.
local function read_harness(row, key, out)
  local worst, mean = out:match("instructions per inference: (%d+) %(worst of %d+ inputs; min %d+, mean (%d+)")
  local passed, failed = out:match("(%d+) passed, (%d+) failed")
  row[key .. "_instr_max"], row[key .. "_instr_mean"] = tonumber(worst), tonumber(mean)
  row[key .. "_check"] = passed and (failed == "0" and "ok" or (failed .. " failed")) or "no result"
  return row[key .. "_check"]
end

-- The QEMU board of each ARM target: no Cortex-M0+ board exists, so ARMv6-M code runs on the
-- Cortex-M3 mps2-an385 (as in mk/firmware.mk).
local ARM_BOARDS = {
  m4f = { machine = "mps2-an386", title = "Cortex-M4F" },
  m0plus = { machine = "mps2-an385", title = "Cortex-M0+" },
}

local function main(args)
  local opts = parse_args(args)
  local load_at_start = (read("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)")
  local pin = (opts.cpu and have("taskset")) and ("taskset -c " .. opts.cpu .. " ") or ""
  local have_valgrind, have_qemu = have("valgrind"), have("qemu-system-arm")
  local have_qemu_rv32 = have("qemu-system-riscv32")
  local torch_version = opts.torch and first_line("/usr/bin/python3 -c 'import torch; print(torch.__version__)'")
  local rows, notes = {}, {}
  local function note(msg)
    notes[#notes + 1] = msg
    io.stderr:write("measure: " .. msg .. "\n")
  end
  local commands = {}
  local timing_jobs = {}
  local function remember(kind, cmd)
    if not commands[kind] then commands[kind] = cmd end
  end

  for _, net in ipairs(opts.nets) do
    local name = net.name
    local seed_opt = net.seed and (" --random-weights " .. net.seed) or ""
    io.stderr:write(string.format("measure: %s (%s%s)\n", name, net.model, seed_opt))

    -- the reference interpreter: its output is what every implementation is checked against
    local cmd = string.format("%slua5.4 bench/ref_bench.lua %s%s --reps %d", pin, sh(net.model), seed_opt, opts.ref_reps)
    remember("reference", cmd)
    local ref = parse_bench((run(cmd)))
    if not ref.output then fail("the reference interpreter failed: " .. cmd) end
    rows[#rows + 1] = { net = name, impl = "reference", unroll = "", plan = "", math = "double",
      o2 = ref, o2_diff = 0, o2_ok = true }

    -- the integer reference, for the int8 configurations: their outputs must equal its codes
    local ref_int8
    local calib = string.format("%s/%s/calibration.safetensors", opts.dir, name)
    local wants_int8 = false
    for _, c in ipairs(net.configs) do wants_int8 = wants_int8 or c:match("%-int8$") ~= nil end
    if wants_int8 then
      cmd = string.format("%slua5.4 bench/ref_bench.lua %s%s --reps %d --int8 %s", pin, sh(net.model), seed_opt,
        opts.ref_reps, sh(calib))
      remember("reference_int8", cmd)
      ref_int8 = parse_bench((run(cmd)))
      if not ref_int8.output then fail("the integer reference failed: " .. cmd) end
      rows[#rows + 1] = { net = name, impl = "reference-int8", unroll = "", plan = "", math = "int8",
        o2 = ref_int8, o2_diff = 0, o2_ok = true }
    end

    -- PyTorch
    local base_gen = string.format("%s/%s/baseline-loops/gen-libm", opts.dir, name)
    if torch_version and exists(base_gen .. "/" .. name .. ".arch") then
      cmd = string.format("%s/usr/bin/python3 bench/torch_bench.py %s %s --reps %d --min-batch-us %s", pin,
        sh(base_gen .. "/" .. name .. ".arch"), sh(base_gen .. "/" .. name .. ".safetensors"), opts.reps,
        math.tointeger(opts.min_batch_us) or opts.min_batch_us)
      remember("pytorch", cmd)
      local t = parse_bench((run(cmd)))
      local row = { net = name, impl = "pytorch", unroll = "", plan = "", math = "torch " .. torch_version, o2 = t }
      row.o2_diff, row.o2_ok = compare(t.output, ref.output)
      if not t.med then note(name .. ": PyTorch run failed: " .. cmd) end
      rows[#rows + 1] = row
    elseif opts.torch and not torch_version then
      note("PyTorch: /usr/bin/python3 cannot import torch (apt-get install python3-torch): not measured")
    end

    for _, cfg in ipairs(net.configs) do
      local unroll, plan, math_opt = cfg:match("^(%w+)%-(%w+)%-(%w+)$")
      local vdir = string.format("%s/%s/%s-%s", opts.dir, name, unroll, plan)
      local gen = vdir .. "/gen-" .. math_opt
      local is_base = unroll == "baseline"
      local int8 = math_opt == "int8"
      local row = { net = name, impl = is_base and "baseline" or cfg, unroll = is_base and "loops" or unroll,
        plan = is_base and "per-layer" or plan, math = math_opt }
      io.stderr:write("measure:   " .. cfg .. "\n")
      row.c_bytes = (file_size(gen .. "/" .. name .. ".c") or 0) + (file_size(gen .. "/" .. name .. "_net.h") or 0)
      local header = read(gen .. "/" .. name .. ".h") or ""
      local up = name:upper()
      row.act_bytes = tonumber(header:match("#define%s+" .. up .. "_ACTIVATION_BYTES%s+(%d+)"))
      row.weight_bytes = tonumber(header:match("#define%s+" .. up .. "_WEIGHT_BYTES%s+(%d+)"))

      -- host time and output: queued, measured below in rounds across all configurations
      for _, opt in ipairs({ "O2", "O3native" }) do
        local key = opt == "O2" and "o2" or "o3"
        local dir = string.format("%s/host-%s-%s", vdir, opt, math_opt)
        local exe = dir .. "/bench"
        if unroll ~= "full" or opt == "O2" then row["cc_" .. key] = compile_record(dir .. "/" .. name .. ".o") end
        if exists(exe) then
          timing_jobs[#timing_jobs + 1] = { row = row, key = key, exe = exe, what = string.format("%s %s host -%s",
            name, cfg, opt), ref = int8 and ref_int8.output or ref.output, exact = int8, times = {} }
        elseif not (unroll == "full" and opt ~= "O2") then
          note(string.format("%s %s host -%s: %s", name, cfg, opt, (row["cc_" .. key] or {}).note or "not built"))
        end
      end

      -- host instructions: callgrind, -O2 (valgrind 3.19 does not know AVX-512, so -march=native is skipped)
      local exe = string.format("%s/host-O2-%s/bench", vdir, math_opt)
      if have_valgrind and exists(exe) then
        local n = 4
        local counts = {}
        for k, count in ipairs({ n, 2 * n }) do
          cmd = string.format("valgrind --tool=callgrind --callgrind-out-file=/dev/null %s count %d", sh(exe), count)
          remember("callgrind", cmd)
          local out = run(cmd)
          counts[k] = tonumber((out:match("Collected : (%d+)")))
        end
        if counts[1] and counts[2] then row.host_instr = (counts[2] - counts[1]) / n end
      end

      -- Cortex-M4F (and for int8 Cortex-M0+ code, on the Cortex-M3 board): footprint and QEMU
      local fp_args = {}
      for _, target in ipairs(int8 and { "m4f", "m0plus" } or { "m4f" }) do
        local board = ARM_BOARDS[target]
        for _, opt in ipairs({ "O2", "Os" }) do
          local dir = string.format("%s/%s-%s-%s", vdir, target, opt, math_opt)
          local cc_key = "cc_" .. target
          if opt == "O2" then row[cc_key] = compile_record(dir .. "/" .. name .. ".o") end
          if exists(dir .. "/fp.elf") then
            fp_args[#fp_args + 1] = string.format("%s-%s-%s:arm-none-eabi-gcc", target, opt, math_opt)
          end
          if have_qemu and exists(dir .. "/fw.elf") then
            cmd = string.format("timeout %d qemu-system-arm -M %s -nographic -monitor none -serial none "
              .. "-semihosting-config enable=on,target=native -icount shift=0 -kernel %s", opts.qemu_timeout,
              board.machine, sh(dir .. "/fw.elf"))
            remember(target == "m4f" and "qemu" or "qemu_" .. target, cmd)
            local check = read_harness(row, target .. "_" .. opt:lower(), run(cmd))
            if check ~= "ok" then
              note(string.format("%s %s %s -%s on QEMU: %s", name, cfg, board.title, opt, check))
            end
          elseif exists(string.format("%s/%s.o.timedout", dir, name)) or (opt == "O2" and row[cc_key].note) then
            note(string.format("%s %s %s -%s: %s", name, cfg, board.title, opt,
              compile_record(dir .. "/" .. name .. ".o").note or "not built"))
          end
        end
      end
      -- RV32IMAC (builtin math -O2; int8 -O2 and -Os): QEMU virt
      for _, opt in ipairs(int8 and { "O2", "Os" } or { "O2" }) do
        local rv32_image = string.format("%s/rv32-%s-%s/fw-rv32.elf", vdir, opt, math_opt)
        if have_qemu_rv32 and exists(rv32_image) then
          cmd = string.format("timeout %d qemu-system-riscv32 -M virt -bios none -nographic -monitor none "
            .. "-icount shift=0 -kernel %s", opts.qemu_timeout, sh(rv32_image))
          remember("qemu_rv32", cmd)
          local check = read_harness(row, "rv32_" .. opt:lower(), run(cmd))
          if check ~= "ok" then note(string.format("%s %s RV32IMAC -%s on QEMU: %s", name, cfg, opt, check)) end
        end
      end
      if #fp_args > 0 then
        cmd = string.format("lua5.4 tools/footprint --dir %s --name %s %s", sh(vdir), name, table.concat(fp_args, " "))
        remember("footprint", cmd)
        local out = run(cmd)
        for title, opt, code, lib, weights, ram, stack in
            out:gmatch("| (Cortex%-M%d%+?F?)%s*| %-(O%w)%s*| %w+%s*|%s*(%d+) |%s*(%d+) |%s*(%d+) |%s*(%d+) |%s*(>?=?%s*%d+) |") do
          local key = (title == "Cortex-M4F" and "m4f_" or "m0plus_") .. opt:lower()
          row[key .. "_code"], row[key .. "_lib"] = tonumber(code), tonumber(lib)
          row[key .. "_weights"], row[key .. "_ram"] = tonumber(weights), tonumber(ram)
          row[key .. "_stack"] = stack:gsub("%s", "")
        end
      end
      rows[#rows + 1] = row
    end
  end

  -- Host time, in rounds: every program runs reps/rounds batches per round, one program after
  -- the other, so that a burst of load on a shared machine hits every configuration a little
  -- rather than one of them a lot. Per program: min, median, max over all its batches.
  local rounds = math.min(opts.rounds, opts.reps)
  local per_round = (opts.reps + rounds - 1) // rounds
  io.stderr:write(string.format("measure: host time, %d rounds of %d batches per program\n", rounds, per_round))
  for round = 1, rounds do
    for _, job in ipairs(timing_jobs) do
      local cmd = string.format("%s%s time %d %s", pin, sh(job.exe), per_round,
        math.tointeger(opts.min_batch_us) or opts.min_batch_us)
      remember("host", cmd)
      local out = run(cmd)
      local t = parse_bench(out)
      if round == 1 then
        job.row[job.key .. "_diff"], job.row[job.key .. "_ok"] = compare(t.output, job.ref, job.exact)
        if job.row[job.key .. "_ok"] == false then
          note(string.format("%s: output differs from the reference interpreter by %.3g", job.what,
            job.row[job.key .. "_diff"] or -1))
        end
      end
      local list = out:match("times([^\n]*)")
      if list then
        for v in list:gmatch("%S+") do job.times[#job.times + 1] = tonumber(v) end
      elseif round == 1 then
        note(job.what .. ": the driver failed")
      end
    end
  end
  for _, job in ipairs(timing_jobs) do
    local t = job.times
    if #t > 0 then
      table.sort(t)
      job.row[job.key] = { min = t[1], med = t[(#t + 1) // 2], max = t[#t], n = #t }
    end
  end

  -- speed-ups against the baseline of the same network, measured in this run
  local base = {}
  for _, r in ipairs(rows) do
    if r.impl == "baseline" then base[r.net] = r end
  end
  for _, r in ipairs(rows) do
    local b = base[r.net]
    if b then
      if r.o2 and r.o2.med and b.o2 and b.o2.med then r.o2_speedup = b.o2.med / r.o2.med end
      if r.o3 and r.o3.med and b.o3 and b.o3.med then r.o3_speedup = b.o3.med / r.o3.med end
      if r.host_instr and b.host_instr then r.instr_ratio = b.host_instr / r.host_instr end
    end
  end

  common.write_csv(opts.results .. "/results.csv", rows)

  -- the machine, the tools and the commands, for the report
  local meta = {}
  local function put(k, v) meta[#meta + 1] = k .. "=" .. tostring(v or "?"):gsub("\n", " ") end
  local cpuinfo = read("/proc/cpuinfo") or ""
  local cores = 0
  for _ in cpuinfo:gmatch("\nprocessor%s*:") do cores = cores + 1 end
  if cpuinfo:match("^processor%s*:") then cores = cores + 1 end
  put("cpu", cpuinfo:match("model name%s*:%s*([^\n]+)"))
  put("cpus", cores)
  put("cpu_flags", (cpuinfo:match("\nflags%s*:%s*([^\n]+)") or ""):match("avx512f") and "AVX-512" or
    ((cpuinfo:match("\nflags%s*:%s*([^\n]+)") or ""):match("avx2") and "AVX2" or "no AVX2"))
  put("arch", first_line("uname -m"))
  put("load", load_at_start)
  put("commit", first_line("git rev-parse --short HEAD"))
  local dirty = first_line("git status --porcelain -- gen templates bench mk/bench.mk "
    .. "':(exclude)bench/results.csv' ':(exclude)bench/results.md' ':(exclude)bench/speed_vs_size.png'")
  put("dirty", dirty and "yes" or "no")
  put("gcc", first_line("${CC:-gcc} --version"))
  put("arm_gcc", first_line("arm-none-eabi-gcc --version"))
  put("qemu", first_line("qemu-system-arm --version"))
  put("rv32_gcc", first_line("riscv64-unknown-elf-gcc --version"))
  put("valgrind", first_line("valgrind --version"))
  put("lua", first_line("lua5.4 -v"))
  put("torch", torch_version or (opts.torch and "not installed" or "not measured (BENCH_TORCH=no)"))
  put("pin", pin ~= "" and pin or "not pinned (no taskset)")
  put("reps", opts.reps)
  put("rounds", math.min(opts.rounds, opts.reps))
  put("min_batch_us", opts.min_batch_us)
  put("ref_reps", opts.ref_reps)
  for _, k in ipairs({ "host", "callgrind", "qemu", "qemu_m0plus", "qemu_rv32", "footprint", "reference",
      "reference_int8", "pytorch" }) do
    if commands[k] then put("cmd_" .. k, commands[k]) end
  end
  for i, n in ipairs(notes) do put("note" .. i, n) end
  local f = io.open(opts.dir .. "/meta.txt", "w") or fail("cannot write " .. opts.dir .. "/meta.txt")
  f:write(table.concat(meta, "\n"), "\n")
  f:close()
end

main(arg)
