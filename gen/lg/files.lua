--- Writing generated files so that nothing is ever half-written.
-- Every file is first written in full to a temporary name in its own
-- directory; only when all of them are complete are they renamed over the
-- targets (rename within a directory is atomic on POSIX file systems). A file
-- whose content would not change is not touched, so make does not rebuild.
local M = {}

--- Whole content of a file, or nil when it cannot be read.
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Write { {path=, text=}, ... }. Returns true, or nil and a message.
function M.write_all(files)
  local pending = {}
  local function discard()
    for _, p in ipairs(pending) do os.remove(p.tmp) end
  end
  for _, file in ipairs(files) do
    if M.read(file.path) ~= file.text then
      local dir, base = file.path:match("^(.*)/([^/]*)$")
      local tmp = (dir and (dir .. "/") or "") .. "." .. (base or file.path) .. ".tmp"
      local f, err = io.open(tmp, "wb")
      if not f then
        discard()
        return nil, string.format("%s: error: cannot write the output: %s", file.path,
          err:match(": ([^:]*)$") or err)
      end
      local ok, werr = f:write(file.text)
      local closed, cerr = f:close()
      if not ok or not closed then
        os.remove(tmp)
        discard()
        return nil, string.format("%s: error: cannot write the output: %s", file.path, tostring(werr or cerr))
      end
      pending[#pending + 1] = { tmp = tmp, path = file.path }
    end
  end
  for i, p in ipairs(pending) do
    local ok, err = os.rename(p.tmp, p.path)
    if not ok then
      for j = i, #pending do os.remove(pending[j].tmp) end
      return nil, string.format("%s: error: cannot replace the output: %s", p.path, tostring(err))
    end
  end
  return true
end

return M
