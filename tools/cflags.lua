--- The strict warning flags every build of generated C uses, read from tools/cwarn.flags
-- (the one copy: the Makefile reads the same file into CWARN, tests/compilers/compile_matrix.sh
-- and the harness's generated suite.mk too).
local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local f = assert(io.open(here .. "/cwarn.flags", "r"))
--- The flags as one string, e.g. "-std=c99 -Wall ... -Werror".
M.warn = f:read("l"):match("^%s*(.-)%s*$")
f:close()

return M
