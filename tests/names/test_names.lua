#!/usr/bin/env lua5.4
--- Network names next to the C library.
--
-- Every identifier lenetgen derives from a name (N.h, the guard NAME_H, macros
-- NAME_INPUT_SIZE..., functions N_infer...) must compile next to every C99
-- standard header. For each name of a list of tricky but accepted names this
-- generates a small network (sigmoid and tanh, so the math helpers are in) with
-- --math=libm and --math=builtin and compiles, with gcc and clang and the strict
-- flags, N.c after all C99 headers and N.c followed by all of them (N.c
-- includes N.h first). A self-test shows the compile step can fail: the files
-- of a good name renamed to "_stdio" (accepted before the fix) do not compile
-- after <stdio.h>. Reserved names are checked to be refused, with their reason.
--
-- Usage (from anywhere): lua5.4 tests/names/test_names.lua [-v]
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local root = here .. "/../.."
package.path = root .. "/gen/?.lua;" .. root .. "/tools/?.lua;" .. package.path
local cli = require("lg.cli")
local validate = require("lg.validate")
local shellutil = require("shellutil")
require("lg.render").templates_dir = root .. "/templates"
local write_file, shell_quote, capture = shellutil.write_file, shellutil.shell_quote, shellutil.capture

local T = require("testlib")
local check = T.check
T.parse_args("tests/names/test_names.lua", "Network names next to the C library.")

local CWARN = require("cflags").warn
local C99_HEADERS = { "assert", "complex", "ctype", "errno", "fenv", "float", "inttypes", "iso646",
  "limits", "locale", "math", "setjmp", "signal", "stdarg", "stdbool", "stddef", "stdint", "stdio",
  "stdlib", "string", "tgmath", "time", "wchar", "wctype" }

-- Accepted names that look like the C library's: its macros, typedefs and
-- functions, header names with a suffix, the shortest and the longest names,
-- prefixes that are reserved only with more letters after them.
local TRICKY = { "x", "X", "I", "e", "E", "E_net", "si", "pri", "PRI", "scn", "is", "to",
  "str", "mem", "wcs", "i_s", "to_net", "int8_t", "uint32_t", "size_t", "wchar_t", "ptrdiff_t",
  "fenv_t", "FILE", "NULL", "stdin", "bool", "true", "and", "or", "not", "compl", "offsetof",
  "va_list", "jmp_buf", "NDEBUG", "HUGE_VAL", "INFINITY", "NAN", "M_PI", "FLT_MAX", "INT8_C",
  "INT8_MAX", "SIZE_MAX", "CHAR_BIT", "RAND_MAX", "BUFSIZ", "MATH_ERRNO", "math_errhandling",
  "stdio_h", "math_h", "MATH_H", "tgmath_net", "main", "longjmp",
  "imaginary", "Lenet", "net_lenetgen", string.rep("a", 40) }

-- Names refused, with the start of the reason.
local REFUSED = {
  { "_math", "starts with _: C reserves" }, { "_stdio", "starts with _" }, { "_x", "starts with _" },
  { "__x", "starts with _" }, { "a__b", "would make identifiers with a double underscore" },
  { "net_", "would make identifiers with a double underscore" },
  { "Math", "would write Math.h, which hides the C library's <math.h> on case-insensitive" },
  { "STDIO_", "would make identifiers" }, { "stdio", "would write stdio.h" },
  { "lenetgen", "starts like the generator's own helpers" }, { "lg_net", "starts like the generator's" },
  { "LG_X", "starts like the generator's" }, { "lenetgen5", "starts like the generator's" },
  { "EOF", "would define the macro EOF_INPUT_SIZE, and C reserves macros that begin with E and" },
  { "e2", "would define the macro E2_INPUT_SIZE" }, { "encoder", "would define the macro ENCODER_" },
  { "sig", "would define the macro SIG_INPUT_SIZE, and C reserves macros that begin with SIG or" },
  { "sigmoid", "would define the macro SIGMOID_INPUT_SIZE" }, { "lc_x", "would define the macro LC_X_" },
  { "fe_x", "would define the macro FE_X_" }, { "prix", "would define the macro PRIX_" },
  { "scnx", "would define the macro SCNX_" }, { "atomic_x", "would define the macro ATOMIC_X_" },
  { "time_x", "would define the macro TIME_X_" }, { "lc", "would define the macro LC_INPUT_SIZE" },
  { "fe", "would define the macro FE_INPUT_SIZE" }, { "exit", "would define the macro EXIT_INPUT_SIZE" },
  { "errno_h", "would define the macro ERRNO_H_" }, { "STDIO", "would write STDIO.h" },
  { "LG", "starts like the generator's" },
  { "island", "would define the function island_infer, and C reserves external names that begin with is" },
  { "token", "would define the function token_infer" }, { "stream", "would define the function stream_" },
  { "memo", "would define the function memo_infer" }, { "wcsnet", "would define the function wcsnet_" },
  { "cnd_x", "would define the function cnd_x_" }, { "int", "is a C keyword" },
}

