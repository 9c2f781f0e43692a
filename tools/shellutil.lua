--- Small helpers shared by tests/test_errors.lua and tools/fuzz.lua: files and
-- shell commands (the scripts drive gen/lenetgen, gcc and find through a shell).
local M = {}

--- Whole content of a file, or nil when it cannot be read.
M.read_file = require("lg.files").read

--- Write a whole file (raises on failure: test scripts only).
function M.write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

--- A word quoted for sh.
function M.shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- Standard output of a shell command, and its exit status.
function M.capture(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

return M
