--- One-layer edits give one-layer diffs.
-- Each case edits one layer of a copy of models/lenet5.lua, generates the original and
-- the edited copy with the same options (random weights, which lenetgen seeds per
-- tensor name), diffs the generated files with diff(1) and maps every changed line to
-- the part of the file it belongs to (tests/audit/auditlib.lua: banner/manifest line,
-- weight array of layer N, code of the step covering layers a-b, the step comment's
-- memory line, entry-point call, size macro). The diff may touch only:
--   - the edited layer's step (its code and comment) and its weights;
--   - the next parametrised layer's weights and step when its input shape changed;
--   - the manifest lines that describe them (description hash, their tensors, totals,
--     the arena map) and the size macros whose values changed;
--   - when the arena layout changed: the memory line of other steps' comments and the
--     entry-point calls that pass arena offsets (never their code);
--   - a helper function the edit newly needs (an activation), added, never changed;
--   - the generation id (a hash of both files) in the header and its check in the source.
-- "Layers whose shapes changed" are listed per case: the edited layer, the layers after it
-- up to and including the next one with weights (its input shape changed).
-- It must touch the edited layer's code (so the test can fail both ways).
-- usage: lua5.4 tests/audit/test_diff.lua      (prints "N passed, N failed")
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/?.lua;" .. package.path
local A = require("auditlib")
local check, q = A.check, A.q
require("testlib").parse_args("tests/audit/test_diff.lua", "One-layer edits give one-layer diffs.")

local MODELS = {
  lenet5 = A.root .. "/models/lenet5.lua",
  -- LeNet-5's layer list at a small size: the fully unrolled case (LeNet-5 at full is
  -- ~19 MB per generation, and diffing and mapping it takes minutes)
  lenet5_mini = A.root .. "/tests/audit/models/lenet5_mini.lua",
}
local SEED = "3"

