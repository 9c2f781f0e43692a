--- Stage 1: read a description file into a plain Lua table, safely.
-- The file is untrusted text: it is compiled as text only (never bytecode),
-- runs in an empty environment (no io, os, require, string library or globals;
-- reading or setting a global is an error that names it) and under an
-- instruction, memory and time budget, so an endless loop or a huge table ends
-- with a clear error instead of a hang or an out-of-memory.
--
-- Budgets (measured on a 2-core x86-64 container, Lua 5.4.6):
--   the hook runs before every VM instruction; 2 million instructions take
--   about 0.3 s, while LeNet-5's description executes about 150 and a
--   description that builds 256 layers in a loop a few thousand. The memory
--   check therefore sees the heap before every instruction; the one instruction
--   that can multiply memory is `..` (OP_CONCAT, up to ~250 operands), so the
--   number of `..` operators in a description is capped too: with at most
--   MAX_CONCATS of them, one instruction can grow the heap at most
--   (MAX_CONCATS + 1) times past the limit (9 x 16 MB).
local errors = require("lg.errors")
local linemap = require("lg.linemap")

local M = {}

M.MAX_SOURCE_BYTES = 256 * 1024    -- a description is a page of text, not data
M.MAX_INSTRUCTIONS = 1000 * 1000
M.MAX_MEMORY_KB = 16 * 1024         -- growth of the Lua heap while the chunk runs
M.MAX_SECONDS = 2.0                 -- CPU-time safety net (GC-heavy pathological chunks)
M.MAX_CONCATS = 8                   -- `..` operators in the whole description

-- Names a model owner may expect from plain Lua; reading one gets a message
-- that explains the empty environment instead of "unknown name".
local LUA_GLOBALS = {}
for name in ([[print io os require load loadfile dofile loadstring string table math utf8
  coroutine debug package pairs ipairs next select type tostring tonumber setmetatable
  getmetatable rawget rawset rawequal rawlen pcall xpcall error assert collectgarbage _G
  _VERSION unpack arg]]):gmatch("%S+") do
  LUA_GLOBALS[name] = true
end

-- Field names: read as a value, they point at `==` for `=` or a lost comma.
local FIELD_NAMES = {}
for word in ([[name input weights layers channels height width type out_channels out_features
  kernel stride padding bias weight unroll]]):gmatch("%S+") do
  FIELD_NAMES[word] = true
end

-- Words that are meant as strings when written bare (`type = conv2d`).
local STRING_WORDS = {}
for word in ([[conv2d linear avgpool2d maxpool2d sigmoid relu tanh flatten full kernel
  none]]):gmatch("%S+") do
  STRING_WORDS[word] = true
end

--- The environment of a description: empty, and loud about globals.
-- These functions run inside the sandbox while the string metatable is
-- hidden: they must not use string methods (s:sub), only string.* calls.
local function sandbox_env()
  local env = {}
  return setmetatable(env, {
    __index = function(_, key)
      local name = tostring(key)
      if FIELD_NAMES[key] then
        error(string.format("'%s' is read as a variable here, which a description does not have; "
          .. "a field is written %s = value (check for == instead of =, or a missing comma or brace)",
          name, name), 2)
      end
      if LUA_GLOBALS[key] then
        error(string.format("'%s' is not available: a description runs in an empty environment "
          .. "(no print, io, os, require, string or other library) and may only compute and "
          .. "return a table", name), 2)
      end
      if STRING_WORDS[key] then
        error(string.format("unknown name '%s'; write it as a string: \"%s\"", name, name), 2)
      end
      error(string.format("unknown name '%s': a description has no globals; define it first "
        .. "with local %s = ... or write a string in quotes", name, name), 2)
    end,
    __newindex = function(_, key)
      error(string.format("cannot set global '%s': a description has no globals; "
        .. "write local %s = ... instead", tostring(key), tostring(key)), 2)
    end,
  })
end

--- Run the compiled chunk under the budgets.
-- Returns true, value or false, error value. Must not use string methods:
-- the caller hides the string metatable while this runs.
local function run_bounded(chunk, path)
  local co = coroutine.create(chunk)
  collectgarbage()
  local base_kb = collectgarbage("count")
  local ceiling_kb = base_kb + M.MAX_MEMORY_KB
  -- after a full collection the live heap must leave room, or every following
  -- instruction would pay for another full collection
  local live_ceiling_kb = base_kb + M.MAX_MEMORY_KB / 2
  local remaining = M.MAX_INSTRUCTIONS
  local deadline = os.clock() + M.MAX_SECONDS
  local gc, clock = collectgarbage, os.clock
  local function fail(kind)
    -- level 1 is fail, 2 the hook, 3 the description's running function
    local info = debug.getinfo(3, "Sl")
    local line = info and info.source == "@" .. path and info.currentline or nil
    error({ budget = kind, line = line and line > 0 and line or nil }, 0)
  end
  -- the hook runs before every instruction, so it is kept minimal
  debug.sethook(co, function()
    remaining = remaining - 1
    if remaining & 4095 == 0 then
      if remaining <= 0 then fail("instructions") end
      if clock() > deadline then fail("time") end
    end
    if gc("count") > ceiling_kb then
      gc()
      if gc("count") > live_ceiling_kb then fail("memory") end
    end
  end, "", 1)
  local ok, result = coroutine.resume(co)
  debug.sethook(co)
  if ok and coroutine.status(co) ~= "dead" then
    return false, { yielded = true }
  end
  return ok, result
