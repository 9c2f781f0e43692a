--- Small helpers shared by tests/errors/test_errors.lua, tests/files/test_files.lua and tools/fuzz.lua: files and
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

--- Standard error of a lenetgen run less its "file:line: note: ..." lines (a
-- note explains a choice and is allowed on success; anything else is not).
function M.without_notes(err)
  return (err:gsub("[^\n]*: note: [^\n]*\n", ""))
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

--- find(1) command listing a directory's entries (hidden ones too): name, kind,
-- size and modification time (ns), one per line, sorted.
M.LIST = "find %s -mindepth 1 -printf '%%P\\t%%y\\t%%s\\t%%T@\\n' | sort"

--- Snapshot from a listing: names, kinds, sizes and modification times, plus
-- the bytes of every file.
function M.snapshot_of(dir, listing)
  local files = {}
  for line in listing:gmatch("[^\n]+") do
    local name, kind = line:match("^([^\t]*)\t(%a)")
    if kind == "f" then files[name] = M.read_file(dir .. "/" .. name) end
  end
  return { listing = listing, files = files }
end

function M.snapshot(dir)
  return M.snapshot_of(dir, M.capture(M.LIST:format(M.shell_quote(dir))))
end

--- Are two snapshots the same? true, or false and what differs.
function M.same_snapshot(a, b)
  if a.listing ~= b.listing then return false, "listing changed:\n" .. a.listing .. "--- now:\n" .. b.listing end
  for name, bytes in pairs(a.files) do
    if b.files[name] ~= bytes then return false, name .. " changed" end
  end
  return true
end

return M
