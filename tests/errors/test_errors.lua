#!/usr/bin/env lua5.4
--- Bad input through the real command line.
--
-- Every case of tests/broken/desc is X.expected (the exact standard error) with
-- X.lua (the description) and optionally X.args (the arguments after
-- gen/lenetgen, one line; {model} is tests/broken/desc/X.lua and {out} a fresh
-- output directory; default "{model} -o {out}"). An empty X.expected means the
-- case must succeed; "{number}" in X.expected stands for any whole number. For each case this checks:
--   - standard error is exactly X.expected, and nothing is on standard output;
--   - the exit status: 0 for success, 2 for usage errors ("lenetgen: error:"),
--     1 for every other error (never 3, an internal error);
--   - no Lua stack trace;
--   - the output directory, filled beforehand with known files, is unchanged
--     (same names, bytes and modification times; no temporary files left);
--   - the run ends within CASE_SECONDS;
--   - the whole process tree stays within MAX_PROCESS_KB per process (so the
--     tree of lenetgen, the child that evaluates the description and timeout
--     stays under 300 MB) and MAX_CPU_SECONDS of CPU in total: resource bombs
--     (bomb_*) are stopped by the operating system's limits.
-- Then: every file of the safetensors corpus (tests/broken/weights) through
-- the CLI, a failing run after a successful one, regeneration without
-- rewriting, an unwritable output directory, and a FIFO, a device and
-- symbolic links to them as the description.
--
-- Usage (from anywhere): lua5.4 tests/errors/test_errors.lua [-v] [--show] [CASE...]
--   --show  print each case's actual standard error instead of checking it
--           (for writing a new .expected: review every line before saving it)
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local root = here .. "/../.."
package.path = root .. "/gen/?.lua;" .. root .. "/tools/?.lua;" .. package.path

