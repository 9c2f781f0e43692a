#!/usr/bin/env lua5.4
--- Splitting --unroll=full over several translation units (--split-bytes):
-- the default stays one file below 4 MiB; a small --split-bytes gives many
-- parts that each compile warning-free and, linked, equal the reference (the
-- CMocka harness, optimised and sanitized builds); parts of two runs do not
-- build together; --check names a missing, edited or stale part; a run with
-- fewer parts removes the stale ones (and only lenetgen's); a bad value is a
-- usage error with its exact message.
-- Usage: lua5.4 tests/split/test_split.lua [-v]     (prints "N passed, N failed")
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/../../gen/?.lua;" .. here .. "/../../tools/?.lua;" .. package.path
local shellutil = require("shellutil")
local cflags = require("cflags")
local read_file, write_file = shellutil.read_file, shellutil.write_file
local q, capture = shellutil.shell_quote, shellutil.capture
local T = require("testlib")
local check, check_eq = T.check, T.check_eq
T.parse_args("tests/split/test_split.lua", "Splitting --unroll=full over several files.")

local root = capture("cd " .. q(here .. "/../..") .. " && pwd"):gsub("\n$", "")
local work = capture("mktemp -d -t lenetgen-test-split.XXXXXX"):gsub("%s+$", "")
local TINY = "tests/tiny/tiny_rgb.lua"   -- 357 KB of C at --unroll=full

--- Run gen/lenetgen from the repository root: stdout, stderr, exit status.
local function lenetgen(args)
  local err_path = work .. "/stderr"
  local out, code = capture("cd " .. q(root) .. " && gen/lenetgen " .. args .. " 2>" .. q(err_path))
  return out, read_file(err_path) or "", code
end

local function listing(dir)
  return capture("ls " .. q(dir)):gsub("\n", " ")
end

--- The C files <NAME>_SOURCE_FILES lists (tools/source-files), as paths.
local function sources(dir, name)
  local list = {}
  for path in capture(q(root .. "/tools/source-files") .. " " .. q(dir) .. " " .. name):gmatch("[^\n]+") do
    list[#list + 1] = path
  end
  return list
end

local function compile(cc, file, dir)
  local _, code = capture(string.format("%s %s -O2 -I%s -c %s -o %s 2>%s", cc, cflags.warn, q(dir), q(file),
    q(work .. "/obj.o"), q(work .. "/cc.err")))
  return code == 0, read_file(work .. "/cc.err") or ""
end

-- 1. The default: below 4 MiB at full, one file, the header as before (no list).
do
  local dir = work .. "/default"
  os.execute("mkdir -p " .. q(dir))
  local _, err, code = lenetgen(TINY .. " --unroll=full -o " .. q(dir))
  check_eq(code, 0, "default full of a small network: exit status 0 (" .. err .. ")")
  check_eq(listing(dir), "tiny_rgb.c tiny_rgb.h ", "default full of a small network: one .c and its .h")
  check(not read_file(dir .. "/tiny_rgb.h"):find("SOURCE_FILES", 1, true), "no SOURCE_FILES without a split")
end

-- 2. Many parts: each names the others, compiles warning-free with every compiler.
local split_dir = work .. "/split"
os.execute("mkdir -p " .. q(split_dir))
do
  local _, err, code = lenetgen(TINY .. " --unroll=full --split-bytes 30000 -o " .. q(split_dir))
  check_eq(code, 0, "--split-bytes 30000: exit status 0 (" .. err .. ")")
  local files = sources(split_dir, "tiny_rgb")
  check(#files >= 10, "--split-bytes 30000 gives at least 10 C files", #files)
  check(read_file(split_dir .. "/tiny_rgb_internal.h") ~= nil, "the internal header is written")
  for _, cc in ipairs({ "gcc", "clang", "arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16" }) do
    local failed = {}
    for _, file in ipairs(files) do
      local ok, msg = compile(cc, file, split_dir)
      if not ok then failed[#failed + 1] = file .. ": " .. msg end
    end
    check(#failed == 0, string.format("every one of the %d files compiles warning-free with %s",
      #files, cc:match("^%S+")), table.concat(failed, "\n"))
  end
  local _, _, check_code = lenetgen(TINY .. " --unroll=full --split-bytes 30000 --check -q -o " .. q(split_dir))
  check_eq(check_code, 0, "--check of the split set: up to date")
end

-- 3. Parts of two runs (other weights) do not build together.
do
  local other = work .. "/other"
  os.execute("mkdir -p " .. q(other))
  lenetgen(TINY .. " --unroll=full --split-bytes 30000 --random-weights 5 -o " .. q(other))
  os.execute("cp " .. q(other .. "/tiny_rgb_part2.c") .. " " .. q(work .. "/mixed_part2.c"))
  local ok, msg = compile("gcc", work .. "/mixed_part2.c", split_dir)
  check(not ok and msg:find("tiny_rgb_part2.c and tiny_rgb.h are from different lenetgen runs: regenerate all of "
    .. "tiny_rgb's files (TINY_RGB_SOURCE_FILES in tiny_rgb.h lists them) with gen/lenetgen", 1, true) ~= nil,
    "a part of another run next to this run's header: #error names the part", msg)
end

-- 4. --check names a missing, an edited and a stale part; a run with fewer
-- parts removes the stale ones, keeps a file lenetgen did not write.
do
  local dir = work .. "/check"
  os.execute("mkdir -p " .. q(dir))
  lenetgen(TINY .. " --unroll=full --split-bytes 30000 -o " .. q(dir))
  os.remove(dir .. "/tiny_rgb_part3.c")
  write_file(dir .. "/tiny_rgb_part4.c", read_file(dir .. "/tiny_rgb_part4.c") .. "/* edited */\n")
  local _, err, code = lenetgen(TINY .. " --unroll=full --split-bytes 30000 --check -o " .. q(dir))
  check_eq(code, 1, "--check with a missing part: exit status 1")
  check_eq(err, dir .. "/tiny_rgb_part3.c: error: missing; run lenetgen without --check to generate it\n"
    .. dir .. "/tiny_rgb_part4.c: error: differs from what lenetgen would generate (regenerate it)\n",
    "--check names the missing and the edited part")
  lenetgen(TINY .. " --unroll=full --split-bytes 30000 -o " .. q(dir))
  local before = #sources(dir, "tiny_rgb")
  write_file(dir .. "/tiny_rgb_part99.c", "/* mine */\n")
  local _, err2, code2 = lenetgen(TINY .. " --unroll=full --split-bytes 100000 --check -o " .. q(dir))
  check_eq(code2, 1, "--check with fewer parts: exit status 1")
  local stale = dir .. "/tiny_rgb_part" .. (before - 1) .. ".c: error: stale: a file of an earlier run that this "
    .. "run does not write (it writes 7 files); regenerate to remove it\n"
  check(err2:find(stale, 1, true) ~= nil, "--check names a stale part", err2)
  check(not err2:find("part99", 1, true), "--check leaves a file lenetgen did not write alone", err2)
  local _, err3, code3 = lenetgen(TINY .. " --unroll=full --split-bytes 100000 -o " .. q(dir))
  check_eq(code3, 0, "fewer parts: exit status 0 (" .. err3 .. ")")
  check_eq(listing(dir), "tiny_rgb.c tiny_rgb.h tiny_rgb_internal.h tiny_rgb_part1.c tiny_rgb_part2.c "
    .. "tiny_rgb_part3.c tiny_rgb_part4.c tiny_rgb_part99.c ",
    "fewer parts: the stale parts are gone, the foreign file stays")
  local _, err4, code4 = lenetgen(TINY .. " --unroll=kernel -o " .. q(dir))
  check_eq(code4, 0, "back to one file: exit status 0 (" .. err4 .. ")")
  check_eq(listing(dir), "tiny_rgb.c tiny_rgb.h tiny_rgb_part99.c ",
    "back to one file: the internal header and every part are gone")
end

-- 5. A bad --split-bytes is a usage error (exit 2), written before anything.
for _, bad in ipairs({ "abc", "1.5", "-3", "" }) do
  local _, err, code = lenetgen(TINY .. " --unroll=full -o " .. q(work .. "/none") .. " --split-bytes=" .. q(bad))
  check_eq(code, 2, "--split-bytes=" .. bad .. ": exit status 2")
  check_eq(err, "lenetgen: error: --split-bytes needs a positive number of bytes, or 0 or none for one file, got '"
    .. bad .. "'\nRun 'gen/lenetgen --help' for usage.\n", "--split-bytes=" .. bad .. ": the message")
end
for _, one in ipairs({ "0", "none" }) do
  local dir = work .. "/one-" .. one
  os.execute("mkdir -p " .. q(dir))
  local _, err, code = lenetgen(TINY .. " --unroll=full --split-bytes " .. one .. " -o " .. q(dir))
  check(code == 0 and listing(dir) == "tiny_rgb.c tiny_rgb.h ", "--split-bytes " .. one .. ": one file", err)
end

-- 6. The linked parts equal the reference (CMocka harness, opt and sanitized
-- builds, exported symbols checked by tests/harness/build-model).
do
  local out, code = capture("cd " .. q(root) .. " && lua5.4 tests/harness/driver.lua plan --suite split-tiny "
    .. "--levels full --builds opt,san --model " .. TINY .. " --model tests/tiny/tiny_overlap.lua "
    .. "--gen-options=--split-bytes=30000 >/dev/null && make --no-print-directory -f build/harness/split-tiny/suite.mk "
    .. "-j2 run 2>&1")
  check(code == 0 and out:find("PASSED", 1, true) ~= nil and not out:find("FAILED", 1, true),
    "harness at --unroll=full --split-bytes=30000: the linked parts equal the reference", out)
  local dir = root .. "/build/harness/split-tiny/full/tiny_rgb"
  check(#sources(dir, "tiny_rgb") >= 10, "the harness built a split network", listing(dir))
end

-- 7. Issue 14's layers split: per-layer activation functions (clip, leaky_relu),
-- softmax's expf and unfolded batch norm reach the parts that call them.
do
  local out, code = capture("cd " .. q(root) .. " && lua5.4 tests/harness/driver.lua plan --suite split-layers "
    .. "--levels full --builds opt,san --model tests/tiny/tiny_bn_fold.lua --model tests/tiny/tiny_bn_unfolded.lua "
    .. "--model tests/tiny/tiny_gap_softmax.lua --gen-options=--split-bytes=3000 >/dev/null && make "
    .. "--no-print-directory -f build/harness/split-layers/suite.mk -j2 run 2>&1")
  check(code == 0 and out:find("PASSED", 1, true) ~= nil and not out:find("FAILED", 1, true),
    "harness at --unroll=full --split-bytes=3000 on the issue-14 layers: the linked parts equal the reference", out)
  local dir = root .. "/build/harness/split-layers/full/tiny_bn_fold"
  check(#sources(dir, "tiny_bn_fold") >= 10, "the harness built tiny_bn_fold split", listing(dir))
end

os.execute("rm -rf " .. q(work))
T.finish()