--- Replace the n-th layer line (0-based layer index) of the description.
local function edit_layer(index, from, to)
  return function(desc)
    local n = -1
    local out = {}
    local done = false
    for _, l in ipairs(A.lines(desc)) do
      if l:match("^%s*{%s*type%s*=") then
        n = n + 1
        if n == index then
          local edited, count = l:gsub(from, to, 1)
          assert(count == 1, "pattern " .. from .. " not in layer line " .. l)
          l = edited
          done = true
        end
      end
      out[#out + 1] = l
    end
    assert(done, "layer " .. index .. " not found")
    return table.concat(out, "\n") .. "\n"
  end
end

--- Generate a description text (model `name`) in a fresh directory; returns c, h texts.
local function generate(name, desc, options)
  local d = A.tmpdir()
  A.write(d .. "/" .. name .. ".lua", desc)
  os.execute("mkdir -p " .. q(d .. "/out"))
  local code, _, err = A.lenetgen(name .. ".lua -o out --random-weights " .. SEED .. " " .. options, d)
  if code ~= 0 then return nil, err end
  return A.read(d .. "/out/" .. name .. ".c"), A.read(d .. "/out/" .. name .. ".h")
end

--- Which layers a region belongs to (set), or nil.
local function step_has(r, layers)
  if not (r and r.kind == "step" and r.layers[1]) then return false end
  for _, l in ipairs(layers) do
    if l >= r.layers[1] and l <= r.layers[2] then return true end
  end
  return false
end

local function member(x, list)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

--- Run one case. spec: name, layer (edited index), edit (function), options,
-- code_layers (layers whose step code may change), weight_layers, tensors (names),
-- macros (names that may change), arena (true when the arena map may move),
-- helpers (true when a helper may be added)
local function run_case(spec)
  local model = spec.model or "lenet5"
  local NAME = model:upper()
  local base_desc = A.read(MODELS[model])
  local c0, h0 = generate(model, base_desc, spec.options)
  local c1, h1 = generate(model, spec.edit(base_desc, spec.options), spec.options)
  local tag = model .. ": " .. spec.name .. " [" .. spec.options .. "]"
  if not check(c0 and c1, tag .. ": both descriptions generate", h1) then return end

  local function allowed(r, side, text)
    if not r then return false end
    if r.kind == "banner" then
      if r.item == "description" or r.item == "totals" then return true end
      if r.item:match("^tensor ") then return member(r.item:match("^tensor (.*)$"), spec.tensors) end
      if r.item:match("^step ") then return true end  -- the arena map: checked against the steps below
      return false
    end
    if r.kind == "weight" then return member(r.layer, spec.weight_layers) end
    if r.kind == "generation" then return true end  -- a hash of both files
    if r.kind == "step" then
      if step_has(r, spec.code_layers) then return true end
      return spec.arena and r.part == "memory"
    end
    if r.kind == "macro" then return member(r.name:sub(#NAME + 2), spec.macros) end
    if r.kind == "entry" then
      -- a call or trace of an edited step, or any call when the arena moved
      if r.layer and step_has({ kind = "step", layers = { r.layer, r.layer } }, spec.code_layers) then return true end
      if r.first_layer and member(r.first_layer, spec.code_layers) then return true end
      -- when steps split or merge, their calls and the trace guards around them move
      if spec.arena and ((text or ""):match("^#if defined%([%w_]+_TRACE%)$") or text == "#endif") then return true end
      return spec.arena and (text or ""):match("scratch") ~= nil
    end
    if r.kind == "other" and spec.helpers and side == "new" then
      -- a new helper function and the blank line that separates it
      if r.helper == true or text == "" then return true end
    end
    -- the labels an edit adds (spec.labels): their definition and their lines in the header's comment
    if r.kind == "other" and spec.labels and ((text or ""):match('^%s*"[^"]*",?$')
      or (text or ""):match('^ %*   %d+ "[^"]*"$')) then
      return true
    end
    return false
  end

  for _, f in ipairs({ { model .. ".c", c0, c1 }, { model .. ".h", h0, h1 } }) do
    local old_changed, new_changed = A.diff_lines(f[2], f[3])
    local old_reg, old_lines = A.regions(f[2])
    local new_reg, new_lines = A.regions(f[3])
    local stray, touched_code, touched_weights = {}, false, false
    local function visit(set, reg, lines, side)
      local ns = {}
      for n in pairs(set) do ns[#ns + 1] = n end
      table.sort(ns)
      for _, n in ipairs(ns) do
        local r = reg[n]
        if r and r.kind == "step" and r.part == "code" and step_has(r, { spec.layer }) then touched_code = true end
        if r and r.kind == "weight" and r.layer == spec.layer then touched_weights = true end
        if not allowed(r, side, lines[n]) then
          if #stray < 12 then
            stray[#stray + 1] = string.format("%s line %d (%s): %s", side, n, A.describe(r), (lines[n] or ""):sub(1, 110))
          elseif #stray == 12 then
            stray[#stray + 1] = "..."
          end
        end
      end
    end
    visit(old_changed, old_reg, old_lines, "old")
    visit(new_changed, new_reg, new_lines, "new")
    check(#stray == 0, tag .. ": " .. f[1] .. ": the diff touches only the edited layer and what describes it",
      table.concat(stray, "\n"))
    if f[1] == model .. ".c" then
      check(touched_code, tag .. ": " .. f[1] .. ": the edited layer's code changed")
      if spec.weights_change then
        check(touched_weights, tag .. ": " .. f[1] .. ": the edited layer's weights changed")
      else
        check(not touched_weights, tag .. ": " .. f[1] .. ": the edited layer's weights did not change")
      end
    end
  end

  -- the steps of layers that were not edited have byte-identical code
  local function step_code(text)
    local reg, lines = A.regions(text)
    local by_step = {}
    for n, l in ipairs(lines) do
      local r = reg[n]
      if r and r.kind == "step" and r.part ~= "memory" then
        local key = r.layers[1] .. "-" .. r.layers[2]
        by_step[key] = (by_step[key] or "") .. l .. "\n"
      end
    end
    return by_step
  end
  local s0, s1 = step_code(c0), step_code(c1)
  local same, differ = 0, {}
  for key, code in pairs(s0) do
    local first = tonumber(key:match("^(%d+)"))
    local last = tonumber(key:match("(%d+)$"))
    local edited = false
    for _, l in ipairs(spec.code_layers) do if l >= first and l <= last then edited = true end end
    if not edited then
      if s1[key] == code then same = same + 1 else differ[#differ + 1] = key end
    end
  end
  check(#differ == 0 and same >= 1, tag .. ": the code of every other step is byte-identical (" .. same .. " steps)",
    "differ: " .. table.concat(differ, " "))
end

local cases = {
  {
    name = "last linear out_features 10 -> 12", layer = 11,
    -- two more outputs need two more labels
    edit = function(desc)
      return (edit_layer(11, "out_features = 10", "out_features = 12")(desc):gsub('"Ankle boot" }',
        '"Ankle boot", "Extra 10", "Extra 11" }', 1))
    end,
    code_layers = { 11 }, weight_layers = { 11 }, tensors = { "11.weight", "11.bias" },
    macros = { "OUTPUT_SIZE", "PARAMETERS", "WEIGHT_BYTES", "MACS", "LABEL_COUNT" }, weights_change = true,
    labels = true,
  },
  {
    name = "conv2 kernel 5 -> 3", layer = 3,
    edit = edit_layer(3, "kernel = 5", "kernel = 3"),
    -- layer 7's input grows from 16x5x5 to 16x6x6: its weights and code change too
    code_layers = { 3, 4, 5, 6, 7 }, weight_layers = { 3, 7 }, tensors = { "3.weight", "3.bias", "7.weight", "7.bias" },
    macros = { "PARAMETERS", "WEIGHT_BYTES", "MACS", "ACTIVATION_BYTES", "SCRATCH_FLOATS" },
    arena = true, weights_change = true,
  },
  {
    name = "conv1 gets its own unroll level", layer = 0,
    edit = function(desc, options)
      local level = options:find("none", 1, true) and "kernel" or "none"
      return edit_layer(0, "stride = 1 }", "stride = 1, unroll = \"" .. level .. "\" }")(desc)
    end,
    -- a layer at another level may fuse differently (at none, conv, activation and pool
    -- are separate steps), so the steps of layers 0-2 and the arena may change
    code_layers = { 0, 1, 2 }, weight_layers = {}, tensors = {},
    macros = { "SCRATCH_FLOATS", "ACTIVATION_BYTES" }, arena = true, weights_change = false,
  },
  {
    name = "layer 8 sigmoid -> relu", layer = 8,
    edit = edit_layer(8, "\"sigmoid\"", "\"relu\""),
    code_layers = { 8 }, weight_layers = {}, tensors = {}, macros = {}, helpers = true, weights_change = false,
  },
}

for _, options in ipairs({ "--unroll=kernel", "--unroll=none --plan=layered" }) do
  for _, spec in ipairs(cases) do
    spec.options = options
    run_case(spec)
  end
end
-- the fully unrolled code, on lenet5_mini (last layer 4 outputs); LeNet-5 itself at
-- full with AUDIT_FULL=1 (minutes)
local mini_cases = {
  {
    name = "last linear out_features 4 -> 6", layer = 11, model = "lenet5_mini",
    edit = edit_layer(11, "out_features = 4", "out_features = 6"),
    code_layers = { 11 }, weight_layers = { 11 }, tensors = { "11.weight", "11.bias" },
    macros = { "OUTPUT_SIZE", "PARAMETERS", "WEIGHT_BYTES", "MACS" }, weights_change = true,
  },
  cases[3], cases[4],
}
for _, spec in ipairs(mini_cases) do
  local copy = {}
  for k, v in pairs(spec) do copy[k] = v end
  copy.model = "lenet5_mini"
  copy.options = "--unroll=full"
  run_case(copy)
end
if os.getenv("AUDIT_FULL") == "1" then
  cases[1].options = "--unroll=full"
  run_case(cases[1])
end

A.finish()
