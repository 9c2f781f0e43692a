--- Helpers shared by the audit tests (tests/audit/test_*.lua): running the
-- generator, temporary directories, files, line diffs, and the map from a
-- generated file's lines to the parts of the network they describe.
local M = {}

-- this module's directory, whoever requires it
local script_dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
do
  local p = io.popen("cd '" .. script_dir:gsub("'", "'\\''") .. "/../..' && pwd", "r")
  M.root = p:read("l")
  p:close()
end
M.gen = M.root .. "/gen/lenetgen"

---------------------------------------------------------------------------
-- test counting
---------------------------------------------------------------------------
package.path = M.root .. "/gen/?.lua;" .. M.root .. "/tools/?.lua;" .. package.path
local T = require("testlib")

--- Record one check (tools/testlib.lua; TEST_VERBOSE=1 prints the passes too).
M.check = T.check

--- Remove the temporary directories, print the totals and exit (status 1 when anything failed).
function M.finish()
  M.cleanup()
  T.finish()
end

---------------------------------------------------------------------------
-- shell and files
---------------------------------------------------------------------------
local shellutil = require("shellutil")
M.q = shellutil.shell_quote

--- Run a shell command; returns exit status, stdout, stderr.
function M.run(cmd)
  local errf = os.tmpname()
  local p = io.popen("(" .. cmd .. ") 2>" .. M.q(errf), "r")
  local out = p:read("a")
  local _, _, code = p:close()
  local f = io.open(errf, "rb")
  local err = f and f:read("a") or ""
  if f then f:close() end
  os.remove(errf)
  return code, out, err
end

