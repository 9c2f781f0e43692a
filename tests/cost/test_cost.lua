#!/usr/bin/env lua5.4
--- Cost that grows only with what it should.
--
-- 1. Counts: geometry.axis_taps and ops.macs (closed forms) equal a brute-force
--    enumeration of every in-bounds tap, here and nowhere in gen/, for thousands of
--    random small geometries: square and rectangular, conv padding up to beyond the
--    kernel, pool padding up to half the kernel, strides leaving gaps.
-- 2. Huge spatial sizes at the limits of validate.lua (4096x4096 input, outputs up to
--    16 Mi values): `gen/lenetgen --explain` and a full generation at the default
--    level (and at none; at full, the code budget) each end within CPU_SECONDS of
--    child CPU time (/usr/bin/time), either generating or refused with the exact
--    --max-code-bytes message and nothing written; the MAC totals --explain prints
--    are checked against the brute-force count.
-- usage: lua5.4 tests/cost/test_cost.lua [-v]      (prints "N passed, N failed")
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/../audit/?.lua;" .. package.path
local A = require("auditlib")
local without_notes = require("shellutil").without_notes   -- check, tmpdir, finish: the audit tests' counters
local geometry = require("lg.geometry")
local ops = require("lg.ops")

-- Generous: every case below takes under 6 s on a loaded 2-core machine; before
-- the closed forms, --explain of the 8-layer case took 70 s.
local CPU_SECONDS = 10
-- A regression is stopped here instead of running for minutes (ulimit -t).
local CPU_KILL_SECONDS = 25

local verbose = require("testlib").parse_args("tests/cost/test_cost.lua", "Cost tests.").verbose
local check = A.check

--------------------------------------------------------------------------------
-- 1. closed forms against brute force
--------------------------------------------------------------------------------
--- Taps of one axis by enumeration: every window position, every kernel tap.
local function brute_axis(count, size, kernel, stride, pad)
  local taps = 0
  for o = 0, count - 1 do
    for k = 0, kernel - 1 do
      local i = o * stride - pad + k
      if i >= 0 and i < size then taps = taps + 1 end
    end
  end
  return taps
end

