#!/usr/bin/env lua5.4
--- tools/m4-profile checked against the firmware harness's own count.
--
--   lua5.4 tests/firmware/test_profile.lua IMAGE.elf NAME
--
-- The harness (tests/firmware/harness.c) reads SysTick around each NAME_infer
-- call; tools/m4-profile adds up QEMU's translation-block log. Both count the
-- same instructions, so the profile's per-inference total over the network's
-- functions (NAME_* and the builtin math lenetgen_*) must agree with the
-- harness's mean within 1 %: the profile also counts the harness's extra
-- stack-painting inference on its own input, and SysTick reads are +-40.
local root = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/../.."
package.path = root .. "/tools/?.lua;" .. root .. "/gen/?.lua;" .. package.path
local T = require("testlib")
local check = T.check
local args = T.parse_args("tests/firmware/test_profile.lua", "tools/m4-profile against the harness's count.",
  function(p)
    p:argument("image", "The firmware image."):argname("IMAGE.elf")
    p:argument("name", "The network's name."):argname("NAME")
  end)
local image, name = args.image, args.name
local shellutil = require("shellutil")
local q = shellutil.shell_quote
local function run(cmd)
  local out, code = shellutil.capture(cmd .. " 2>&1")
  return code == 0, out
end

local ok, out = run("qemu-system-arm -nographic -monitor none -serial none "
  .. "-semihosting-config enable=on,target=native -icount shift=0 -M mps2-an386 -kernel " .. q(image))
local mean = tonumber(out:match("mean (%d+);"))
check(ok and mean ~= nil, "the image runs and prints its mean instruction count", out:sub(-400))

local pok, profile = run("lua5.4 tools/m4-profile --infer " .. name .. "_infer " .. q(image))
check(pok, "tools/m4-profile runs", profile:sub(-400))
local network, rows = 0, 0
for fn, n in profile:gmatch("\n([%w_.]+)%s+(%d+)%s+[%d.]+%%") do
  rows = rows + 1
  if fn:find("^" .. name .. "_") or fn:find("^lenetgen_") then network = network + tonumber(n) end
end
check(rows > 0 and network > 0, "the profile lists the network's functions", profile:sub(1, 400))
if mean and network > 0 then
  local ratio = network / mean
  check(math.abs(ratio - 1) <= 0.01,
    string.format("profile total %d within 1%% of the harness's mean %d (ratio %.4f)", network, mean, ratio))
  print(string.format("m4-profile: %d instructions per inference in %s's functions, harness mean %d (ratio %.4f)",
    network, name, mean, ratio))
end
T.finish()
