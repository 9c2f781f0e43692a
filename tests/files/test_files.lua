#!/usr/bin/env lua5.4
--- Reading and writing files: the weights file is read once
-- and the manifest hashes those bytes; anything but a regular file is refused
-- as weights or as an output; the .h/.c pair is replaced as a pair (checked
-- first, under a lock, rolled back on failure; a mixed pair fails to compile);
-- an interrupt or a kill leaves no temporary file behind; -o '' is a usage error.
-- Runs that involve a signal wait for the state they test (CPU time spent,
-- a temporary file present) instead of sleeping a fixed time.
-- Usage: lua5.4 tests/files/test_files.lua [-v]     (prints "N passed, N failed")
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/../../gen/?.lua;" .. here .. "/../../tools/?.lua;" .. package.path
local lfs = require("lfs")
local shellutil = require("shellutil")
local read_file, write_file = shellutil.read_file, shellutil.write_file
local q, capture = shellutil.shell_quote, shellutil.capture

local root = capture("cd " .. q(here .. "/../..") .. " && pwd"):gsub("\n$", "")
local T = require("testlib")
local check = T.check
T.parse_args("tests/files/test_files.lua", "Reading and writing files.")
local SECONDS = 30     -- a run that takes longer hangs (generous: machines are shared)
local ATTEMPTS = 40    -- runs tried to catch one mid-write before giving up


local work = capture("mktemp -d -t lenetgen-test-files.XXXXXX"):gsub("%s+$", "")
local serial = 0
local function fresh_dir()
  serial = serial + 1
  local d = work .. "/d" .. serial
  assert(lfs.mkdir(d))
  return d
end

local snapshot, same = shellutil.snapshot, shellutil.same_snapshot

