--- Writing generated files so that a set of them (the .h/.c pair) is never
-- half-written, and never a mix of two runs.
--   1. A lock, OUTDIR/.<name>.lock (fcntl, so the kernel releases it when the
--      holder dies, even by kill -9), serialises runs that write the same
--      files; everything below happens while holding it.
--   2. Temporary files a killed run left (.<file>.XXXXXXXX.tmp) are removed.
--   3. Every target is checked before any is touched: absent, or a regular
--      file (after following symbolic links) that can be written. A FIFO, a
--      device or a directory is refused: reading or replacing it would hang,
--      fill the memory or fail half-way.
--   4. Each changed file is written in full to a temporary name in its own
--      directory; only when all are complete are they renamed over the targets
--      (rename within a directory is atomic on POSIX file systems). A file
--      whose content would not change is not touched, so make does not rebuild;
--      when none would (and nothing is left to clean), not even the lock is taken.
-- On any failure, a Lua error included (an interrupt arrives as one), every
-- temporary file is removed and targets already renamed are put back from a
-- hard link taken before the rename. Where that is impossible (kill -9 between
-- two renames, a file system without hard links) the generated pair still
-- cannot be built mixed: the header's generation id is checked by the source.
local errors = require("lg.errors")
local lfs = require("lfs")

local M = {}

-- how long a run waits for another one writing the same files
M.LOCK_WAIT_SECONDS = 60

--- Whole content of a file, or nil when it cannot be read.
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local KINDS = {
  directory = "a directory", ["named pipe"] = "a named pipe (FIFO)", ["char device"] = "a character device",
  ["block device"] = "a block device", socket = "a socket",
}

--- What a path is when it is there but not a regular file (after following
-- symbolic links): "a named pipe (FIFO)", "a symbolic link to a character
-- device", ...; nil when it is a regular file or there is nothing there.
function M.not_regular(path)
  local mode = lfs.attributes(path, "mode")
  if mode == nil or mode == "file" then return nil end
  local what = KINDS[mode] or ("a " .. mode)
  if lfs.symlinkattributes(path, "mode") == "link" then what = "a symbolic link to " .. what end
  return what
end

--- The one-line refusal of an output path that is not a regular file.
function M.not_regular_message(path, what)
  return string.format("%s: error: is %s, not a regular file; lenetgen only replaces regular files: "
    .. "remove it or choose another directory with -o", path, what)
end

--- Does the file at `path` hold exactly `text`? Reads it only when the sizes agree.
function M.same_content(path, text)
  if lfs.attributes(path, "size") ~= #text then return false end
  return M.read(path) == text
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

--- A name in the same directory as `path`.
local function sibling(path, name)
  return (path:match("^(.*/)") or "") .. name
end

local function reason_of(err)
  return tostring(err):match(": ([^:]*)$") or tostring(err)
end

--- One-line message for a failure to create a file in `dir`.
local function open_failure(dir, target, err, code)
  local reason = reason_of(err)
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

--- Let a tenth of a second pass (Lua has no sleep; os.execute would make the
-- shell ignore an interrupt meanwhile, io.popen does not).
local function pause()
  local p = io.popen("sleep 0.1")
  if p then p:close() end
end

--- Take the lock of the files that `first` (a target path) belongs to:
-- .<stem>.lock beside it. Returns the open lock file, or nil and a message.
local function lock(first)
  local stem = first:match("([^/]*)$"):gsub("%.[^.]*$", "")
  local path = sibling(first, "." .. stem .. ".lock")
  local what = M.not_regular(path)
  if what then
    return nil, string.format("%s: error: is %s, not a regular file; lenetgen uses this name as the "
      .. "lock of %s's output files: remove it", path, what, stem)
  end
  -- append: opening never changes the file, so the lock file can be kept
  local f, err, code = io.open(path, "ab")
  if not f then return nil, errors.one_line(open_failure(dir_of(first), path, err, code)) end
  for _ = 1, M.LOCK_WAIT_SECONDS * 10 do
    local locked, lerr = lfs.lock(f, "w")
    if locked then return f end
    -- EAGAIN or EACCES: another process holds it; anything else will not go away
    if not tostring(lerr):lower():match("temporarily unavailable") and not tostring(lerr):match("denied") then
      f:close()
      return nil, string.format("%s: error: cannot lock the output files: %s", path, reason_of(lerr))
    end
    pause()
  end
  f:close()
  return nil, string.format("%s: error: another lenetgen run has been writing %s's files in %s for %d s; "
    .. "let it finish (or stop it) and run again", path, stem, dir_of(first), M.LOCK_WAIT_SECONDS)
end