for _, r in ipairs(REFUSED) do
  local reason = validate.reserved_name_reason(r[1]) or ""
  check(reason:sub(1, #r[2]) == r[2], "refused: " .. r[1], "reason: " .. reason)
end
for _, name in ipairs(TRICKY) do
  check(validate.reserved_name_reason(name) == nil, "accepted: " .. name,
    validate.reserved_name_reason(name))
end

local work = (capture("mktemp -d -t lenetgen-test-names.XXXXXX"):gsub("%s+$", ""))

--- Generate network `name` into dir with --math=math; returns true or the error.
local function generate(name, dir, math_opt)
  local desc = dir .. "/" .. name .. "_desc.lua"
  write_file(desc, string.format('return {\n  name = %q,\n  input = { channels = 1, height = 2, '
    .. 'width = 2 },\n  layers = {\n    { type = "flatten" },\n    { type = "linear", out_features = 3 },\n'
    .. '    { type = "sigmoid" },\n    { type = "linear", out_features = 2 },\n    { type = "tanh" },\n'
    .. '  },\n}\n', name))
  local ok, result = pcall(cli.generate, { description = desc, output = dir, unroll = "kernel",
    plan = "fused", math = math_opt, random_weights = 1, max_code_bytes = 1 << 24 })
  if not ok then return tostring(result) end
  for _, f in ipairs(result.files) do write_file(f.path, f.text) end
  return true
end

local function includes(list)
  local lines = {}
  for i, h in ipairs(list) do lines[i] = "#include <" .. h .. ".h>" end
  return table.concat(lines, "\n") .. "\n"
end

--- Translation units for a generated name: the .c after all headers, and
-- the .c followed by all headers. Returns { {label, path} ... }.
local function units(name, dir, tag)
  local before = dir .. "/before_" .. tag .. ".c"
  local after = dir .. "/after_" .. tag .. ".c"
  write_file(before, includes(C99_HEADERS) .. '#include "' .. name .. '.c"\n')
  write_file(after, '#include "' .. name .. '.c"\n' .. includes(C99_HEADERS))
  return { { "headers then " .. name .. ".c", before }, { name .. ".c then headers", after } }
end

local COMPILERS = { "gcc", "clang" }

--- Compile every unit with every compiler, two at a time; calls done(label, ok, output).
local function compile_all(jobs, done)
  for first = 1, #jobs, 2 do
    local handles = {}
    for i = first, math.min(#jobs, first + 1) do
      local j = jobs[i]
      handles[i] = io.popen(string.format("%s %s -fsyntax-only -I %s %s 2>&1; echo \"rc=$?\"", j.cc, CWARN,
        shell_quote(j.dir), shell_quote(j.path)), "r")
    end
    for i = first, math.min(#jobs, first + 1) do
      local out = handles[i]:read("a")
      handles[i]:close()
      local rc = out:match("rc=(%d+)\n$")
      done(jobs[i].label, rc == "0", out)
    end
  end
end

-- Self-test: the compile step detects the clash of a name that was accepted
-- before this check existed ("_stdio": its guard _STDIO_H is glibc's).
do
  local dir = work .. "/selftest"
  os.execute("mkdir -p " .. shell_quote(dir))
  local ok = generate("xx", dir, "libm")
  check(ok == true, "self-test: generation", tostring(ok))
  for _, ext in ipairs({ "h", "c" }) do
    local text = shellutil.read_file(dir .. "/xx." .. ext)
    text = text:gsub("xx", "_stdio"):gsub("XX", "_STDIO")
    write_file(dir .. "/_stdio." .. ext, text)
  end
  local clash = units("_stdio", dir, "stdio")
  compile_all({ { cc = "gcc", dir = dir, path = clash[1][2], label = "self-test" } }, function(_, good)
    check(not good, "self-test: _stdio.c after <stdio.h> fails to compile (the check can fail)")
  end)
end

local jobs = {}
for _, name in ipairs(TRICKY) do
  for _, math_opt in ipairs({ "libm", "builtin" }) do
    local dir = work .. "/" .. name .. "-" .. math_opt
    os.execute("mkdir -p " .. shell_quote(dir))
    local ok = generate(name, dir, math_opt)
    if check(ok == true, name .. " --math=" .. math_opt .. ": generates", tostring(ok)) then
      for _, u in ipairs(units(name, dir, math_opt)) do
        for _, cc in ipairs(COMPILERS) do
          jobs[#jobs + 1] = { cc = cc, dir = dir, path = u[2],
            label = string.format("%s --math=%s: %s (%s)", name, math_opt, u[1], cc) }
        end
      end
    end
  end
end
compile_all(jobs, function(label, ok, out) check(ok, label, out) end)

os.execute("rm -rf " .. shell_quote(work))
T.finish()
