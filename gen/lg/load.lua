--- Stage 1: read a description file into a plain Lua table, safely.
-- The file is untrusted text. The parent process reads it (a regular file of
-- at most 256 KB) and evaluates it in a child Lua process whose address space
-- and CPU time the operating system limits (ulimit -v, ulimit -t), so no
-- description, however it is written, can take more than CHILD_MEMORY_MB of
-- memory or CHILD_CPU_SECONDS of CPU: Lua operations that run long or allocate
-- much inside one VM instruction (`..` of hundreds of big strings, `<` on
-- megabytes of "\0" through strcoll) are stopped by the system too.
--
-- In the child the chunk is compiled as text only (never bytecode) and runs in
-- an empty environment (no io, os, require, string library or globals; reading
-- or setting a global is an error that names it) with the string metatable
-- hidden, under an instruction, heap and time budget checked by a hook before
-- every instruction; those give the common mistakes (an endless loop, a huge
-- table, deep recursion) a message with their line. The value comes back as
-- plain data (lg.plaindata); an error comes back as { kind, line, msg }.
--
-- Budgets (measured on a 2-core x86-64 container, Lua 5.4): 2 million
-- instructions take about 0.3 s, while LeNet-5's description executes about
-- 150 and a description that builds 256 layers in a loop a few thousand.
-- Starting the child (sh, then lua5.4) adds about 3 ms of CPU and 10 ms of
-- wall time to a run.
local errors = require("lg.errors")
local linemap = require("lg.linemap")
local plaindata = require("lg.plaindata")

local M = {}

M.MAX_SOURCE_BYTES = 256 * 1024    -- a description is a page of text, not data
M.MAX_INSTRUCTIONS = 1000 * 1000
M.MAX_MEMORY_KB = 16 * 1024         -- growth of the Lua heap while the chunk runs
M.MAX_SECONDS = 1.5                 -- CPU time, checked by the hook (gives the line)
M.CHILD_MEMORY_MB = 200             -- address space of the evaluating process (ulimit -v)
M.CHILD_CPU_SECONDS = 2             -- CPU time of the evaluating process (ulimit -t)
M.MAX_RESULT_BYTES = 1024 * 1024    -- the returned value, encoded
-- The Lua interpreter that evaluates descriptions; nil: the one running this
-- program (the lowest index of arg), else lua5.4 from PATH.
M.interpreter = nil

-- The chunk's name inside the child: messages come back as "description:LINE:
-- text" whatever the path, which never enters the child's command line.
local CHUNK_NAME = "=description"
local REPLY_HEADER = "lenetgen-description-reply 1\n"

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
  kernel stride padding bias weight unroll groups dilation ceil_mode count_include_pad eps affine
  min max negative_slope check labels normalize description]]):gmatch("%S+") do
  FIELD_NAMES[word] = true
end

-- Words that are meant as strings when written bare (`type = conv2d`).
local STRING_WORDS = {}
for word in ([[conv2d linear avgpool2d maxpool2d sigmoid relu tanh flatten full kernel
  none batchnorm2d relu6 clip leaky_relu prelu global_avgpool softmax same same_lower]]):gmatch("%S+") do
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

