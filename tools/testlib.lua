--- The one pass/fail counter for Lua test scripts: `check` records a result,
-- `finish` prints the closing "N passed, N failed" line (read by tools/run-tests
-- and CI) and exits non-zero when anything failed.
local M = {}

local passed, failed = 0, 0

--- Record one result; on failure print detail (a value, indented).
function M.check(ok, what, detail)
  print((ok and "ok - " or "FAIL - ") .. what)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    if detail ~= nil then print("    " .. tostring(detail):gsub("\n", "\n    ")) end
  end
  return ok
end

--- Print the closing line and exit.
function M.finish()
  print(string.format("%d passed, %d failed", passed, failed))
  os.exit(failed == 0 and 0 or 1)
end

return M
