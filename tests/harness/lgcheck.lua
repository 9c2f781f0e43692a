--- Shared helpers of the checking side: load a model the way the generator
-- does (description + weights), make the standard input cases, and compare
-- two outputs with the project's tolerance.
--
-- Used by tests/harness/test_reference.lua, tests/harness/driver.lua and
-- tools/lenetgen-ref. Nothing here computes a layer: that is lg.reference.
local M = {}

--- Tolerance of every comparison between a float32 implementation and the
-- double-precision reference: |got - want| <= ABS_TOL + REL_TOL * |want|.
M.ABS_TOL = 1e-5
M.REL_TOL = 1e-5

--- Load a description with its weights (the file it names, or seeded random
-- weights when `random_seed` is given) through the generator's own loading
-- stages (lg.model, the one part shared with the emitter). Raises lenetgen
-- error tables (lg.errors) on bad input.
function M.load_model(path, random_seed)
  return require("lg.model").load(path, { random_seed = random_seed })
end

--- Round a double to the nearest float32 value.
function M.to_float32(x)
  return (string.unpack("<f", string.pack("<f", x)))
end

--- A small deterministic generator (splitmix64), independent of math.random,
-- so input cases are the same on every Lua build. Returns a function giving
-- doubles uniform in [0, 1).
function M.uniform_source(seed)
  local state = seed * 0x2545F4914F6CDD1D + 0x1234567
  return function()
    state = state + 0x9E3779B97F4A7C15
    local z = state
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    return (z >> 11) * (1.0 / 9007199254740992.0)
  end
end

local function filled(n, value)
  local t = {}
  for i = 1, n do t[i] = value end
  return t
end

local function uniform_values(n, seed, lo, hi)
  local next_unit = M.uniform_source(seed)
  local t = {}
  for i = 1, n do t[i] = M.to_float32(lo + (hi - lo) * next_unit()) end
  return t
end

--- Input kinds: name -> function(count, seed) giving float32 values.
M.INPUT_KINDS = {
  zeros = function(n) return filled(n, 0.0) end,
  ones = function(n) return filled(n, 1.0) end,
  minus_ones = function(n) return filled(n, -1.0) end,
  plus_100 = function(n) return filled(n, 100.0) end,      -- saturates sigmoid and tanh
  minus_100 = function(n) return filled(n, -100.0) end,
  random = function(n, seed) return uniform_values(n, seed, -1.0, 1.0) end,
  random_unit = function(n, seed) return uniform_values(n, seed + 1, 0.0, 1.0) end,  -- like pixels
}
M.INPUT_ORDER = { "zeros", "ones", "minus_ones", "plus_100", "minus_100", "random", "random_unit" }

--- The standard input cases of a model: { {name=, input=}, ... }.
function M.input_cases(model, seed)
  local n = model.input.channels * model.input.height * model.input.width
  local cases = {}
  for _, kind in ipairs(M.INPUT_ORDER) do
    cases[#cases + 1] = { name = kind, input = M.INPUT_KINDS[kind](n, seed or 1) }
  end
  return cases
end

--- Is got within tolerance of want? (abs_tol and rel_tol default to M's.)
function M.close(got, want, abs_tol, rel_tol)
  abs_tol, rel_tol = abs_tol or M.ABS_TOL, rel_tol or M.REL_TOL
  return math.abs(got - want) <= abs_tol + rel_tol * math.abs(want)
end

--- 1-based index of the largest value (the first one on ties).
function M.argmax(values)
  local best = 1
  for i = 2, #values do
    if values[i] > values[best] then best = i end
  end
  return best
end

--- Compare two flat arrays; returns nil when they agree, else a message naming
-- the first differing (0-based) index and both values.
function M.compare(got, want, abs_tol, rel_tol)
  if #got ~= #want then
    return string.format("%d values, expected %d", #got, #want)
  end
  for i = 1, #want do
    if not M.close(got[i], want[i], abs_tol, rel_tol) then
      return string.format("index %d: got %.9g, expected %.9g (difference %.3g)",
        i - 1, got[i], want[i], math.abs(got[i] - want[i]))
    end
  end
  return nil
end

return M