--- Run the compiled chunk under the budgets (in the child).
-- Returns ok, value or error value, and the coroutine (for the error's line).
-- Must not use string methods: the caller hides the string metatable.
local function run_bounded(chunk)
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
    local line = info and info.source == CHUNK_NAME and info.currentline or nil
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
    return false, { yielded = true }, co
  end
  return ok, result, co
end

--- The innermost line of the description on a dead coroutine's stack.
local function chunk_line(co)
  for level = 0, 100 do
    local info = debug.getinfo(co, level, "Sl")
    if not info then return nil end
    if info.source == CHUNK_NAME and info.currentline > 0 then return info.currentline end
  end
  return nil
end

local function is_stack_overflow(msg)
  return msg:find("C stack overflow", 1, true) ~= nil
end

--- The first line at which the parser runs out of C stack: Lua's message has
-- no position, so the prefixes of the source are searched (each one is parsed
-- exactly as far as the whole file is).
local function overflow_line(src)
  local ends = {}
  for e in src:gmatch("()\n") do ends[#ends + 1] = e end
  ends[#ends + 1] = #src
  local lo, hi = 1, #ends
  while lo < hi do
    local mid = (lo + hi) // 2
    local _, err = load(src:sub(1, ends[mid]), CHUNK_NAME, "t", {})
    if err and is_stack_overflow(err) then hi = mid else lo = mid + 1 end
  end
  return lo
end

--- The reply for a failed run: { kind = ..., line = ..., msg = ... }.
local function run_error(err, co)
  if type(err) == "table" and err.budget then
    return { kind = err.budget, line = err.line }
  end
  if type(err) == "table" and err.yielded then return { kind = "yielded" } end
  local msg = tostring(err)
  if msg == "not enough memory" then return { kind = "out_of_memory", line = chunk_line(co) } end
  local line, text = msg:match("^description:(%d+): (.*)$")
  line = tonumber(line) or chunk_line(co)
  text = text or msg
  if text == "stack overflow" or is_stack_overflow(text) then
    return { kind = "recursion", line = line }
  end
  return { kind = "runtime", line = line, msg = text }
end

--- Compile and run a description's source (in the child); returns the reply.
local function evaluate(src)
  local chunk, syntax_err = load(src, CHUNK_NAME, "t", sandbox_env())
  if not chunk then
    if is_stack_overflow(syntax_err) then
      return { kind = "nesting", line = overflow_line(src) }
    end
    local line, text = syntax_err:match("^description:(%d+): (.*)$")
    return { kind = "syntax", line = tonumber(line), msg = text or syntax_err }
  end
  -- Strings share one metatable whose __index is the string library, reachable
  -- even from an empty environment: ("x"):rep(2^31) would allocate in one C call
  -- that no hook can interrupt. Hide it while the description runs.
  local string_meta = getmetatable("")
  local string_index = string_meta.__index
  string_meta.__index = nil
  local ran, ok, value, co = pcall(run_bounded, chunk)
  string_meta.__index = string_index
  if not ran then error(ok, 0) end      -- a bug in run_bounded, or out of memory
  if not ok then return run_error(value, co) end
  return { kind = "value", value = value }
end

--- Entry point of the child: the source on standard input, the reply on
-- standard output (REPLY_HEADER, then the reply encoded by lg.plaindata).
function M.evaluate_stdin()
  local function reply_of(err)
    if err == "not enough memory" then return { kind = "out_of_memory" } end
    return { kind = "bug", msg = tostring(err) }
  end
  local ok, reply = pcall(evaluate, io.stdin:read("a"))
  if not ok then reply = reply_of(reply) end
  local encoded, bytes = pcall(plaindata.encode, reply, M.MAX_RESULT_BYTES)
  if not encoded then bytes = plaindata.encode(reply_of(bytes), M.MAX_RESULT_BYTES) end
  io.stdout:write(REPLY_HEADER, bytes or plaindata.encode({ kind = "too_big" }, 64))
end

------------------------------------------------------------------------------
-- the parent
------------------------------------------------------------------------------
local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function interpreter()
  if M.interpreter then return M.interpreter end
  local lowest = 0
  while type(arg) == "table" and arg[lowest - 1] do lowest = lowest - 1 end
  return lowest < 0 and arg[lowest] or "lua5.4"
end

-- Signals that end the child when it reaches its CPU limit (ulimit -t sets the
-- soft limit, SIGXCPU, and the hard one, SIGKILL).
local SIGKILL, SIGXCPU = 9, 24

--- Evaluate `src` in a child process under the OS limits; returns the reply
-- table, or { kind = "cpu" } / { kind = "signal", signal = n } when the
-- system ended the child.
local function evaluate_in_child(src)
  local tmp = os.tmpname()
  local ok, result = pcall(function()
    local f = assert(io.open(tmp, "wb"))
    assert(f:write(src))
    assert(f:close())
    local code = string.format("package.path = %q require(%q).evaluate_stdin()", package.path, "lg.load")
    -- -E: no LUA_INIT or LUA_PATH from the environment; no core file when killed
    local cmd = string.format("ulimit -c 0 && ulimit -v %d && ulimit -t %d && exec %s -E -e %s <%s 2>&1",
      M.CHILD_MEMORY_MB * 1024, M.CHILD_CPU_SECONDS, shell_quote(interpreter()), shell_quote(code),
      shell_quote(tmp))
    local pipe = assert(io.popen(cmd, "r"))
    local out = pipe:read(M.MAX_RESULT_BYTES + 4096) or ""
    local _, how, status = pipe:close()
    if how == "signal" and (status == SIGXCPU or status == SIGKILL) then return { kind = "cpu" } end
    if how == "signal" then return { kind = "signal", signal = status } end
    if status ~= 0 or out:sub(1, #REPLY_HEADER) ~= REPLY_HEADER then
      error(string.format("the process evaluating the description failed (exit status %s): %s",
        tostring(status), out:sub(1, 400)), 0)
    end
    return plaindata.decode(out:sub(#REPLY_HEADER + 1))
  end)
  os.remove(tmp)
  if not ok then error(result, 0) end
  return result
end

local BUDGET_MESSAGES = {
  instructions = string.format("the description did not finish within %d million Lua instructions (an "
    .. "endless loop?); a description should return a table literal", M.MAX_INSTRUCTIONS // 1000000),
  time = string.format("the description did not finish within %g seconds; a description should return "
    .. "a table literal", M.MAX_SECONDS),
  memory = string.format("the description used more than %d MB of memory while loading (a huge table or "
    .. "string, or deep recursion?); a description should return a small table literal",
    M.MAX_MEMORY_KB // 1024),
  out_of_memory = "the description ran out of memory while loading; a description should return a "
    .. "small table literal",
  cpu = string.format("the description used more than %d seconds of CPU time and was stopped (an "
    .. "operation on a huge string?); a description should return a table literal", M.CHILD_CPU_SECONDS),
  nesting = "nesting too deep: about 200 levels of brackets, parentheses, operators, functions or "
    .. "blocks inside each other; a description should return a plain table literal",
  recursion = "the description recursed too deeply (stack overflow); a description should return a "
    .. "table literal",
  too_big = string.format("the description returned more than %d MB of data; a description should "
    .. "return a small table literal", M.MAX_RESULT_BYTES // (1024 * 1024)),
  yielded = "the description yielded instead of returning a table",
}

--- Turn a failure reply of the child into a model error.
local function raise_reply(path, reply)
  if BUDGET_MESSAGES[reply.kind] then errors.raise(path, reply.line, BUDGET_MESSAGES[reply.kind]) end
  if reply.kind == "syntax" then errors.raise(path, reply.line, "syntax error: " .. reply.msg) end
  if reply.kind == "runtime" then
    local text = reply.msg
    if text:match("^attempt to index a string value") then
      text = text .. "; string methods (s:rep, s:format, ...) are not available in a description"
    end
    errors.raise(path, reply.line, text)
  end
  if reply.kind == "signal" then
    errors.raise(path, nil, string.format("the Lua process evaluating the description was ended by "
      .. "signal %d; a description should return a table literal", reply.signal))
  end
  error("evaluating the description: " .. tostring(reply.msg or reply.kind), 0)
end

-- What lfs calls a file that is not a regular file, as a message says it.
local NOT_A_FILE = { ["named pipe"] = "a named pipe (FIFO)", ["char device"] = "a character device",
  ["block device"] = "a block device", socket = "a socket" }

--- The text of a description file, checked to be a regular file of bounded size.
local function read_source(path)
  local mode = require("lfs").attributes(path, "mode")
  -- a FIFO or a device would block or never end: refused before opening
  if mode and mode ~= "file" and mode ~= "directory" then
    errors.raise(path, nil, "cannot read the description: it is " .. (NOT_A_FILE[mode] or "not a file")
      .. ", not a regular file")
  end
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
  return src
end

--- Load a description.
-- @param path file path as the user wrote it (used verbatim in messages)
-- @return raw table, source text, line map (see lg.linemap)
function M.load(path)
  local src = read_source(path)
  local reply = evaluate_in_child(src)
  if reply.kind == "too_big" then reply.line = linemap.lookup(linemap.build(src), "") end
  if reply.kind ~= "value" then raise_reply(path, reply) end
  local value = reply.value
  local lines = linemap.build(src)
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