--- MACs of a conv layer by enumeration of every (output, input channel, tap).
local function brute_conv_macs(layer)
  local c, h, w = table.unpack(layer.in_shape)
  local _, oh, ow = table.unpack(layer.out_shape)
  local k, s, p, d = layer.kernel, layer.stride, layer.padding, layer.dilation
  local taps = 0
  for oy = 0, oh - 1 do
    for ox = 0, ow - 1 do
      for ky = 0, k.h - 1 do
        for kx = 0, k.w - 1 do
          local iy, ix = oy * s.h - p.top + ky * d.h, ox * s.w - p.left + kx * d.w
          if iy >= 0 and iy < h and ix >= 0 and ix < w then taps = taps + 1 end
        end
      end
    end
  end
  return taps * (c // layer.groups) * layer.out_channels
end

local function out_size(n, k, s, p) return (n + 2 * p - k) // s + 1 end

--- A random valid geometry on one axis: size, kernel, stride, padding, output count.
-- pool: padding at most half the kernel (validate.lua's rule for pooling).
local function random_axis(pool)
  local size = math.random(1, 24)
  local pad = pool and 0 or math.random(0, 9)
  local kernel = math.random(1, math.min(size + 2 * pad, 12))
  if pool then pad = math.random(0, kernel // 2) end
  local stride = math.random(1, 6)
  return { n = size, k = kernel, s = stride, p = pad, o = out_size(size, kernel, stride, pad) }
end

math.randomseed(20241111)
local axis_bad, conv_bad, cases = nil, nil, 0
for _ = 1, 4000 do
  local pool = math.random() < 0.3
  local y, x = random_axis(pool), random_axis(pool)
  if math.random() < 0.3 then x = y end   -- square
  cases = cases + 1
  for _, a in ipairs({ y, x }) do
    local got, want = geometry.axis_taps(a.o, a.n, a.k, a.s, a.p), brute_axis(a.o, a.n, a.k, a.s, a.p)
    if got ~= want and not axis_bad then
      axis_bad = string.format("size %d kernel %d stride %d padding %d: %d taps, brute force %d",
        a.n, a.k, a.s, a.p, got, want)
    end
  end
  if not pool then
    local c, oc = math.random(1, 3), math.random(1, 3)
    local layer = { type = "conv2d", out_channels = oc, kernel = { h = y.k, w = x.k },
      stride = { h = y.s, w = x.s }, padding = { top = y.p, left = x.p, bottom = y.p, right = x.p },
      dilation = { h = 1, w = 1 }, groups = 1,
      in_shape = { c, y.n, x.n }, out_shape = { oc, y.o, x.o } }
    local got, want = ops.macs(layer), brute_conv_macs(layer)
    if got ~= want and not conv_bad then
      conv_bad = string.format("input %dx%dx%d kernel %dx%d stride %dx%d padding %dx%d: %d MACs, "
        .. "brute force %d", c, y.n, x.n, y.k, x.k, y.s, x.s, y.p, x.p, got, want)
    end
  end
end
check(axis_bad == nil,
  string.format("axis_taps equals brute force (%d random geometries, conv and pool)", cases), axis_bad)
check(conv_bad == nil, "layer_macs of conv2d equals brute force (random geometries)", conv_bad)

-- dilation, asymmetric padding and groups (issue 14), exhaustively over small sizes
local window_bad, window_cases = nil, 0
for size = 1, 7 do
  for kernel = 1, 3 do
    for dilation = 1, 3 do
      for stride = 1, 2 do
        for before = 0, 2 do
          for after = 0, 2 do
            local span = (kernel - 1) * dilation + 1
            local out = (size + before + after - span) // stride + 1
            for _, groups in ipairs({ 1, 2 }) do
              if out >= 1 then
                window_cases = window_cases + 1
                local layer = { type = "conv2d", out_channels = 2, kernel = { h = kernel, w = 1 },
                  stride = { h = stride, w = 1 }, padding = { top = before, left = 0, bottom = after, right = 0 },
                  dilation = { h = dilation, w = 1 }, groups = groups, in_shape = { 2, size, 1 },
                  out_shape = { 2, out, 1 } }
                local got, want = ops.macs(layer), brute_conv_macs(layer)
                if got ~= want and not window_bad then
                  window_bad = string.format("size %d kernel %d dilation %d stride %d padding %d/%d groups %d: "
                    .. "%d MACs, brute force %d", size, kernel, dilation, stride, before, after, groups, got, want)
                end
              end
            end
          end
        end
      end
    end
  end
end
check(window_bad == nil, string.format("conv2d MACs with dilation, asymmetric padding and groups equal brute "
  .. "force (%d geometries)", window_cases), window_bad)

-- every corner of the padding rule at one small size, exhaustively
local corner_bad
for size = 1, 9 do
  for kernel = 1, 9 do
    for pad = 0, 9 do
      for stride = 1, 9 do
        if kernel <= size + 2 * pad then
          local o = out_size(size, kernel, stride, pad)
          local got, want = geometry.axis_taps(o, size, kernel, stride, pad), brute_axis(o, size, kernel, stride, pad)
          if got ~= want and not corner_bad then
            corner_bad = string.format("size %d kernel %d stride %d padding %d: %d, brute force %d",
              size, kernel, stride, pad, got, want)
          end
        end
      end
    end
  end
end
check(corner_bad == nil, "axis_taps equals brute force for every size, kernel, stride, padding up to 9",
  corner_bad)

-- the closed form does not visit the positions: a million calls at 4096 are instant
local t0 = os.clock()
for _ = 1, 20000 do geometry.axis_taps(4096, 4096, 3, 1, 1) end
check(os.clock() - t0 < 1, "axis_taps cost does not depend on the size (20000 calls at 4096 under 1 s)",
  string.format("%.2f s", os.clock() - t0))

--------------------------------------------------------------------------------
-- 2. huge spatial sizes through the CLI
--------------------------------------------------------------------------------
local function description(name, c, h, w, layers)
  return string.format("return {\n  name = %q,\n  input = { channels = %d, height = %d, width = %d },\n"
    .. "  layers = {\n    %s,\n  },\n}\n", name, c, h, w, table.concat(layers, ",\n    "))
end

local CONV1 = '{ type = "conv2d", out_channels = 1, kernel = 1 }'
local conv8 = {}
for i = 1, 8 do conv8[i] = CONV1 end

-- macs: the network's MACs by brute force, per axis (conv layers only; a
-- function of nothing else, so written out per case)
local CASES = {
  { name = "conv1x1_x8", c = 1, h = 4096, w = 4096, layers = conv8,
    macs = 8 * brute_axis(4096, 4096, 1, 1, 0) ^ 2 },
  { name = "maxpool_k64", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "maxpool2d", kernel = 64, stride = 1 }' }, macs = 0 },
  { name = "avgpool_pad", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "avgpool2d", kernel = 3, stride = 1, padding = 1 }' }, macs = 0 },
  -- 63x63 windows, 31 clipped rows and columns on each side: above 1,024 taps
  -- --unroll=kernel writes them with loops (lg.plan, a note)...
  { name = "avgpool_pad63", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "avgpool2d", kernel = 63, stride = 1, padding = 31 }' }, macs = 0 },
  -- ...and a layer that insists on kernel has every border region unrolled: past the budget
  { name = "avgpool_pad63_kernel", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "avgpool2d", kernel = 63, stride = 1, padding = 31, unroll = "kernel" }' }, macs = 0,
    refused = { kernel = true, none = true } },
  { name = "maxpool_rect", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "maxpool2d", kernel = { 3, 64 }, stride = { 1, 2 }, padding = { 1, 32 } }' }, macs = 0 },
  { name = "conv_pad", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "conv2d", out_channels = 1, kernel = 3, padding = 1 }', '{ type = "relu" }' },
    macs = brute_axis(4096, 4096, 3, 1, 1) ^ 2 },
  { name = "conv_stride", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "conv2d", out_channels = 1, kernel = 5, stride = 2, padding = 2 }', '{ type = "sigmoid" }',
      '{ type = "conv2d", out_channels = 1, kernel = 3, stride = 3, padding = 64 }' },
    macs = brute_axis(2048, 4096, 5, 2, 2) ^ 2 + brute_axis(out_size(2048, 3, 3, 64), 2048, 3, 3, 64) ^ 2 },
  { name = "conv_strip", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "conv2d", out_channels = 1, kernel = { 1, 64 }, padding = { 0, 32 }, stride = { 1, 64 } }',
      '{ type = "conv2d", out_channels = 1, kernel = { 64, 1 }, padding = { 63, 0 } }' },
    macs = brute_axis(4096, 4096, 1, 1, 0) * brute_axis(out_size(4096, 64, 64, 32), 4096, 64, 64, 32)
      + brute_axis(out_size(4096, 64, 1, 63), 4096, 64, 1, 63) * 65 },
  { name = "fused_pool64", c = 1, h = 4096, w = 4096,
    layers = { CONV1, '{ type = "tanh" }', '{ type = "maxpool2d", kernel = 64 }' },
    macs = 4096 * 4096 },
  { name = "fused_pad", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "conv2d", out_channels = 1, kernel = 3, padding = 1 }', '{ type = "sigmoid" }',
      '{ type = "avgpool2d", kernel = 2 }' },
    macs = brute_axis(4096, 4096, 3, 1, 1) ^ 2 },
  { name = "activation_only", c = 1, h = 4096, w = 4096, layers = { '{ type = "sigmoid" }' }, macs = 0 },
  -- a 64x64 window: loops at --unroll=kernel (above 1,024 taps); insisting on kernel for
  -- the layer unrolls its border regions: past the budget
  { name = "conv_k64_pad", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "conv2d", out_channels = 1, kernel = 64, padding = 31 }' },
    macs = brute_axis(out_size(4096, 64, 1, 31), 4096, 64, 1, 31) ^ 2 },
  { name = "conv_k64_pad_kernel", c = 1, h = 4096, w = 4096,
    layers = { '{ type = "conv2d", out_channels = 1, kernel = 64, padding = 31, unroll = "kernel" }' },
    macs = brute_axis(out_size(4096, 64, 1, 31), 4096, 64, 1, 31) ^ 2, refused = { kernel = true, none = true } },
  -- full unrolling of a huge layer: the budget stops it while it is being written
  { name = "conv1x1_full", c = 1, h = 4096, w = 4096, layers = { CONV1 }, macs = 4096 * 4096,
    levels = { "full" }, refused = { full = true } },
  -- 4096 short-lined functions (one per channel) at full: was 25 s of pattern search
  { name = "channels_full", c = 4096, h = 64, w = 64, layers = { '{ type = "maxpool2d", kernel = 2 }' },
    macs = 0, levels = { "full" }, refused = { full = true } },
}

