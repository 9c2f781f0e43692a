--- Every buffer index of the generated code is a compile-time constant.
-- Three kinds of evidence, over LeNet-5 at every unroll level and plan, every
-- tests/tiny network at every level, tests/audit/models/lenet5_mini.lua and random
-- architectures from tools/random_arch.lua (which mix levels per layer):
--   1. a scan of the C (tests/audit/cscan.lua): at --unroll=full no for loop and only
--      integer-literal subscripts and pointer offsets; at kernel and none every
--      subscript and offset is an affine expression of the enclosing for loops'
--      variables (at none also of the function's static const int window-bound
--      tables, themselves indexed that way); array dimensions are constants;
--   2. gcc -O2 -Warray-bounds=2 -Werror (with the project's warning flags) is clean;
--   3. a run under AddressSanitizer and UndefinedBehaviorSanitizer with input, output
--      and scratch allocated to exactly their published sizes, through both entry
--      points and the trace hook (which reads every value it is given).
-- usage: lua5.4 tests/audit/test_indices.lua [--quick]   (prints "N passed, N failed")
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/?.lua;" .. package.path
local A = require("auditlib")
local S = require("cscan")
local check, q = A.check, A.q
local root = A.root
local quick = require("testlib").parse_args("tests/audit/test_indices.lua", "Constant buffer indices.",
  function(p) p:flag("--quick", "LeNet-5 at one level and plan only.") end).quick

local CC = os.getenv("CC") or "gcc"
local CWARN = require("cflags").warn

---------------------------------------------------------------------------
-- the scanner can fail
---------------------------------------------------------------------------
do
  local function findings(src)
    local f = S.scan(src)
    return #f, f[1] and f[1].text or ""
  end
  local kernel = "/*\n * layer 0 (conv2d) m.lua:1\n * unroll kernel; reads input, writes output\n */\n"
  local full = "/*\n * layer 0 (conv2d) m.lua:1\n * unroll full; reads input, writes output\n */\n"
  local cases = {
    { kernel .. "static void f(const float *restrict input, float *restrict output)\n{\n"
      .. "    for (int i = 0; i < 4; ++i) {\n        output[2 * i + 1] = input[i];\n    }\n}\n", 0, "affine index" },
    { kernel .. "static void f(const float *restrict input, float *restrict output)\n{\n"
      .. "    for (int i = 0; i < 4; ++i) {\n        for (int j = 0; j < 4; ++j) {\n"
      .. "            output[i * j] = input[j];\n        }\n    }\n}\n", 1, "product of two loop variables" },
    { kernel .. "static void f(const float *restrict input, float *restrict output, int n)\n{\n"
      .. "    for (int i = 0; i < 4; ++i) {\n        output[i + n] = input[i];\n    }\n}\n", 1, "a parameter in an index" },
    { kernel .. "static void f(const float *restrict input, float *restrict output)\n{\n"
      .. "    for (int i = 0; i < 4; ++i) {\n        output[i] = input[i];\n    }\n    output[i] = 0.0f;\n}\n", 1,
      "a loop variable used after its loop" },
    { full .. "static void f(const float *restrict input, float *restrict output)\n{\n"
      .. "    for (int i = 0; i < 4; ++i) {\n        output[i] = input[i];\n    }\n}\n", 3, "a loop at full" },
    { full .. "static void f(const float *restrict input, float *restrict output)\n{\n"
      .. "    const int c = 1;\n    output[c] = input[0];\n}\n", 1, "a named constant at full" },
    { full .. "static void f(const float *restrict input, float *restrict output)\n{\n"
      .. "    const float *p = input + 3;\n    output[0] = p[(int)input[0]];\n}\n", 1, "a data-dependent index" },
    { full .. "static void f(float *restrict scratch, int k)\n{\n    g(scratch + k);\n}\n", 1,
      "a non-constant pointer offset" },
    { kernel .. "static void f(const float *restrict input, float *restrict output)\n{\n"
      .. "    for (int i = 0; i < 4; ++i) {\n        output[i] = input[(i / 2) + 1];\n    }\n}\n", 0,
      "an affine index divided by a literal" },
    { kernel .. "static void f(const float *restrict input, float *restrict output)\n{\n"
      .. "    for (int i = 1; i < 4; ++i) {\n        for (int j = 1; j < 4; ++j) {\n"
      .. "            output[i / j] = input[j];\n        }\n    }\n}\n", 1, "a division by a loop variable" },
    { kernel .. "static void f(const float *restrict input, float *restrict output)\n{\n"
      .. "    for (int c = 0; c < 4; ++c) {\n        output[c] = input[c] * w[c];\n    }\n}\n", 0,
      "a product with an array element (not a pointer declaration)" },
    { kernel .. "static void f(const float *restrict input, float *restrict output)\n{\n"
      .. "    for (int c = 0; c < 4; ++c) {\n        const float *rows[c];\n        output[c] = input[c];\n"
      .. "    }\n}\n", 1, "a pointer array declared with a variable dimension" },
  }
  for _, c in ipairs(cases) do
    local n, first = findings(c[1])
    check(n == c[2], "scan self-test: " .. c[3] .. " gives " .. c[2] .. " finding(s)", n .. " findings: " .. first)
  end
end

---------------------------------------------------------------------------
-- configurations
---------------------------------------------------------------------------
local configs = {}
local function add(name, model, args, opts)
  configs[#configs + 1] = { name = name, model = model, args = args, compile = opts.compile ~= false,
                            sanitize = opts.sanitize ~= false }
end
-- LeNet-5: the default options and none/layered/libm are compiled and run; the other
-- variants are scanned (compiling LeNet-5 with the sanitizers costs ~10 s of CPU each)
add("lenet5 default", "models/lenet5.lua", "", {})
add("lenet5 none layered libm", "models/lenet5.lua", "--unroll=none --plan=layered --math=libm", {})
add("lenet5 kernel layered", "models/lenet5.lua", "--unroll=kernel --plan=layered", { compile = false, sanitize = false })
add("lenet5 none fused", "models/lenet5.lua", "--unroll=none --plan=fused", { compile = false, sanitize = false })
-- LeNet-5 at full takes minutes to compile: scanned only; lenet5_mini stands in for it
add("lenet5 full fused", "models/lenet5.lua", "--unroll=full", { compile = false, sanitize = false })
for _, level in ipairs({ "full", "kernel", "none" }) do
  add("lenet5_mini " .. level, "tests/audit/models/lenet5_mini.lua", "--unroll=" .. level .. " --random-weights 5", {})
end
if not quick then
  local _, listing = A.run("cd " .. q(root) .. " && ls tests/tiny/*.lua")
  for path in listing:gmatch("[^\n]+") do
    for _, level in ipairs({ "full", "kernel", "none" }) do
      add(path:match("([^/]+)%.lua$") .. " " .. level, path, "--unroll=" .. level, {})
    end
  end
  local have_random = A.read(root .. "/tools/random_arch.lua") ~= nil
  if have_random then
    for seed = 1, 6 do
      -- a 3,000-MAC budget keeps the fully unrolled ones small (tools/lint uses the same)
      configs[#configs + 1] = { name = "rand_" .. seed, random = seed, compile = true, sanitize = true,
                                args = "--unroll=" .. ({ "full", "kernel", "none" })[(seed - 1) % 3 + 1]
                                  .. " --random-weights " .. seed }
    end
  end
end

--- A driver that calls both entry points on inputs of exactly the published size.
local function driver(name)
  local N = name:upper()
  return ([[
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "@name@.h"

static float trace_sum;
void @name@_trace(int layer_index, const float *values, int count)
{
    for (int i = 0; i < count; ++i) trace_sum += values[i];
    (void)layer_index;
}

int main(void)
{
    float *in = malloc(sizeof(float) * @N@_INPUT_SIZE);
    float *out = malloc(sizeof(float) * @N@_OUTPUT_SIZE);
    float *scratch = malloc(sizeof(float) * @N@_SCRATCH_FLOATS);
    float *out2 = malloc(sizeof(float) * @N@_OUTPUT_SIZE);
    unsigned s = 12345u;
    int bad = 0;
    if (!in || !out || !out2 || (@N@_SCRATCH_FLOATS > 0 && !scratch)) return 2;
    for (int r = 0; r < 3; ++r) {
        for (int i = 0; i < @N@_INPUT_SIZE; ++i) {
            s = s * 1103515245u + 12345u;
            in[i] = (float)((s >> 8) & 0xffffu) / 32767.5f - 1.0f;
        }
        @name@_infer(in, out);
        @name@_infer_scratch(in, out2, scratch);
        for (int i = 0; i < @N@_OUTPUT_SIZE; ++i) {
            if (!isfinite(out[i]) || out[i] != out2[i]) bad = 1;
        }
    }
    printf("%s %g\n", bad ? "MISMATCH" : "ok", (double)trace_sum);
    free(in); free(out); free(out2); free(scratch);
    return bad;
}
]]):gsub("@name@", name):gsub("@N@", N)
end

local named, named_configs = {}, {}

local have_asan = select(1, A.run("echo 'int main(void){return 0;}' | " .. CC
  .. " -x c -fsanitize=address,undefined -o /dev/null - 2>/dev/null")) == 0

for _, c in ipairs(configs) do
  local dir = A.tmpdir()
  local model = c.model and q(c.model) or q(dir .. "/rand.lua")
  if c.random then
    A.run("lua5.4 " .. q(root .. "/tools/random_arch.lua") .. " " .. c.random .. " --max-macs 3000 -o "
      .. q(dir .. "/rand.lua"))
  end
  local code, _, err = A.lenetgen(model .. " -o " .. q(dir) .. " " .. c.args, root)
  if check(code == 0, c.name .. ": generates", err) then
    local _, ls = A.run("ls " .. q(dir) .. "/*.c")
    local c_path = ls:match("[^\n]+")
    local name = c_path:match("([^/]+)%.c$")
    local text = A.read(c_path)
    -- 1. the scan
    local all, counts = S.scan(text)
    -- named constants (const int oc = 0; ...[oc]) at full are constant, but not the
    -- integer literals the full level promises: counted apart, asserted once below
    local findings = {}
    for _, f in ipairs(all) do
      if f.text:find("is a named constant", 1, true) then
        named[#named + 1] = string.format("%s: %s.c:%d: %s", c.name, name, f.line, f.text)
        named_configs[c.name] = true
      else
        findings[#findings + 1] = f
      end
    end
    local shown = {}
    for i = 1, math.min(#findings, 8) do
      local f = findings[i]
      shown[#shown + 1] = string.format("%s.c:%d (%s): %s", name, f.line, f.level, f.text)
    end
    if #findings > 8 then shown[#shown + 1] = string.format("... %d findings in all", #findings) end
    check(#findings == 0 and counts.subscripts > 0,
      string.format("%s: every index is a constant or affine in its loops (%d subscripts, %d offsets, %d loops)",
        c.name, counts.subscripts, counts.offsets, counts.loops), table.concat(shown, "\n"))
    if c.args:find("--unroll=full", 1, true) and not c.random then
      check(counts.loops == 0, c.name .. ": no for loop at all", counts.loops .. " loops")
    end
    -- 2. -Warray-bounds at -O2
    if c.compile then
      local cc_code, _, cc_err = A.run(string.format("cd %s && %s %s -O2 -Warray-bounds=2 -c -o /dev/null %s.c",
        q(dir), CC, CWARN, name))
      check(cc_code == 0 and cc_err == "", c.name .. ": " .. CC .. " -O2 -Warray-bounds=2 -Werror is clean", cc_err)
    end
    -- 3. sanitizers
    if c.sanitize and have_asan then
      A.write(dir .. "/main.c", driver(name))
      local cc_code, _, cc_err = A.run(string.format("cd %s && %s -std=c99 -O1 -g -fno-omit-frame-pointer "
        .. "-fsanitize=address,undefined -fno-sanitize-recover=all -D%s_TRACE -o san main.c %s.c -lm",
        q(dir), CC, name:upper(), name))
      if check(cc_code == 0, c.name .. ": builds with -fsanitize=address,undefined", cc_err) then
        local run_code, out, run_err = A.run("cd " .. q(dir) .. " && ASAN_OPTIONS=detect_leaks=1 ./san")
        check(run_code == 0 and out:match("^ok ") ~= nil and run_err == "",
          c.name .. ": runs clean under ASan and UBSan (both entry points, trace hook)", out .. run_err)
      end
    end
  end
end
do
  local list = {}
  for k in pairs(named_configs) do list[#list + 1] = k end
  table.sort(list)
  check(#named == 0, "at --unroll=full every subscript is an integer literal, not a named constant "
    .. "(docs/MISRA.md, proposed change E-4)", string.format("%d subscripts in %d configurations (%s), e.g.\n%s",
      #named, #list, table.concat(list, ", "), table.concat({ named[1], named[2], named[3] }, "\n")))
end
if not have_asan then
  check(false, "the compiler supports -fsanitize=address,undefined (install libasan/libubsan)")
end

A.finish()