--- Temporary files (.<file>.XXXXXXXX.tmp) of these targets in their directory:
-- left behind by a killed run, or being written by a live one.
local function temporaries(files)
  local found, patterns = {}, {}
  for i, file in ipairs(files) do
    patterns[i] = "^%." .. file.path:match("([^/]*)$"):gsub("%p", "%%%0") .. "%.%x+%.tmp$"
  end
  local ok, iter, state = pcall(lfs.dir, dir_of(files[1].path))
  if not ok then return found end
  for entry in iter, state do
    for _, pattern in ipairs(patterns) do
      if entry:match(pattern) then found[#found + 1] = sibling(files[1].path, entry) end
    end
  end
  return found
end

--- Can `file.path` be replaced? nil, or a one-line message.
local function check_target(path)
  local what = M.not_regular(path)
  if what then return M.not_regular_message(path, what) end
  if lfs.attributes(path, "mode") == "file" then
    -- appending nothing changes nothing (not even the modification time), but
    -- is refused for a file that may not be replaced (read-only, immutable)
    local f, err = io.open(path, "ab")
    if not f then
      return string.format("%s: error: cannot replace the output: %s; make it writable or remove it",
        path, reason_of(err):lower())
    end
    f:close()
  end
  return nil
end

local function temp_name(path)
  -- a name of its own, so that a run never renames another's half-written file
  return sibling(path, string.format(".%s.%08x.tmp", path:match("([^/]*)$"), math.random(0, 0x7fffffff)))
end

--- The work of write_all, holding the lock. `state` records what to undo.
local function write_locked(files, stale, state)
  -- holding the lock: no live run owns these, a killed one left them
  for _, stale in ipairs(temporaries(files)) do os.remove(stale) end
  for _, file in ipairs(files) do
    local problem = check_target(file.path)
    if problem then return nil, problem end
  end
  for _, file in ipairs(files) do
    if not M.same_content(file.path, file.text) then
      local tmp = temp_name(file.path)
      state.temps[#state.temps + 1] = tmp
      local f, err, code = io.open(tmp, "wb")
      if not f then
        return nil, errors.one_line(open_failure(dir_of(file.path), file.path, err, code))
      end
      local ok, werr = f:write(file.text)
      local closed, cerr = f:close()
      if not ok or not closed then
        return nil, string.format("%s: error: cannot write the output: %s", file.path, tostring(werr or cerr))
      end
      state.pending[#state.pending + 1] = { tmp = tmp, path = file.path }
    end
  end
  for i, p in ipairs(state.pending) do
    -- a hard link to the old file, to put it back if a later rename fails
    -- (the last rename completes the set: nothing after it can fail). Names
    -- are recorded before the link is made: an interrupt may come between any
    -- two instructions.
    if i < #state.pending then
      p.was_absent = lfs.attributes(p.path, "mode") == nil
      if not p.was_absent then
        p.backup = temp_name(p.path)
        state.temps[#state.temps + 1] = p.backup
        if not lfs.link(p.path, p.backup) then p.backup = nil end
      end
    end
    local ok, err = os.rename(p.tmp, p.path)
    if not ok then
      return nil, string.format("%s: error: cannot replace the output: %s", p.path, reason_of(err))
    end
  end
  -- the new set is complete: files of an earlier, larger set go. Killed before
  -- this, a stale part cannot be built with the new header (generation id),
  -- is listed in no <NAME>_SOURCE_FILES, and the next run removes it.
  for _, path in ipairs(stale) do
    local ok, err = os.remove(path)
    if not ok then
      return true, nil, string.format("%s: error: cannot remove this stale file of an earlier run: %s; "
        .. "remove it", path, reason_of(err))
    end
  end
  return true
end

--- After a failure: put back every target already replaced, unless all were
-- (then the set is complete and new). A temporary file that is gone was
-- renamed; this does not rely on bookkeeping an interrupt could cut short.
local function undo(state)
  local last = state.pending[#state.pending]
  if last and not lfs.attributes(last.tmp, "mode") then return end
  for i = #state.pending, 1, -1 do
    local p = state.pending[i]
    if not lfs.attributes(p.tmp, "mode") then
      if p.backup then os.rename(p.backup, p.path) elseif p.was_absent then os.remove(p.path) end
    end
  end
end

--- Write { {path=, text=}, ... } (files of one directory; the first one's name
-- without its extension names the lock) and remove the files listed in
-- `stale` (optional: paths of an earlier run's set that this one does not
-- have) once the new set is in place. Returns true, or nil and a message
-- ("path: error: ...", one line). A Lua error (an interrupt) is raised again
-- after the same clean-up.
function M.write_all(files, stale)
  stale = stale or {}
  for _, file in ipairs(files) do
    -- refused before the lock file is made, so these leave the directory as it was
    local problem = check_target(file.path)
    if problem then return nil, problem end
  end
  local unchanged = true
  for _, file in ipairs(files) do unchanged = unchanged and M.same_content(file.path, file.text) end
  -- nothing to write (a read-only directory is fine then; a run writing
  -- meanwhile replaces the files as a set), unless a killed run left
  -- temporary files to remove
  if unchanged and #temporaries(files) == 0 and #stale == 0 then return true end
  local lock_file, lerr = lock(files[1].path)
  if not lock_file then return nil, lerr end
  local state = { temps = {}, pending = {} }
  local done, ok, message, remove_failed = pcall(write_locked, files, stale, state)
  if not (done and ok) then undo(state) end
  for _, tmp in ipairs(state.temps) do os.remove(tmp) end
  lock_file:close()  -- releases the lock
  if not done then error(ok, 0) end
  if remove_failed then return nil, remove_failed end
  return ok, message
end

return M