local function temps_in(dir)
  local found = {}
  for entry in lfs.dir(dir) do
    if entry:match("%.tmp$") then found[#found + 1] = entry end
  end
  return found
end

--- Run gen/lenetgen (arguments already quoted) from the root, under timeout.
-- Returns status, stdout, stderr.
local function run(args)
  local out, err = work .. "/stdout", work .. "/stderr"
  local status = capture("cd " .. q(root) .. " && timeout " .. SECONDS .. " gen/lenetgen " .. args
    .. " >" .. q(out) .. " 2>" .. q(err) .. "; echo $?")
  return tonumber(status), read_file(out) or "", read_file(err) or ""
end

--- A copy of models/lenet5.lua whose weights are `weights` (relative to it);
-- returns its path and the line of the weights field.
local function description(dir, weights)
  local text = read_file(root .. "/models/lenet5.lua")
  local edited, n = text:gsub('weights%s*=%s*"[^"]*"', string.format("weights = %q", weights))
  assert(n == 1)
  local path = dir .. "/lenet5.lua"
  write_file(path, edited)
  local before = edited:sub(1, edited:find("weights = ", 1, true))
  return path, select(2, before:gsub("\n", "")) + 1
end

local WEIGHTS = read_file(root .. "/models/lenet5.safetensors")
local CWARN = require("cflags").warn

--- Compile dir/lenet5.c against dir/lenet5.h; returns ok, compiler output.
local function compiles(dir)
  local out, code = capture("gcc " .. CWARN .. " -fsyntax-only " .. q(dir .. "/lenet5.c") .. " 2>&1")
  return code == 0, out
end

------------------------------------------------------------------------------
-- weights read once: replaced right after the open, the manifest still hashes
-- (and the code still embeds) what was opened
------------------------------------------------------------------------------
do
  local dir = fresh_dir()
  local path = dir .. "/w.safetensors"
  -- the same file with the last weight's bytes changed
  local other = WEIGHTS:sub(1, -5) .. string.pack("<f", 0.125)
  write_file(path, WEIGHTS)
  write_file(dir .. "/other", other)
  local desc = description(dir, "w.safetensors")
  local cli = require("lg.cli")
  require("lg.render").templates_dir = root .. "/templates"
  local args = { description = desc, output = dir .. "/out", unroll = "kernel", plan = "fused", math = "builtin",
    max_code_bytes = 64 * 1024 * 1024 }
  local expected = cli.generate(args).files[2].text
  local real_open, opens = io.open, 0
  io.open = function(p, mode)
    local f, err, code = real_open(p, mode)
    if p == path then
      opens = opens + 1
      os.rename(dir .. "/other", path)  -- another program replaces the file
    end
    return f, err, code
  end
  local ok, result = pcall(cli.generate, args)
  io.open = real_open
  check(ok, "weights: generation succeeds", result)
  check(opens == 1, "weights: the file is opened exactly once", opens .. " opens")
  local source = ok and result.files[2].text or ""
  local sha = require("lg.hash").sha256_hex
  check(source:find("w.safetensors sha256 " .. sha(WEIGHTS), 1, true)
    and not source:find(sha(other), 1, true), "weights: manifest hash is of the bytes embedded",
    source:match("[^\n]*weights      [^\n]*"))
  check(source == expected, "weights: the code is that of the file as opened")
end

------------------------------------------------------------------------------
-- not regular files as the weights path: refused before opening (a FIFO would
-- block the open, /dev/zero never end)
------------------------------------------------------------------------------
do
  local cases = {
    { "fifo", "mkfifo %s", "a named pipe (FIFO)" },
    { "dev-zero-link", "ln -s /dev/zero %s", "a symbolic link to a character device" },
    { "dev-null", "ln -s /dev/null %s", "a symbolic link to a character device" },
    { "directory", "mkdir %s", "a directory" },
  }
  for _, c in ipairs(cases) do
    local dir = fresh_dir()
    os.execute(c[2]:format(q(dir .. "/w.safetensors")))
    local desc, line = description(dir, "w.safetensors")
    local out = dir .. "/out"
    lfs.mkdir(out)
    write_file(out .. "/lenet5.h", "old h\n")
    local before = snapshot(dir)
    local status, _, err = run(q(desc) .. " -o " .. q(out))
    local want = string.format('%s:%d: error: weights "w.safetensors": is %s, not a regular file; give the path '
      .. "of a safetensors file\n", desc, line, c[3])
    check(err == want, "weights " .. c[1] .. ": message", "got:\n" .. err .. "expected:\n" .. want)
    check(status == 1, "weights " .. c[1] .. ": exit status 1", status)
    check(same(before, snapshot(dir)), "weights " .. c[1] .. ": nothing changed")
  end
end

------------------------------------------------------------------------------
-- not regular files as an output (or --check) target: refused, nothing changed
------------------------------------------------------------------------------
local LENET = q(root .. "/models/lenet5.lua")
do
  local kinds = {
    { "fifo", "mkfifo %s", "a named pipe (FIFO)" },
    { "dev-zero-link", "ln -s /dev/zero %s", "a symbolic link to a character device" },
    { "fifo-link", "mkfifo %s.fifo && ln -s lenet5.FILE.fifo %s", "a symbolic link to a named pipe (FIFO)" },
    { "directory", "mkdir %s", "a directory" },
  }
  for _, file in ipairs({ "c", "h" }) do
    for _, k in ipairs(kinds) do
      local dir = fresh_dir()
      local other = file == "c" and "h" or "c"
      write_file(dir .. "/lenet5." .. other, "/* old " .. other .. " */\n")
      local target = dir .. "/lenet5." .. file
      os.execute((k[2]:gsub("FILE", file)):format(q(target), q(target)))
      local name = "output lenet5." .. file .. " " .. k[1]
      local want = string.format("%s: error: is %s, not a regular file; lenetgen only replaces regular files: "
        .. "remove it or choose another directory with -o\n", target, k[3])
      local before = snapshot(dir)
      local status, _, err = run(LENET .. " -o " .. q(dir))
      check(err == want, name .. ": message", "got:\n" .. err .. "expected:\n" .. want)
      check(status == 1, name .. ": exit status 1", status)
      check(same(before, snapshot(dir)), name .. ": directory unchanged (lenet5." .. other .. " too)")
      status, _, err = run(LENET .. " --check -o " .. q(dir))
      check(status == 1 and err:find(want, 1, true) ~= nil, name .. ": --check names it, exit 1", err)
      check(same(before, snapshot(dir)), name .. ": --check changes nothing")
    end
  end
end

------------------------------------------------------------------------------
-- -o ''
------------------------------------------------------------------------------
do
  local status, _, err = run(LENET .. " -o ''")
  check(status == 2 and err == "lenetgen: error: option '-o' needs a directory, "
    .. "got an empty string (use -o . for the current directory)\nRun 'gen/lenetgen --help' for usage.\n", "-o '': usage error, exit 2",
    status .. " " .. err)
end

------------------------------------------------------------------------------
-- the generation id: a pair compiles, a mixed pair does not and says why
------------------------------------------------------------------------------
local KERNEL, NONE = fresh_dir(), fresh_dir()
do
  check(run(LENET .. " -o " .. q(KERNEL)) == 0, "pair: generation --unroll=kernel")
  check(run(LENET .. " --unroll=none --plan=layered -o " .. q(NONE)) == 0, "pair: generation --unroll=none")
  check(compiles(KERNEL), "pair: a generated pair compiles")
  local mixed = fresh_dir()
  write_file(mixed .. "/lenet5.h", read_file(NONE .. "/lenet5.h"))
  write_file(mixed .. "/lenet5.c", read_file(KERNEL .. "/lenet5.c"))
  local ok, out = compiles(mixed)
  check(not ok and out:find(
    '#error "lenet5.h and lenet5.c are from different lenetgen runs: regenerate both with gen/lenetgen"',
    1, true), "pair: a mixed pair fails to compile, saying to regenerate both", out)
end

--- Is dir's pair one of the two generated ones (both files of one run)?
local function pair_of_one_run(dir)
  local h, c = read_file(dir .. "/lenet5.h"), read_file(dir .. "/lenet5.c")
  for _, d in ipairs({ KERNEL, NONE }) do
    if h == read_file(d .. "/lenet5.h") and c == read_file(d .. "/lenet5.c") then return true end
  end
  return false
end

------------------------------------------------------------------------------
-- the pair is replaced as a pair: a failure or an interrupt at the second
-- rename puts the first file back (in-process, os.rename made to fail)
------------------------------------------------------------------------------
do
  local files = require("lg.files")
  for _, how in ipairs({ "fails", "interrupted" }) do
    local dir = fresh_dir()
    os.execute("cp " .. q(KERNEL) .. "/lenet5.[ch] " .. q(dir))
    local before = snapshot(dir)
    local real_rename, renames = os.rename, 0
    os.rename = function(a, b)
      if b:match("lenet5%.[ch]$") then
        renames = renames + 1
        if renames == 2 then
          if how == "fails" then return nil, b .. ": Operation not permitted", 1 end
          error("files.lua:1: interrupted!", 0)
        end
      end
      return real_rename(a, b)
    end
    local ok, wrote, message = pcall(files.write_all, {
      { path = dir .. "/lenet5.h", text = read_file(NONE .. "/lenet5.h") },
      { path = dir .. "/lenet5.c", text = read_file(NONE .. "/lenet5.c") } })
    os.rename = real_rename
    if how == "fails" then
      check(ok and not wrote and message == dir .. "/lenet5.c: error: cannot replace "
        .. "the output: Operation not permitted", "rename fails: message", tostring(message))
    else
      check(not ok and tostring(wrote):match("interrupted!$"), "rename interrupted: the interrupt is raised again")
    end
    local after = snapshot(dir)
    after.listing = after.listing:gsub("[^\n]*%.lenet5%.lock[^\n]*\n", "")
    check(same(before, after), "rename " .. how .. ": both files as they were, no temporary file")
  end
end

------------------------------------------------------------------------------
-- concurrent runs with different options into one directory: all succeed and
-- the pair left is the pair of one of them
------------------------------------------------------------------------------
do
  local dir = fresh_dir()
  local runs = {}
  for i, opt in ipairs({ "", "--unroll=none --plan=layered", "", "--unroll=none --plan=layered" }) do
    runs[i] = io.popen("cd " .. q(root) .. " && timeout " .. SECONDS .. " gen/lenetgen " .. LENET .. " "
      .. opt .. " -o " .. q(dir) .. " 2>&1; echo status=$?")
  end
  local all_ok = true
  for _, p in ipairs(runs) do
    local text = p:read("a")
    p:close()
    all_ok = all_ok and text == "status=0\n"
  end
  check(all_ok, "concurrent runs: all succeed")
  check(pair_of_one_run(dir), "concurrent runs: the pair is one run's")
  check(compiles(dir), "concurrent runs: it compiles")
  check(#temps_in(dir) == 0, "concurrent runs: no temporary file")
end

------------------------------------------------------------------------------
-- signals. The run is started in the background of a shell that reports its
-- pid; a second shell, already waiting, sends the signal on one line of input
-- (no fork between seeing the state and sending).
------------------------------------------------------------------------------
local function start(args)
  local status_file = work .. "/status"
  os.remove(status_file)
  local p = io.popen("cd " .. q(root) .. " && { exec lua5.4 gen/lenetgen " .. args .. " 2>" .. q(work .. "/stderr")
    .. " & pid=$!; echo $pid; wait $pid; echo $? >" .. q(status_file) .. "; } 2>/dev/null")
  local pid = p:read("l")
  local signaller = io.popen("read sig && kill -$sig " .. pid .. " 2>/dev/null", "w")
  return { pipe = p, pid = pid, signaller = signaller, status_file = status_file }
end

local function signal(run_, sig)
  run_.signaller:write(sig .. "\n")
  run_.signaller:flush()
  run_.signaller:close()
  run_.signaller = nil
end

local function finish(run_)
  if run_.signaller then run_.signaller:close() end
  run_.pipe:read("a")
  run_.pipe:close()
  return tonumber(read_file(run_.status_file)), read_file(work .. "/stderr") or ""
end

local function cpu_ticks(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if not stat then return nil end
  local fields = {}
  for f in stat:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = f end
  return tonumber(fields[12]) + tonumber(fields[13])
end

local INTERRUPTED = "lenetgen: interrupted; the output files are as they were, or all replaced\n"

-- SIGINT while generating (LeNet-5 at --unroll=full takes seconds; the signal
-- goes once the run has used 0.3 s of CPU, well past the interpreter's start)
do
  local dir = fresh_dir()
  os.execute("cp " .. q(KERNEL) .. "/lenet5.[ch] " .. q(dir))
  local before = snapshot(dir)
  local r = start(LENET .. " --unroll=full -o " .. q(dir))
  while (cpu_ticks(r.pid) or math.huge) < 30 do end
  signal(r, "INT")
  local status, err = finish(r)
  check(status == 130, "SIGINT generating: exit status 130", status)
  check(err == INTERRUPTED, "SIGINT generating: one line", err)
  check(same(before, snapshot(dir)), "SIGINT generating: directory unchanged")
end

--- Start runs replacing KERNEL's pair by NONE's until `sig` reaches one while a
-- temporary file exists. Returns dir, status, stderr; nil when no attempt got there.
local function signal_mid_write(sig)
  for attempt = 1, ATTEMPTS do
    local dir = fresh_dir()
    os.execute("cp " .. q(KERNEL) .. "/lenet5.[ch] " .. q(dir))
    local r = start(LENET .. " --unroll=none --plan=layered -o " .. q(dir))
    local seen, polls = false, 0
    -- the window is a millisecond or two: look at /proc (has the run ended?)
    -- only every 200th time
    while not seen and (polls % 200 ~= 0 or (read_file("/proc/" .. r.pid .. "/stat") or ""):match("^%d+ %b() [^Z]")) do
      seen = #temps_in(dir) > 0
      polls = polls + 1
    end
    if seen then signal(r, sig) end
    local status, err = finish(r)
    if seen and status ~= 0 then
      if T.verbose then print(string.format("(%s reached mid-write on attempt %d)", sig, attempt)) end
      return dir, status, err
    end
  end
  return nil
end

do
  local dir, status, err = signal_mid_write("INT")
  if check(dir ~= nil, "SIGINT writing: reached while a temporary file existed", ATTEMPTS .. " attempts") then
    check(status == 130, "SIGINT writing: exit status 130", status)
    check(err == INTERRUPTED, "SIGINT writing: one line", err)
    check(#temps_in(dir) == 0, "SIGINT writing: no temporary file", table.concat(temps_in(dir), " "))
    check(pair_of_one_run(dir), "SIGINT writing: the pair is one run's")
  end
end

-- kill -9 while writing: the next run removes what was left
do
  local dir, status = signal_mid_write("KILL")
  if check(dir ~= nil, "kill -9 writing: reached while a temporary file existed", ATTEMPTS .. " attempts") then
    check(status == 137, "kill -9 writing: killed", status)
    -- leftovers of runs killed earlier, as they would be named
    write_file(dir .. "/.lenet5.c.0badc0de.tmp", "half")
    write_file(dir .. "/.lenet5.h.00000001.tmp", "")
    local s = run(LENET .. " -o " .. q(dir))
    check(s == 0, "kill -9 writing: next run succeeds")
    check(#temps_in(dir) == 0, "kill -9 writing: next run removes the temporary files",
      table.concat(temps_in(dir), " "))
    check(pair_of_one_run(dir) and
      read_file(dir .. "/lenet5.c") == read_file(KERNEL .. "/lenet5.c"), "kill -9 writing: the pair is the new run's")
  end
end

os.execute("rm -rf " .. q(work))
T.finish()
