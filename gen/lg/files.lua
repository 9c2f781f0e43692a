--- Writing generated files so that nothing is ever half-written.
-- Every file is first written in full to a temporary name in its own
-- directory (.NAME.XXXXXXXX.tmp); only when all of them are complete are they
-- renamed over the targets (rename within a directory is atomic on POSIX file
-- systems). A file whose content would not change is not touched, so make
-- does not rebuild.
-- On any failure every temporary file is removed and the targets are as they
-- were (unless a rename itself fails after an earlier one succeeded, which
-- needs the directory to change under us).
local errors = require("lg.errors")

local M = {}

--- Whole content of a file, or nil when it cannot be read.
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- errno values of io.open failures that have a specific explanation
local ENOENT, EACCES, ENOTDIR, EISDIR, EROFS = 2, 13, 20, 21, 30

--- Directory part of a path ("." when there is none).
local function dir_of(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == nil then return "." end
  if dir == "" then return "/" end
  return dir
end

--- One-line message for a failure to create a file in `dir`.
local function open_failure(dir, target, err, code)
  local reason = tostring(err):match(": ([^:]*)$") or tostring(err)
  if code == ENOENT then
    return string.format("%s: error: the output directory does not exist; create it (mkdir -p %s) "
      .. "or choose another with -o", dir, dir)
  elseif code == ENOTDIR then
    return string.format("%s: error: the output path is not a directory (it or a directory above it "
      .. "is a file); choose a directory with -o", dir)
  elseif code == EACCES or code == EROFS then
    return string.format("%s: error: cannot write to the output directory (%s); make it writable "
      .. "or choose another with -o", dir, reason:lower())
  elseif code == EISDIR then
    return string.format("%s: error: cannot write the output: %s", target, reason:lower())
  end
  return string.format("%s: error: cannot write the output: %s", target, reason)
end

--- Write { {path=, text=}, ... }. Returns true, or nil and a message
-- ("path: error: ...", one line).
function M.write_all(files)
  local pending = {}
  local function discard()
    for _, p in ipairs(pending) do os.remove(p.tmp) end
  end
  for _, file in ipairs(files) do
    if M.read(file.path) ~= file.text then
      local dir, base = file.path:match("^(.*)/([^/]*)$")
      -- a name of its own, so that two runs writing the same directory at the
      -- same time never rename each other's half-written file
      local tmp = string.format("%s.%s.%08x.tmp", dir and (dir .. "/") or "", base or file.path,
        math.random(0, 0x7fffffff))
      local f, err, code = io.open(tmp, "wb")
      if not f then
        discard()
        return nil, errors.one_line(open_failure(dir_of(file.path), file.path, err, code))
      end
      local ok, werr = f:write(file.text)
      local closed, cerr = f:close()
      if not ok or not closed then
        os.remove(tmp)
        discard()
        return nil, string.format("%s: error: cannot write the output: %s", file.path,
          tostring(werr or cerr))
      end
      pending[#pending + 1] = { tmp = tmp, path = file.path }
    end
  end
  for i, p in ipairs(pending) do
    local ok, err = os.rename(p.tmp, p.path)
    if not ok then
      for j = i, #pending do os.remove(pending[j].tmp) end
      return nil, string.format("%s: error: cannot replace the output: %s", p.path,
        tostring(err):match(": ([^:]*)$") or tostring(err))
    end
  end
  return true
end

return M