local BUDGET_MESSAGE = "%s: error: the generated C would be larger than --max-code-bytes 67108864; use a "
  .. "lower unroll level (--unroll=kernel or none, or unroll = \"none\" on the largest layers) or raise the budget"

--- Run gen/lenetgen with `args` under a CPU limit; returns exit status, stdout,
-- stderr and the child's CPU seconds (user + system, from /usr/bin/time).
local function run(tmp, args)
  local time_file = tmp .. "/time"
  os.remove(time_file)
  local cmd = string.format("ulimit -t %d; /usr/bin/time -f %%U+%%S -o %s %s %s >%s 2>%s", CPU_KILL_SECONDS,
    A.q(time_file), A.q(A.gen), args, A.q(tmp .. "/stdout"), A.q(tmp .. "/stderr"))
  local _, _, status = os.execute(cmd)
  local times = A.read(time_file) or ""
  local user, sys = times:match("([%d%.]+)%+([%d%.]+)%s*$")
  local cpu = user and (tonumber(user) + tonumber(sys)) or math.huge
  return status, A.read(tmp .. "/stdout") or "", A.read(tmp .. "/stderr") or "", cpu
end

-- What a run left in dir, less the lock file a writing run keeps (lg.files: .NAME.lock).
local function listing(dir)
  return (select(2, A.run("ls -A " .. A.q(dir))):gsub("%.[%w_]+%.lock\n", ""))
