--- The harness must fail on wrong code: this test corrupts one weight literal
-- in generated C and checks that the comparison fails and names the output
-- (and the first diverging step) that the weight feeds.
--
-- Model: tests/tiny/tiny_conv_rect.lua (conv2d, relu, flatten, linear 4), at
-- unroll level kernel, opt and san builds, suite build/harness/broken.
--   1. the untouched code passes;
--   2. linear weight [1][j] + 1.0 (j a flatten value that is far from zero):
--      only output 1 may differ, and the trace blames the step ending at layer 3;
--   3. conv2d weight + 1.0: the trace blames the step starting at layer 0;
--   4. code that does not compile fails as a "build" test with the compiler's message;
--   5. regenerated code passes again.
-- Usage: lua5.4 tests/harness/test_broken.lua (from the repository root)
local root = arg[0]:match("^(.*)/tests/harness/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. root .. "/tests/harness/?.lua;" .. root .. "/tools/?.lua;" .. package.path
local lgcheck = require("lgcheck")
local reference = require("lg.reference")

local MODEL = "tests/tiny/tiny_conv_rect.lua"
local SUITE = "build/harness/broken"
local SOURCE = SUITE .. "/kernel/tiny_conv_rect/tiny_conv_rect.c"

local T = require("testlib")
local ok = T.check
require("testlib").parse_args("tests/harness/test_broken.lua",
  "The harness fails on wrong code (one corrupted weight).")

--- Run a shell command; returns success and its combined output.
local function run(command)
  local p = io.popen(command .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  local status = tonumber(out:match("exit=(%d+)%s*$"))
  return status == 0, out
end

--- Run the suite; keep_source compiles the edited .c as it is, otherwise the
-- model is rebuilt from a fresh generation (model.o removed to force it).
local function run_suite(keep_source)
  if not keep_source then os.remove(SUITE .. "/kernel/tiny_conv_rect/model.o") end
  return run((keep_source and "HARNESS_NO_GENERATE=1 " or "") .. "make --no-print-directory -f " .. SUITE .. "/suite.mk -j2 run")
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

--- The C literal the generator printed for a float32 value: the shortest
-- "%.Ng" that reads back as the same float32, with an f suffix. Returns the
-- literal and its position when it occurs exactly once as a whole token.
local function find_literal(source, value)
  for digits = 1, 9 do
    local text = string.format("%." .. digits .. "g", value)
    if lgcheck.to_float32(tonumber(text)) == value then
      local literal = text .. "f"
      local pattern = "[^%w%.%-]()" .. literal:gsub("[%-%.]", "%%%0") .. "()[^%w]"
      local first, last = source:match(pattern)
      if first and not source:find(pattern, last) then return literal, first, last end
    end
  end
  return nil
end

--- Replace the literal of `value` by value + 1; returns the edited source or nil.
local function corrupt(source, value)
  local literal, first, last = find_literal(source, value)
  if not literal then return nil end
  return source:sub(1, first - 1) .. string.format("%.9gf", value + 1.0) .. source:sub(last), literal
end

-- 1. correct code passes ------------------------------------------------------
local good_plan = run("lua5.4 tests/harness/driver.lua plan --suite broken --levels kernel --builds opt,san --model " .. MODEL)
ok(good_plan, "plan the suite")
local good, out = run_suite(false)
ok(good and out:find("[  PASSED  ]", 1, true) and not out:find("[  FAILED  ]", 1, true),
  "untouched generated code passes", out)
local original = read(SOURCE)

-- 2. a wrong weight in the last layer ------------------------------------------
local model = lgcheck.load_model(MODEL)
local linear = model.layers[4]
assert(linear.type == "linear" and linear.out_features == 4)
local in_features = linear.weight.shape[2]
-- the flatten value with the largest magnitude over the standard inputs
local best_j, best_magnitude = 0, -1
for _, case in ipairs(lgcheck.input_cases(model, 1)) do
  local _, trace = reference.run(model, case.input)
  for j = 1, in_features do
    if math.abs(trace[3][j]) > best_magnitude then best_j, best_magnitude = j, math.abs(trace[3][j]) end
  end
end
local weight = linear.weight.data[in_features + best_j]    -- row 1 (output 1), column best_j
local edited, literal = corrupt(original, weight)
ok(edited ~= nil, "find the literal of linear weight [1][" .. (best_j - 1) .. "] = " .. weight)
if edited then
  write(SOURCE, edited)
  local passes
  passes, out = run_suite(true)
  ok(not passes, "a wrong linear weight (" .. literal .. " + 1) fails the harness", out)
  ok(out:find("output 1: generated", 1, true) ~= nil, "the failure names output 1", out)
  ok(not out:find("output [023]: generated"), "no other output is blamed", out)
  ok(out:find("1 of 4 outputs outside tolerance", 1, true) ~= nil, "exactly one output differs", out)
  ok(out:find("first diverging step: layers? [%d%-]-3 %(") ~= nil,
    "the trace blames the step that ends at layer 3 (linear)", out)
  ok(out:find("input ") ~= nil and out:find("tiny_conv_rect (--unroll=kernel)", 1, true) ~= nil,
    "the failure names the model, its options and the input", out)
end

-- 3. a wrong weight in the first layer -----------------------------------------
local conv = model.layers[1]
local conv_edited
for i = 1, #conv.weight.data do
  conv_edited = corrupt(original, conv.weight.data[i])
  if conv_edited then break end
end
ok(conv_edited ~= nil, "find the literal of a conv2d weight")
if conv_edited then
  write(SOURCE, conv_edited)
  local passes
  passes, out = run_suite(true)
  ok(not passes, "a wrong conv2d weight fails the harness", out)
  ok(out:find("first diverging step: layers? 0[%-%s]") ~= nil,
    "the trace blames the step that starts at layer 0 (conv2d)", out)
end

-- 4. code that does not compile is a failing test that shows the compiler ----
write(SOURCE, original .. "\n#error injected by test_broken\n")
do
  local passes
  passes, out = run_suite(true)
  ok(not passes and out:find("tiny_conv_rect could not be checked", 1, true) ~= nil
    and out:find("injected by test_broken", 1, true) ~= nil,
    "a compile error becomes a failing test that shows the compiler's message", out)
end

-- 5. regenerated code passes again ---------------------------------------------
good, out = run_suite(false)
ok(good and read(SOURCE) == original, "regenerated code passes again", out)

T.finish()
