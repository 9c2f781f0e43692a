--- The one pass/fail counter for the Lua test scripts: `check` records a result,
-- `finish` prints the closing "N passed, N failed" line (read by tools/run-tests
-- and CI) and exits non-zero when anything failed.
--
-- A failure always prints "FAIL what: detail" (a multi-line detail indented);
-- a success prints "ok   what" only when verbose (`M.verbose = true`, which the
-- scripts' -v option sets, or TEST_VERBOSE=1 in the environment).
local M = {}

local passed, failed = 0, 0

M.verbose = (os.getenv("TEST_VERBOSE") or "") ~= ""

--- Record one result: `ok` is any value, true unless nil or false; `detail`
-- (any value) explains a failure. Returns `ok`.
function M.check(ok, what, detail)
  if ok then
    passed = passed + 1
    if M.verbose then print("ok   " .. what) end
  else
    failed = failed + 1
    local text = detail ~= nil and (": " .. tostring(detail):gsub("\n", "\n    ")) or ""
    print("FAIL " .. what .. text)
  end
  return ok
end

local function show(v)
  return type(v) == "string" and string.format("%q", v) or tostring(v)
end

--- Record whether `got == want`; a failure shows both.
function M.check_eq(got, want, what)
  return M.check(got == want, what, "got " .. show(got) .. ", want " .. show(want))
end

--- Parse the script's command line (the global `arg`) with argparse through tools/cliargs.lua:
-- -v/--verbose is always there and sets `M.verbose`; `add(parser)` declares the script's own
-- arguments. Returns the parsed arguments (a usage mistake exits 2).
function M.parse_args(script, description, add)
  local cliargs = require("cliargs")
  local parser = cliargs.parser(script, description)
  parser:flag("-v --verbose", "Print the passing checks too.")
  if add then add(parser) end
  local args = cliargs.parse(parser, arg)
  M.verbose = M.verbose or args.verbose
  return args
end

--- The counts so far: passed, failed.
function M.counts()
  return passed, failed
end

--- Print the closing line and exit (status 1 when anything failed).
function M.finish()
  print(string.format("%d passed, %d failed", passed, failed))
  os.exit(failed == 0 and 0 or 1)
end

return M
