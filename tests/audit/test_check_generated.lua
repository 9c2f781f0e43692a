--- `make check-generated` can fail: it compares out/ with what gen/lenetgen would generate
-- now and writes nothing first. Each case runs the real target in a sandbox (the repository's
-- files linked into a temporary directory, with its own empty out/):
--   a. an empty out/ fails and stays empty;
--   b. out/ made by `make generate` passes;
--   c. a stale out/ fails and is left as it was: one line of the .c changed, or the files of
--      other options, each with an mtime older than every generator source (so that a
--      `make generate` run first would have rewritten it and hidden the difference);
--   d. a hand edit newer than the inputs fails too.
-- usage: lua5.4 tests/audit/test_check_generated.lua      (prints "N passed, N failed")
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/?.lua;" .. package.path
local A = require("auditlib")
local check, q = A.check, A.q
require("testlib").parse_args("tests/audit/test_check_generated.lua",
  "make check-generated fails on an empty, stale or edited out/.")

-- a copy of the repository whose out/ and build/ are its own
local sandbox = A.tmpdir()
local _, entries = A.run("ls -A " .. q(A.root))
for name in entries:gmatch("[^\n]+") do
  if name ~= "out" and name ~= "build" and name ~= ".git" then
    os.execute("ln -s " .. q(A.root .. "/" .. name) .. " " .. q(sandbox .. "/" .. name))
  end
end
local out = sandbox .. "/out"
os.execute("mkdir " .. q(out))

--- Run a make target in the sandbox; returns exit status and the output (both streams).
local function make(target)
  local code, stdout, stderr = A.run("cd " .. q(sandbox) .. " && env -u MAKEFLAGS -u MAKELEVEL make"
    .. " --no-print-directory " .. target)
  return code, stdout .. stderr
end

--- Name, mtime and bytes of every file in out/, as one string.
local function snapshot()
  local _, listing = A.run("cd " .. q(out) .. " && ls -A | sort")
  local parts = {}
  for name in listing:gmatch("[^\n]+") do
    parts[#parts + 1] = name .. " " .. tostring(A.stat(out .. "/" .. name)) .. "\n" .. (A.read(out .. "/" .. name) or "")
  end
  return table.concat(parts, "\n")
end

--- check-generated must fail and leave out/ exactly as it was.
local function expect_failure(what)
  local before = snapshot()
  local code, text = make("check-generated")
  check(code ~= 0 and text:find("0 passed, 1 failed", 1, true) ~= nil, what .. ": check-generated fails", text)
  check(snapshot() == before, what .. ": out/ left as it was")
end

local OLD = "200001010000"   -- older than every source: make would regenerate such a file

-- a. empty
expect_failure("empty out/")

-- b. fresh
local code, text = make("generate")
check(code == 0, "make generate in the sandbox", text)
code, text = make("check-generated")
check(code == 0 and text:find("1 passed, 0 failed", 1, true) ~= nil, "fresh out/: check-generated passes", text)
local fresh_c = A.read(out .. "/lenet5.c") or ""

-- c. stale, and older than the generator sources
local first_code_line = fresh_c:match("\n(static [^\n]+)\n")
check(first_code_line ~= nil, "out/lenet5.c has a static definition to change")
A.write(out .. "/lenet5.c", fresh_c:gsub(first_code_line:gsub("%p", "%%%0"), "/* stale */ %0", 1))
os.execute("touch -t " .. OLD .. " " .. q(out .. "/lenet5.c") .. " " .. q(out .. "/lenet5.h"))
expect_failure("one stale line, old mtime")

code, text = A.lenetgen("models/lenet5.lua -o " .. q(out) .. " --unroll=none", A.root)
check(code == 0, "generate with other options", text)
os.execute("touch -t " .. OLD .. " " .. q(out .. "/lenet5.c") .. " " .. q(out .. "/lenet5.h"))
expect_failure("other options, old mtime")

-- d. a hand edit newer than everything
A.write(out .. "/lenet5.c", fresh_c .. "/* edited */\n")
expect_failure("hand-edited .c")

A.finish()