local CASE_DIR = "tests/broken/desc"
local CASE_SECONDS = 10     -- generous: CI machines are shared; the budgets are ~0.3 s
-- The largest process of a run (GNU time's %M is the peak of the largest one):
-- below 140 MB, lenetgen and its child together stay below 300 MB.
local MAX_PROCESS_KB = 140 * 1024
local MAX_CPU_SECONDS = 3   -- user + system time of the whole tree (the child is limited to 2 s)

local T = require("testlib")
local check = T.check
local args = T.parse_args("tests/errors/test_errors.lua", "Bad input through the real command line.",
  function(p)
    p:flag("--show", "Print each case's actual standard error instead of checking it.")
    p:argument("cases", "Run only these cases (names of tests/broken/desc files)."):args("*"):argname("CASE")
  end)
local verbose, show, only = T.verbose, args.show, {}
for _, case in ipairs(args.cases) do only[case] = true end

local shellutil = require("shellutil")
local read_file, write_file = shellutil.read_file, shellutil.write_file
local shell_quote, capture = shellutil.shell_quote, shellutil.capture

local function mktemp_dir()
  return (capture("mktemp -d -t lenetgen-test-errors.XXXXXX"):gsub("%s+$", ""))
end

local LIST = shellutil.LIST
local snapshot_of, snapshot, same_snapshot = shellutil.snapshot_of, shellutil.snapshot, shellutil.same_snapshot

--- Start gen/lenetgen with an argument string (already shell-quoted) from the
-- root, in one shell: listing of `dir` before, the run, listing after.
-- finish(handle) returns status, stdout, stderr, seconds, listing before and after.
local function start_cli(args, dir)
  local tmp = os.tmpname()
  local list = dir and LIST:format(shell_quote(dir)) or "true"
  local pipe = assert(io.popen(table.concat({
    list, "echo '--8<--'", "cd " .. shell_quote(root),
    "start=$(date +%s%N)",
    "/usr/bin/time -f '%M %U %S' -o " .. tmp .. ".time timeout " .. (CASE_SECONDS + 5) .. " gen/lenetgen "
      .. args .. " >" .. tmp .. ".out 2>" .. tmp .. ".err",
    "status=$?", "finish=$(date +%s%N)", "cd - >/dev/null", "echo '--8<--'",
    "echo $status $((finish - start))", "echo '--8<--'", list }, "\n"), "r"))
  return { pipe = pipe, tmp = tmp }
end

local function finish_cli(handle)
  local report = handle.pipe:read("a")
  handle.pipe:close()
  local tmp = handle.tmp
  local before, status, ns, after = report:match("^(.-)%-%-8<%-%-\n%-%-8<%-%-\n(%d+) (%d+)\n%-%-8<%-%-\n(.*)$")
  local out, err = read_file(tmp .. ".out") or "", read_file(tmp .. ".err") or ""
  -- the last line of time's report (a killed command adds one before it)
  local kb, user, sys = (read_file(tmp .. ".time") or ""):match("(%d+) ([%d.]+) ([%d.]+)\n?$")
  os.remove(tmp); os.remove(tmp .. ".out"); os.remove(tmp .. ".err"); os.remove(tmp .. ".time")
  local usage = { kb = tonumber(kb) or math.huge, cpu = (tonumber(user) or math.huge) + (tonumber(sys) or 0) }
  return tonumber(status), out, err, tonumber(ns) / 1e9, before, after, usage
end

local function run_cli(args, dir) return finish_cli(start_cli(args, dir)) end

--- Run jobs { args=, dir=, done=function(results...) } JOBS at a time, in order.
local JOBS = tonumber(os.getenv("LENETGEN_TEST_JOBS") or "") or 4
local function run_all(jobs)
  for first = 1, #jobs, JOBS do
    local handles = {}
    for i = first, math.min(#jobs, first + JOBS - 1) do handles[i] = start_cli(jobs[i].args, jobs[i].dir) end
    for i = first, math.min(#jobs, first + JOBS - 1) do jobs[i].done(finish_cli(handles[i])) end
  end
end

--- Fill an output directory with files the generator must not touch on
-- error; returns their contents by name.
local function prepopulate(dir, name)
  local files = {
    [name .. ".h"] = "/* previous " .. name .. ".h: must survive a failed run */\n",
    [name .. ".c"] = "/* previous " .. name .. ".c: must survive a failed run */\n",
    ["notes.txt"] = "unrelated file\n",
  }
  for file, text in pairs(files) do write_file(dir .. "/" .. file, text) end
  return files
end

--- Is `text` what `expected` says? Exact, except that "{number}" in expected
-- stands for any whole number (sizes of generated code change with the emitter).
local function matches(text, expected)
  if not expected:find("{number}", 1, true) then return text == expected end
  local pattern = expected:gsub("%p", "%%%0"):gsub("%%{number%%}", "%%d+")
  return text:match("^" .. pattern .. "$") ~= nil
end

local function expected_status(expected)
  if expected == "" then return 0 end
  if expected:match("^lenetgen: error:") then return 2 end
  return 1
end

local function clean_stderr(name, err, status)
  check(not err:find("stack traceback", 1, true) and status ~= 3, name .. ": no stack trace",
    "stderr:\n" .. err)
end

------------------------------------------------------------------------------
-- the corpus
------------------------------------------------------------------------------
-- a case is any X.expected, X.lua or X.args (a case missing its .expected fails)
local names, seen = {}, {}
for line in capture("ls " .. shell_quote(root .. "/" .. CASE_DIR)):gmatch("[^\n]+") do
  local name = line:match("^(.*)%.expected$") or line:match("^(.*)%.lua$") or line:match("^(.*)%.args$")
  if name and not seen[name] and (next(only) == nil or only[name]) then
    seen[name] = true
    names[#names + 1] = name
  end
end
table.sort(names)

local slowest, slowest_name = 0, nil
local largest, largest_name, busiest, busiest_name = 0, nil, 0, nil
local work = mktemp_dir()
local jobs = {}
for _, name in ipairs(names) do
  local base = CASE_DIR .. "/" .. name
  local expected = read_file(root .. "/" .. base .. ".expected")
  if not expected and not show then
    check(false, name .. ": has " .. base .. ".expected")
    expected = "(missing)"
  end
  local args_line = read_file(root .. "/" .. base .. ".args")
  local out_dir = work .. "/" .. name
  os.execute("mkdir " .. shell_quote(out_dir))
  local files_before = prepopulate(out_dir, "broken")
  local model_snapshot = read_file(root .. "/" .. base .. ".lua")
  local args = (args_line or "{model} -o {out}"):gsub("%s+$", "")
  local quoted = {}
  for word in args:gmatch("%S+") do
    word = word:gsub("{model}", base .. ".lua"):gsub("{out}", out_dir)
    quoted[#quoted + 1] = shell_quote(word)
  end
  jobs[#jobs + 1] = { args = table.concat(quoted, " "), dir = out_dir,
    done = function(status, out, err, seconds, listing_before, listing_after, usage)
      local before = { listing = listing_before, files = files_before }
      if seconds > slowest then slowest, slowest_name = seconds, name end
      if usage.kb > largest then largest, largest_name = usage.kb, name end
      if usage.cpu > busiest then busiest, busiest_name = usage.cpu, name end
      if show then
        io.write(string.format("== %s (status %d, %.2f s)\n%s", name, status, seconds, err))
        return
      end
      check(matches(err, expected), name .. ": message", "got:\n" .. err .. "expected:\n" .. expected)
      check(status == expected_status(expected), name .. ": exit status",
        string.format("got %d, expected %d", status, expected_status(expected)))
      check(out == "", name .. ": nothing on stdout", "stdout:\n" .. out)
      check(seconds < CASE_SECONDS, name .. ": time", string.format("%.1f s", seconds))
      check(usage.kb < MAX_PROCESS_KB, name .. ": memory", string.format("largest process %d KB", usage.kb))
      check(usage.cpu < MAX_CPU_SECONDS, name .. ": CPU", string.format("%.2f s", usage.cpu))
      clean_stderr(name, err, status)
      local after = snapshot_of(out_dir, listing_after)
      if expected == "" then
        -- success: the two outputs replaced, nothing else added
        local produced = 0
        for file in pairs(after.files) do
          if file:match("%.[ch]$") and after.files[file] ~= before.files[file] then produced = produced + 1 end
        end
        check(produced == 2, name .. ": outputs written", after.listing)
        check(not after.listing:find("%.tmp\t"), name .. ": no temporary files", after.listing)
      else
        local same, why = same_snapshot(before, after)
        check(same, name .. ": output directory unchanged", why)
      end
      if model_snapshot then
        check(read_file(root .. "/" .. base .. ".lua") == model_snapshot, name .. ": description unchanged")
      end
    end }
end
run_all(jobs)
if show then
  os.execute("rm -rf " .. shell_quote(work))
  os.exit(0)
end
check(#names >= 40 or next(only) ~= nil, "corpus has at least 40 cases", #names .. " cases")
-- the output path of output_dir_missing must not have been created
check(not read_file(root .. "/" .. CASE_DIR .. "/no_such_directory/broken.h")
  and os.execute("test ! -e " .. shell_quote(root .. "/" .. CASE_DIR .. "/no_such_directory")) == true, "no directory created for a missing -o")

if next(only) == nil then
  --------------------------------------------------------------------------
  -- every file of the safetensors corpus, through the CLI
  --------------------------------------------------------------------------
  local corpus = capture("cd " .. shell_quote(root) .. " && pwd"):gsub("\n$", "") .. "/tests/broken/weights"
  local count = 0
  jobs = {}
  for line in capture("ls " .. shell_quote(corpus)):gmatch("[^\n]+") do
    local case = line:match("^(.*)%.safetensors$")
    local reader_msg = case and read_file(corpus .. "/" .. case .. ".expected")
    if reader_msg then
      count = count + 1
      reader_msg = reader_msg:gsub("\n$", "")
      local weights = corpus .. "/" .. case .. ".safetensors"
      local desc = work .. "/" .. case .. ".lua"
      write_file(desc, string.format('return {\n  name = "pair",\n  input = { channels = 2, height = 1, '
        .. 'width = 1 },\n  weights = %q,\n  layers = { { type = "flatten" }, { type = "linear", '
        .. 'out_features = 2, weight = "b", bias = "a" } },\n}\n', weights))
      local out_dir = work .. "/out-" .. case
      os.execute("mkdir " .. shell_quote(out_dir))
      local files_before = prepopulate(out_dir, "pair")
      jobs[#jobs + 1] = { args = shell_quote(desc) .. " -o " .. shell_quote(out_dir), dir = out_dir,
        done = function(status, _, err, _, listing_before, listing_after)
          local before = { listing = listing_before, files = files_before }
          local hint = ""
          if reader_msg:match(" is NaN$") or reader_msg:match(" is [+-]Inf$") then
            hint = "; fix the training or the export, or pass --allow-nonfinite to accept it"
          end
          local want = string.format('%s:4: error: weights "%s": %s%s\n', desc, weights, reader_msg, hint)
          check(err == want, "weights corpus " .. case .. ": message", "got:\n" .. err .. "expected:\n" .. want)
          check(status == 1, "weights corpus " .. case .. ": exit status 1", "status " .. status)
          clean_stderr("weights corpus " .. case, err, status)
          check(same_snapshot(before, snapshot_of(out_dir, listing_after)),
            "weights corpus " .. case .. ": output unchanged")
        end }
    end
  end
  run_all(jobs)
  check(count >= 69, "weights corpus has its 69 files", count .. " files")

  --------------------------------------------------------------------------
  -- a failed run after a successful one leaves the generated files intact;
  -- an unchanged regeneration rewrites nothing; a changed one replaces both
  --------------------------------------------------------------------------
  local out_dir = work .. "/gen"
  os.execute("mkdir " .. shell_quote(out_dir))
  local good = CASE_DIR .. "/weights_custom_names_ok.lua"
  local status, _, err = run_cli(shell_quote(good) .. " -o " .. shell_quote(out_dir))
  check(status == 0 and err == "", "good model generates", err)
  local generated = snapshot(out_dir)
  -- the two files, and the lock that serialises runs writing them
  local function entries(listing) return select(2, listing:gsub("\n", "")) end
  check(generated.files["broken.c"] and generated.files["broken.h"]
    and generated.files[".broken.lock"] and entries(generated.listing) == 3, "good model wrote two files", generated.listing)
  os.execute("sleep 0.05")
  for _, bad in ipairs({ "weights_nan", "conv_after_flatten", "infinite_loop", "max_code_bytes" }) do
    local args = shell_quote(CASE_DIR .. "/" .. bad .. ".lua") .. " -o " .. shell_quote(out_dir)
    if bad == "max_code_bytes" then args = args .. " --max-code-bytes 1000" end
    status, _, err = run_cli(args)
    check(status == 1, "after success, " .. bad .. " fails", err)
    check(same_snapshot(generated, snapshot(out_dir)), "after success, " .. bad .. " leaves the files")
  end
  status, _, err = run_cli(shell_quote(good) .. " -o " .. shell_quote(out_dir))
  check(status == 0 and err == "", "regeneration succeeds", err)
  local again = snapshot(out_dir)
  local same, why = same_snapshot(generated, again)
  check(same, "unchanged regeneration rewrites nothing (same bytes and mtimes)", why)
  status, _, err = run_cli(shell_quote(good) .. " -o " .. shell_quote(out_dir) .. " --unroll=none --plan=layered")
  local changed = snapshot(out_dir)
  check(status == 0 and err == "", "changed regeneration succeeds", err)
  check(changed.files["broken.c"] ~= generated.files["broken.c"], "changed regeneration replaces the source")
  check(entries(changed.listing) == 3, "changed regeneration leaves no temporary files",
    changed.listing)

  --------------------------------------------------------------------------
  -- an unwritable output directory (chmod as a normal user; as root, whom
  -- permissions do not stop, /sys, where no one may create files)
  --------------------------------------------------------------------------
  local unwritable
  if capture("id -u"):match("^0") then
    if os.execute("test -d /sys && ! touch /sys/lenetgen-probe 2>/dev/null") then unwritable = "/sys" end
  else
    unwritable = work .. "/readonly"
    os.execute("mkdir " .. shell_quote(unwritable) .. " && chmod 555 " .. shell_quote(unwritable))
  end
  if unwritable then
    local before = snapshot(unwritable == "/sys" and work .. "/gen" or unwritable)
    status, _, err = run_cli(shell_quote(good) .. " -o " .. shell_quote(unwritable))
    local pattern = "^" .. unwritable:gsub("%p", "%%%0") .. ": error: cannot write to the output directory "
      .. "%([%w %-]+%); make it writable or choose another with %-o\n$"
    check(err:match(pattern) ~= nil, "unwritable output directory: message", err)
    check(status == 1, "unwritable output directory: exit status 1", "status " .. status)
    clean_stderr("unwritable output directory", err, status)
    if unwritable ~= "/sys" then
      check(same_snapshot(before, snapshot(unwritable)), "unwritable output directory: unchanged")
      os.execute("chmod 755 " .. shell_quote(unwritable))
    end
  else
    print("note: no unwritable directory available; that check is skipped")
  end

  --------------------------------------------------------------------------
  -- a FIFO, a device and links to them as the description: refused before
  -- they are opened (opening a FIFO would wait for a writer forever; the
  -- timeout of run_cli ends the test if it does)
  --------------------------------------------------------------------------
  local special = work .. "/special"
  os.execute("mkdir " .. shell_quote(special) .. " && mkfifo " .. shell_quote(special .. "/fifo.lua")
    .. " && ln -s fifo.lua " .. shell_quote(special .. "/fifo_link.lua")
    .. " && ln -s /dev/zero " .. shell_quote(special .. "/zero_link.lua"))
  out_dir = work .. "/special-out"
  os.execute("mkdir " .. shell_quote(out_dir))
  local files_before = prepopulate(out_dir, "broken")
  for _, case in ipairs({ { "fifo.lua", "a named pipe (FIFO)" }, { "fifo_link.lua", "a named pipe (FIFO)" },
      { "zero_link.lua", "a character device" } }) do
    local desc = special .. "/" .. case[1]
    local seconds, listing_before, listing_after
    status, _, err, seconds, listing_before, listing_after = run_cli(shell_quote(desc) .. " -o "
      .. shell_quote(out_dir), out_dir)
    local want = desc .. ": error: cannot read the description: it is " .. case[2] .. ", not a regular file\n"
    check(err == want, case[1] .. ": message", "got:\n" .. err .. "expected:\n" .. want)
    check(status == 1, case[1] .. ": exit status 1", "status " .. status)
    check(seconds < CASE_SECONDS, case[1] .. ": time", string.format("%.1f s", seconds))
    clean_stderr(case[1], err, status)
    check(same_snapshot({ listing = listing_before,
      files = files_before }, snapshot_of(out_dir, listing_after)), case[1] .. ": output directory unchanged")
  end
end
os.execute("rm -rf " .. shell_quote(work))

if verbose and slowest_name then
  print(string.format("slowest case: %s, %.2f s", slowest_name, slowest))
  print(string.format("largest process: %s, %d KB; most CPU: %s, %.2f s", largest_name, largest,
    busiest_name, busiest))
end
T.finish()