end

local BUDGET_MESSAGES = {
  instructions = "the description did not finish within %d million Lua instructions (an endless "
    .. "loop?); a description should return a table literal",
  time = "the description did not finish within %g seconds; a description should return a table "
    .. "literal",
  memory = "the description used more than %d MB of memory while loading (a huge table or "
    .. "string, or deep recursion?); a description should return a small table literal",
}

--- Turn a failure of the chunk into a model error (string methods usable again).
local function raise_run_error(path, err)
  if type(err) == "table" and err.budget then
    local limit = ({ instructions = M.MAX_INSTRUCTIONS // 1000000, time = M.MAX_SECONDS,
      memory = M.MAX_MEMORY_KB // 1024 })[err.budget]
    errors.raise(path, err.line, BUDGET_MESSAGES[err.budget]:format(limit))
  end
  if type(err) == "table" and err.yielded then
    errors.raise(path, nil, "the description yielded instead of returning a table")
  end
  local msg = tostring(err)
  if msg == "not enough memory" then
    errors.raise(path, nil, "the description ran out of memory while loading; a description "
      .. "should return a small table literal")
  end
  -- runtime errors carry "path:line: message"; re-shape them as ours
  local prefix = path .. ":"
  if msg:sub(1, #prefix) == prefix then
    local line, text = msg:sub(#prefix + 1):match("^(%d+): (.*)$")
    if line then
      if text:match("^attempt to index a string value") then
        text = text .. "; string methods (s:rep, s:format, ...) are not available in a description"
      end
      errors.raise(path, tonumber(line), text)
    end
  end
  errors.raise(path, nil, msg)
end

--- Load a description.
-- @param path file path as the user wrote it (used verbatim in messages)
-- @return raw table, source text, line map (see lg.linemap)
function M.load(path)
  local f, open_err = io.open(path, "rb")
  if not f then
    errors.raise(path, nil, "cannot read the description: " .. (open_err:match(": ([^:]*)$") or open_err):lower())
  end
  local src, read_err = f:read(M.MAX_SOURCE_BYTES + 1)
  f:close()
  if not src and read_err then
    errors.raise(path, nil, "cannot read the description: " .. (tostring(read_err):match(": ([^:]*)$")
      or tostring(read_err)):lower())
  end
  src = src or ""
  if #src > M.MAX_SOURCE_BYTES then
    errors.raise(path, nil, string.format("the description is larger than %d KB; a description is "
      .. "a short table (weights belong in the safetensors file)", M.MAX_SOURCE_BYTES // 1024))
  end
  if src:sub(1, 1) == "\27" then
    errors.raise(path, nil, "precompiled Lua chunks are not accepted; give the description as text")
  end
  local chunk, syntax_err = load(src, "@" .. path, "t", sandbox_env())
  if not chunk then
    local prefix = path .. ":"
    local line, text
    if syntax_err:sub(1, #prefix) == prefix then
      line, text = syntax_err:sub(#prefix + 1):match("^(%d+): (.*)$")
    end
    errors.raise(path, line and tonumber(line) or nil, "syntax error: " .. (text or syntax_err))
  end
  local tokens = linemap.tokenize(src)
  local concats = linemap.symbol_lines(tokens, "..")
  if #concats > M.MAX_CONCATS then
    errors.raise(path, concats[M.MAX_CONCATS + 1], string.format("the description uses the string "
      .. "operator .. %d times, more than the limit of %d; a description should return a table literal",
      #concats, M.MAX_CONCATS))
  end
  -- Strings share one metatable whose __index is the string library, reachable
  -- even from an empty environment: ("x"):rep(2^31) would allocate in one C call
  -- that no hook can interrupt. Hide it while the description runs.
  local string_meta = getmetatable("")
  local string_index = string_meta.__index
  string_meta.__index = nil
  local ran, ok, value = pcall(run_bounded, chunk, path)
  string_meta.__index = string_index
  if not ran then error(ok, 0) end      -- a bug in run_bounded itself
  if not ok then raise_run_error(path, value) end
  local lines = linemap.build(src, tokens)
  if type(value) ~= "table" then
    local got = "a " .. type(value)
    if value == nil then got = "nothing (nil)"
    elseif type(value) == "number" then got = "the number " .. tostring(value)
    elseif type(value) == "string" then got = string.format("the string %q", value:sub(1, 40))
    elseif type(value) == "boolean" then got = tostring(value) end
    errors.raise(path, linemap.lookup(lines, ""), "the description must return a table such as "
      .. "{ name = ..., input = ..., layers = ... }, got " .. got)
  end
  return value, src, lines
end

return M