end

local tmp = A.tmpdir()
local measured = {}
for _, case in ipairs(CASES) do
  local desc = tmp .. "/" .. case.name .. ".lua"
  A.write(desc, description(case.name, case.c, case.h, case.w, case.layers))
  local qdesc = A.q(desc)

  local status, out, err, cpu = run(tmp, "--explain --random-weights 1 " .. qdesc)
  measured[#measured + 1] = string.format("%-16s explain        %5.2f s", case.name, cpu)
  local total = out:match("(%d+) MACs, %d+ bytes of activation memory")
  check(status == 0 and without_notes(err) == "", case.name .. ": --explain succeeds",
    string.format("status %s: %s", status, err))
  check(cpu < CPU_SECONDS, string.format("%s: --explain within %d s of CPU", case.name, CPU_SECONDS),
    string.format("%.2f s", cpu))
  check(tonumber(total) == math.tointeger(case.macs), case.name .. ": --explain MACs equal brute force",
    string.format("explain says %s, brute force %s", tostring(total), tostring(math.tointeger(case.macs))))

  for _, level in ipairs(case.levels or { "kernel", "none" }) do
    local outdir = tmp .. "/out"
    os.execute("rm -rf " .. A.q(outdir) .. " && mkdir " .. A.q(outdir))
    local what = string.format("%s: --unroll=%s", case.name, level)
    status, out, err, cpu = run(tmp, string.format("--unroll=%s --random-weights 1 %s -o %s", level, qdesc,
      A.q(outdir)))
    measured[#measured + 1] = string.format("%-16s unroll=%-7s %5.2f s  %s", case.name, level, cpu,
      status == 0 and "generated" or "refused")
    if case.refused and case.refused[level] then
      check(status == 1 and err == BUDGET_MESSAGE:format(desc)
        .. "\n", what .. " is refused with the exact budget message", string.format("status %s: %s", status, err))
      check(listing(outdir) == "", what .. " refused: nothing written", listing(outdir))
    else
      -- notes (an unfusable pool at --unroll=none) are allowed; nothing else on stderr
      check(status == 0 and without_notes(err) == "", what .. " generates",
        string.format("status %s: %s", status, err))
      check(listing(outdir) == case.name .. ".c\n" .. case.name .. ".h\n", what .. " wrote the .c and .h",
        listing(outdir))
    end
    check(cpu < CPU_SECONDS, string.format("%s within %d s of CPU", what, CPU_SECONDS), string.format("%.2f s", cpu))
  end
end
if verbose then
  print("child CPU time (user + system):")
  for _, line in ipairs(measured) do print("  " .. line) end
end
A.finish()
