-- `make check MODEL=... LEVELS=...` runs only the levels asked for, names the layer of the
-- closest call, and refuses an unknown level. Run from the repository root:
--   lua5.4 tests/harness/test_check_levels.lua
-- Prints "N passed, N failed"; exits 1 on failure.
package.path = "gen/?.lua;tools/?.lua;" .. package.path
local sh = require("shellutil")

local check = require("testlib").check
require("testlib").parse_args("tests/harness/test_check_levels.lua",
  "make check runs only the levels asked for.")

local model = "tests/tiny/tiny_linear.lua"
local function make_check(levels)
  return sh.capture("make --no-print-directory check MODEL=" .. model .. " LEVELS=" .. levels .. " 2>&1")
end

local out, code = make_check("kernel,none")
check(code == 0, "make check LEVELS=kernel,none passes", out)
check(out:find("check/tiny_linear/kernel:", 1, true) and out:find("check/tiny_linear/none:", 1, true),
  "both requested levels ran", out)
check(not out:find("check/tiny_linear/full:", 1, true), "the full level did not run", out)
-- the closest call names a layer (or the output) and the index within it, never a bare index
local where = out:match("closest call [^(]*%((.-)%)\n")
check(where and (where:find(", layers? %d") or where:find(", the output")) and where:find("value %d+ of %d+"),
  "the closest call names the layer and the index within that layer", where or out)

out, code = make_check("bogus")
check(code ~= 0 and out:find("unknown level bogus", 1, true), "an unknown level is refused by name", out)

require("testlib").finish()