--- Whole content of a file, or nil (the generator's own reader).
M.read = shellutil.read_file
M.write = shellutil.write_file

local tmpdirs = {}
--- A fresh temporary directory, removed by finish().
function M.tmpdir()
  local code, out = M.run("mktemp -d")
  assert(code == 0, "mktemp failed")
  local d = out:match("[^\n]+")
  tmpdirs[#tmpdirs + 1] = d
  return d
end

function M.cleanup()
  if os.getenv("AUDIT_KEEP") then
    for _, d in ipairs(tmpdirs) do io.stdout:write("kept " .. d .. "\n") end
    return
  end
  for _, d in ipairs(tmpdirs) do os.execute("rm -rf " .. M.q(d)) end
  tmpdirs = {}
end

--- Copy a file (binary).
function M.copy(from, to)
  M.write(to, assert(M.read(from), "cannot read " .. from))
end

--- Lines of a text, as an array (no trailing empty line for a final newline).
function M.lines(text)
  local t = {}
  for l in text:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  local tail = text:match("([^\n]+)$")
  if tail then t[#t + 1] = tail end
  return t
end

--- Run the generator: args is a string of shell words; cwd optional.
-- Returns exit status, stdout, stderr.
function M.lenetgen(args, cwd)
  local cmd = "lua5.4 " .. M.q(M.gen) .. " " .. args
  if cwd then cmd = "cd " .. M.q(cwd) .. " && " .. cmd end
  return M.run(cmd)
end

--- SHA-256 of a string, as lower-case hex (luaossl, a lenetgen dependency).
function M.sha256(s)
  local digest = require("openssl.digest")
  local raw = digest.new("sha256"):final(s)
  return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

--- Header of a safetensors file: table name -> {dtype, shape, data_offsets}, and the
-- offset where the data section starts.
function M.safetensors_header(bytes)
  local n = string.unpack("<I8", bytes, 1)
  local cjson = require("cjson")
  local header = cjson.decode(bytes:sub(9, 8 + n))
  return header, 8 + n
end

--- Modification time of a file in seconds, and its inode ("%Y %i").
function M.stat(path)
  local code, out = M.run("stat -c '%Y %i' " .. M.q(path))
  if code ~= 0 then return nil end
  local mtime, inode = out:match("(%d+) (%d+)")
  return tonumber(mtime), tonumber(inode)
end

---------------------------------------------------------------------------
-- diffs
---------------------------------------------------------------------------
--- Changed lines between two texts, from diff(1): returns two sets
-- old_changed[line] = true and new_changed[line] = true, and the raw diff.
function M.diff_lines(old_text, new_text)
  local dir = M.tmpdir()
  M.write(dir .. "/old", old_text)
  M.write(dir .. "/new", new_text)
  local _, out = M.run("diff " .. M.q(dir .. "/old") .. " " .. M.q(dir .. "/new"))
  local old_changed, new_changed = {}, {}
  for line in out:gmatch("[^\n]+") do
    local a1, a2, op, b1, b2 = line:match("^(%d+),?(%d*)([acd])(%d+),?(%d*)$")
    if a1 then
      a1, b1 = tonumber(a1), tonumber(b1)
      a2 = tonumber(a2) or a1
      b2 = tonumber(b2) or b1
      if op ~= "a" then for i = a1, a2 do old_changed[i] = true end end
      if op ~= "d" then for i = b1, b2 do new_changed[i] = true end end
    end
  end
  return old_changed, new_changed, out
end

---------------------------------------------------------------------------
-- the structure of a generated file
---------------------------------------------------------------------------
--- Map every line of a generated .c or .h file to the part it belongs to.
-- Returns an array region[line] of tables:
--   { kind = "banner", item = "description" | "weights" | "tensor <name>" | "options" | "totals" |
--              "step <n>" | "generator" | "text" }
--   { kind = "weight", layer = N, what = "weight" | "bias" }  a weight array and its comment
--   { kind = "step", layers = {first, last}, part = "comment" | "memory" | "code" }
--        memory: the comment line naming the arena ranges the step reads and writes
--   { kind = "entry", layer = N | nil }   entry points; layer = the step a call or trace belongs to
--   { kind = "macro", name = "LENET5_OUTPUT_SIZE" }
--   { kind = "generation" }   the generation id's #define (.h) and its check (.c)
--   { kind = "other" }
function M.regions(text)
  local lines = M.lines(text)
  local region = {}
  local i = 1
  local n = #lines
  -- banner: the first comment
  if lines[1] == "/*" then
    while i <= n do
      local l = lines[i]
      local item = "text"
      local key = l:match("^ %*   (%S+)")
      if key == "tensor" then
        item = "tensor " .. (l:match('^ %*   tensor%s+"([^"]*)"') or "?")
      elseif key == "step" then
        item = "step " .. (l:match("^ %*   step (%d+)") or "?")
      elseif key then
        item = key
      end
      region[i] = { kind = "banner", item = item }
      i = i + 1
      if l == " */" then break end
    end
  end
  local current = { kind = "other" }
  while i <= n do
    local l = lines[i]
    local wl, what = l:match("^/%* layer (%d+) %([%w]+%) (%a+), tensor")
    if wl then
      current = { kind = "weight", layer = tonumber(wl), what = what }
      region[i] = current
      i = i + 1
      while i <= n do
        region[i] = current
        if lines[i] == "};" then break end
        i = i + 1
      end
      current = { kind = "other" }
    elseif l == "/*" and lines[i + 1] and lines[i + 1]:match("^ %* layer %d+ %(") then
      -- a step's comment block: the layers it covers, up to " */"
      local first, last
      local j = i + 1
      while j <= n and lines[j] ~= " */" do
        local k = lines[j]:match("^ %* layer (%d+) %(")
        if k then
          first = first or tonumber(k)
          last = tonumber(k)
        end
        j = j + 1
      end
      current = { kind = "step", layers = { first, last } }
      for k = i, j do
        local part = "comment"
        if lines[k]:match("reads ") and lines[k]:match("writes ") then part = "memory" end
        region[k] = { kind = "step", layers = current.layers, part = part }
      end
      current = { kind = "step", layers = current.layers, part = "code" }
      i = j + 1
    elseif l == "/*" and lines[i + 1] and lines[i + 1]:match("^ %* Entry points") then
      current = { kind = "entry" }
      region[i] = current
      i = i + 1
    elseif l:match("^static [%w ]*float act_") then
      -- an activation helper, up to its closing brace
      current = { kind = "other", helper = true }
      while i <= n do
        region[i] = current
        if lines[i] == "}" then break end
        i = i + 1
      end
      current = { kind = "other" }
      i = i + 1
    elseif l:match("^/%* %-%-math=") or l:match("^static float lenetgen_") then
      current = { kind = "other" }
      region[i] = current
      i = i + 1
    elseif l:match("^#define [%w_]+_GENERATION ") or l:match("^#if !defined%([%w_]+_GENERATION%)") then
      -- the generation id: a hash of both files, so it changes whenever anything does
      region[i] = { kind = "generation" }
      i = i + 1
    else
      local macro = l:match("^#define ([%w_]+)")
      if macro and current.kind ~= "step" then
        region[i] = { kind = "macro", name = macro }
      elseif current.kind == "entry" then
        -- a call or trace line: which step (by its last layer) it belongs to
        local layer = l:match("_trace%((%d+),")
        local fn = l:match("_layer(%d+)_")
        region[i] = { kind = "entry", layer = tonumber(layer), first_layer = tonumber(fn), text = l }
      else
        region[i] = current
      end
      i = i + 1
    end
  end
  return region, lines
end

--- Short description of a region for messages.
function M.describe(r)
  if not r then return "?" end
  if r.kind == "banner" then return "banner " .. r.item end
  if r.kind == "weight" then return string.format("layer %d %s array", r.layer, r.what) end
  if r.kind == "step" then return string.format("step of layers %s-%s (%s)", tostring(r.layers[1]),
    tostring(r.layers[2]), r.part or "code") end
  if r.kind == "macro" then return "macro " .. r.name end
  if r.kind == "entry" then return "entry point" end
  return r.kind
end

return M
