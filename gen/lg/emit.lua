--- Stage 5: write the C for a planned model.
-- Unroll levels, per step:
--   full    no loops at all: every output element is straight-line code with
--           constant indices, split into one function per output channel and
--           output row so compilers stay fast;
--   kernel  loops over output channels and positions; every kernel window is
--           straight-line code, and positions whose windows are clipped by the
--           padding get their own region, so no tap is ever bounds-checked;
--   none    plain nested loops (window ranges from constant tables).
-- This module assembles the file; each operator module (lg.ops) writes its
-- own steps' functions, C fragments live in templates/.
--
-- The emission context e handed to an operator's emit[level](e, step, fname):
--   e.name, e.NAME         the network's name as given and upper-cased
--   e.writer()             a new render.writer counted against the byte budget
--   e.add_function(text)   append one C function of the step
--   e.weight_name(layer), e.bias_name(layer)  the C arrays of a layer's tensors
--   e.q                    the quantization table (lg.quantize) with
--                          --quantize=int8, else nil (float code)
--   e.value_type           the C type of a stored value: "float" or "int8_t"
--   e.storage_in, e.storage_out  (int8) how the step's input and output hold
--                          codes: { ctype, offset } (lg.int8emit.storage)
--   e.add_table(text)      (int8) a constant table the step's functions read,
--                          written just before them
local activation = require("lg.ops.activation")
local carray = require("lg.carray")
local geometry = require("lg.geometry")
local hash = require("lg.hash")
local int8emit = require("lg.int8emit")
local interface = require("lg.interface")
local manifest = require("lg.manifest")
local ops = require("lg.ops")
local render = require("lg.render")
local split = require("lg.split")

local M = {}

--- A view or weight pointer that no statement reads (every tap of a region
-- fell in the padding) would trip -Wunused-variable: mark it used, and say why.
local function guard_unused(text)
  -- the end of the first line holding `needle`, by plain search: a pattern
  -- starting with [^\n]- retries from every byte of a line, which is quadratic
  -- in its length (--unroll=none writes one row of 4096 window bounds per line)
  local function end_of_line_with(needle)
    local at = text:find(needle, 1, true)
    return at and text:find("\n", at, true)
  end
  for _, var in ipairs({ "x", "w" }) do
    local e = end_of_line_with("(*" .. var .. ")") or end_of_line_with("*" .. var .. " = ")
    if e and not text:find("[^%w_]" .. var .. "%[") then
      text = text:sub(1, e) .. "(void)" .. var .. "; /* every tap here falls in the padding */\n" .. text:sub(e + 1)
    end
  end
  return text
end

local function new_context(model, budget, quant)
  local e = { name = model.name, NAME = model.name:upper(), functions = {}, tables = {}, q = quant,
              value_type = quant and "int8_t" or "float" }
  function e.writer() return render.writer(budget) end
  function e.add_function(text) e.functions[#e.functions + 1] = guard_unused(text) end
  function e.add_table(text) e.tables[#e.tables + 1] = text end
  function e.weight_name(layer) return string.format("%s_layer%d_weight", e.name, layer.index) end
  function e.bias_name(layer) return string.format("%s_layer%d_bias", e.name, layer.index) end
  return e
end

--- The comment above a step: each layer's source line, attributes, shapes
-- and cost, and where the step reads and writes.
local function step_comment(e, model, step)
  local lines = { "/*" }
  -- no absolute path in generated code: an absolute description path shows as its file name
  local shown = render.comment_text(manifest.display_path(model.path))
  for _, layer in ipairs(step.layers) do
    lines[#lines + 1] = string.format(" * layer %d (%s) %s:%s", layer.index, layer.type, shown, layer.line or "?")
    local detail = string.format(" *   %s; %s -> %s", ops.of(layer.type).attributes(layer),
      geometry.shape_text(layer.in_shape), geometry.shape_text(layer.out_shape))
    local macs = ops.macs(layer)
    if macs > 0 then
      detail = detail .. string.format("; %d MACs, %d bytes of weights", macs, (e.q and 1 or 4) * ops.params(layer))
    end
    lines[#lines + 1] = detail
  end
  if step.pool then
    lines[#lines + 1] = string.format(" * fused: layer %d's %s output is pooled as it is computed and never stored",
      step.layer.index, geometry.shape_text(step.layer.out_shape))
  end
  if e.q then
    table.move(int8emit.comment_lines(e, step), 1, #step.layers, #lines + 1, lines)
  end
  local in_elements = geometry.elements(step.in_shape)
  local unit = e.q and "codes" or "floats"
  lines[#lines + 1] = string.format(" * unroll %s; reads %s (%d %s), writes %s (%d %s, %d bytes)",
    step.unroll, geometry.buffer_text(step.input, in_elements), in_elements, unit,
    geometry.buffer_text(step.output, step.out_elements), step.out_elements, unit,
    (e.q and 1 or 4) * step.out_elements)
  lines[#lines + 1] = " */"
  return table.concat(lines, "\n")
end

--- Every weight and bias array, in layer order, as the steps emit them (a
-- convolution with a batch norm folded in has its folded tensors); int8: the
-- quantized constants of lg.int8emit.
local function weight_sections(e, model, plan)
  if e.q then return int8emit.constant_sections(e, model) end
  local parts = {}
  for _, step in ipairs(plan.steps) do
    for _, layer in ipairs(step.layers) do
      for _, t in ipairs({ { layer.weight, "weight", e.weight_name, layer.weight_name },
                           { layer.bias_values, "bias", e.bias_name, layer.bias_name } }) do
        local tensor, what, cname, tensor_name = t[1], t[2], t[3], t[4]
        if tensor then
          parts[#parts + 1] = carray.weight_array(e.writer(), cname(layer), tensor,
            string.format("layer %d (%s) %s, tensor %q, sha256 %s", layer.index, layer.type, what,
              render.comment_text(tensor_name), tensor.sha256))
        end
      end
    end
  end
  return parts
end

local function buffer_arg(ref)
  -- array indexing rather than scratch + n (MISRA C:2012 Rules 2.2, 18.4)
  if ref.kind == "arena" then return string.format("&scratch[%d]", ref.offset) end
  return ref.kind
end

--- Each step's comment and functions, and the calls of _infer_scratch.
local function step_sections(e, model, plan)
  local parts, calls = {}, {}
  e.used_acts, e.layer_acts, e.step_groups, e.step_names = {}, {}, {}, {}
  for _, step in ipairs(plan.steps) do
    for _, act in ipairs(step.acts) do e.used_acts[act] = true end
    for _, act in ipairs(step.post_acts) do e.used_acts[act] = true end
    for _, layer in ipairs(step.layers) do
      local op = ops.of(layer.type)
      if op.helper then e.layer_acts[#e.layer_acts + 1] = op.helper(layer) end
    end
    if step.kind == "softmax" then e.softmax = true end
    if step.unroll == "full" then e.any_full = true end
    local fname = string.format("%s_layer%d_%s", e.name, step.first_index, step.kind)
    local before, tables_before = #e.functions, #e.tables
    if e.q then e.storage_in, e.storage_out = int8emit.storage(step.input), int8emit.storage(step.output) end
    if step.kind == "copy" then
      activation.emit_copy(e, step, fname)
    else
      ops.of(step.kind).emit[step.unroll](e, step, fname)
    end
    local comment = step_comment(e, model, step)
    local text = table.concat(e.functions, "\n\n", before + 1)
    if #e.tables > tables_before then text = table.concat(e.tables, "\n\n", tables_before + 1) .. "\n\n" .. text end
    parts[#parts + 1] = comment .. "\n" .. text
    e.step_groups[#e.step_groups + 1] = { comment = comment, functions = table.move(e.functions, before + 1,
      #e.functions, 1, {}) }
    e.step_names[#e.step_names + 1] = fname
    calls[#calls + 1] = string.format("%s(%s, %s);", fname, buffer_arg(step.input), buffer_arg(step.output))
    local trace_buf = (step.output.kind == "arena") and buffer_arg(step.output) or "output"
    -- int8: with the offset the step's output is stored with (lg.int8emit.storage)
    local trace_args = e.q and string.format("%d, %d", step.out_elements, e.storage_out.offset)
      or tostring(step.out_elements)
    calls[#calls + 1] = string.format("#if defined(%s_TRACE)\n%s_trace%s(%d, %s, %s);\n#endif",
      e.NAME, e.name, e.q and "_int8" or "", step.last_index, trace_buf, trace_args)
  end
  if plan.arena_floats == 0 then table.insert(calls, 1, "(void)scratch; /* no intermediate tensors */") end
  return parts, calls
end

-- Stands for the generation id until both texts are complete; it cannot occur
-- in a C identifier, and the first occurrence after the banner is the template's.
local GENERATION_SLOT = "@generation@"

--- Fill in the generation id: the first 32 bits of the SHA-256 of both texts
-- after the banner (with the slot), so the same code gets the same id, and a
-- header and source of two different runs (kill -9 between the renames,
-- concurrent runs writing by another tool) differ in it and fail to compile
-- together. The banner is left out: files that differ only there (a comment of
-- the description, its path) are the same code and may be mixed.
-- Split output: the same over every file, header and main source first.
local function with_generation(texts, banner_bytes)
  local after_banner = {}
  for i, text in ipairs(texts) do after_banner[i] = text:sub(banner_bytes + 1) end
  local id = string.format("0x%sUL", hash.sha256_hex(table.concat(after_banner, "\0")):sub(1, 8))
  local filled = {}
  for i, text in ipairs(texts) do
    local at = assert(text:find(GENERATION_SLOT, banner_bytes + 1, true), "no generation slot")
    filled[i] = text:sub(1, at - 1) .. id .. text:sub(at + #GENERATION_SLOT)
  end
  return filled
end

--- The opening of a .c file: banner, includes, the generation id check, the
-- LG_MAC macro (vars.mac: its text or "") and the float format check.
-- @param vars { header = file to include, mismatch = the #error text, mac = ... }
function M.source_head(e, opts, vars)
  -- <math.h> only with libm: --math=builtin code needs no library at all (the
  -- template's <float.h> is one of the headers freestanding C provides)
  local includes = (opts.math == "builtin") and "" or "#include <math.h>\n\n"
  return render.render(render.template("source_head.c"), {
    banner = opts.manifest, name = e.name, NAME = e.NAME, includes = includes,
    generation = GENERATION_SLOT, header = vars.header, mismatch = vars.mismatch, mac = vars.mac })
end

--- The .c file of --quantize=int8.
local function source_text_int8(e, model, plan, opts)
  local weight_parts = weight_sections(e, model, plan)
  local step_parts, calls = step_sections(e, model, plan)
  local sections = { render.render(render.template("source_head_int8.c"), {
    banner = opts.manifest, name = e.name, NAME = e.NAME, generation = GENERATION_SLOT }) }
  sections[#sections + 1] = interface.source_text(model, e.NAME)
  if e.uses_relu then sections[#sections + 1] = render.fill("int8_relu.c") end
  if e.uses_average then sections[#sections + 1] = render.fill("int8_average.c") end
  if e.uses_clamp then sections[#sections + 1] = render.fill("int8_clamp.c") end
  if e.uses_slope then sections[#sections + 1] = render.fill("int8_slope.c") end
  sections[#sections + 1] = "/* Weights and tables: static const, so they stay in flash on a microcontroller. */"
  table.move(weight_parts, 1, #weight_parts, #sections + 1, sections)
  table.move(step_parts, 1, #step_parts, #sections + 1, sections)
  sections[#sections + 1] = render.render(render.template("infer_int8.c"), {
    name = e.name, NAME = e.NAME, calls = table.concat(calls, "\n") })
  return render.reindent(table.concat(sections, "\n\n"))
end

--- The .c file.
local function source_text(e, model, plan, opts)
  if e.q then return source_text_int8(e, model, plan, opts) end
  local weight_parts = weight_sections(e, model, plan)
  local step_parts, calls = step_sections(e, model, plan)
  e.weight_parts, e.calls = weight_parts, calls  -- for a split (split_texts)
  local sections = { M.source_head(e, opts, { header = e.name .. ".h",
    mismatch = e.name .. ".h and " .. e.name .. ".c are from different lenetgen runs: regenerate both with gen/lenetgen",
    mac = render.template("lg_mac.h") .. "\n" }) }
  sections[#sections + 1] = interface.source_text(model, e.NAME)
  if model.nonfinite then sections[#sections + 1] = render.fill("nonfinite.h") end
  sections[#sections + 1] = "/* Weights: static const, so they stay in flash on a microcontroller. */"
  table.move(weight_parts, 1, #weight_parts, #sections + 1, sections)
  sections[#sections + 1] = activation.helpers(e.used_acts, opts.math, e.any_full, e.layer_acts, e.softmax)
  table.move(step_parts, 1, #step_parts, #sections + 1, sections)
  sections[#sections + 1] = render.render(render.template("infer.c"), {
    name = e.name, NAME = e.NAME, calls = table.concat(calls, "\n") })
  return render.reindent(table.concat(sections, "\n\n"))
end

--- The header rows of the input and output shapes; unit: "floats" or "codes".
local function shape_rows(model, unit)
  return {
    { "INPUT_CHANNELS", model.input.channels, "input channels" },
    { "INPUT_HEIGHT", model.input.height, "input rows" },
    { "INPUT_WIDTH", model.input.width, "input columns" },
    { "INPUT_SIZE", model.input.channels * model.input.height * model.input.width, unit .. " in one input" },
    { "OUTPUT_SIZE", geometry.elements(model.output_shape), unit .. " in one output" },
  }
end

--- The .h file: sizes as aligned macros, what the description says about
-- the input and the outputs (lg.interface), the entry points.
local function header_text(e, model, plan, opts, sources)
  if e.q then return M.header_text_int8(e, model, plan, opts) end
  local macro_rows = shape_rows(model, "floats")
  table.move({
    { "SCRATCH_FLOATS", plan.scratch_floats, "floats of scratch for _infer_scratch" },
    { "ACTIVATION_BYTES", 4 * plan.scratch_floats, "bytes of activation memory (input/output not counted)" },
    { "PARAMETERS", plan.params, "weights and biases" },
    { "WEIGHT_BYTES", 4 * plan.params, "bytes of static const weights" },
    { "MACS", plan.macs, "multiply-accumulates per inference (padding taps skipped)" },
  }, 1, 5, #macro_rows + 1, macro_rows)
  return render.render(render.template("header.h"), {
    banner = opts.manifest, guard = e.NAME .. "_H", name = e.name, NAME = e.NAME,
    macros = M.macro_lines(e, macro_rows), interface = interface.header_text(model, e.NAME),
    generation = GENERATION_SLOT, sources = sources or "" })
end

--- Rows { suffix, value, comment } as aligned #define lines.
function M.macro_lines(e, macro_rows)
  local width = 0
  for _, row in ipairs(macro_rows) do width = math.max(width, #e.NAME + 1 + #row[1]) end
  local macro_lines = {}
  for _, row in ipairs(macro_rows) do
    local macro = e.NAME .. "_" .. row[1]
    macro_lines[#macro_lines + 1] = string.format("#define %s%s %-8s /* %s */", macro,
      string.rep(" ", width - #macro), tostring(row[2]), row[3])
  end
  return table.concat(macro_lines, "\n")
end

--- An integer for a macro body: negative ones parenthesised.
function M.int_literal(n)
  return (n < 0) and string.format("(%d)", n) or tostring(n)
end

--- The .h file of --quantize=int8.
function M.header_text_int8(e, model, plan, opts)
  local q = e.q
  local macro_rows = shape_rows(model, "codes")
  table.move({
    { "SCRATCH_BYTES", plan.scratch_floats, "bytes of scratch for _infer_int8_scratch" },
    { "ACTIVATION_BYTES", plan.scratch_floats, "bytes of the int8 activation arena (input/output not counted)" },
    { "PARAMETERS", plan.params, "weights and biases" },
    { "MACS", plan.macs, "multiply-accumulates per inference (padding taps skipped)" },
  }, 1, 4, #macro_rows + 1, macro_rows)
  local quant_rows = {
    { "INPUT_SCALE", render.float(q.input.scale), "real value of one input code step" },
    { "INPUT_ZERO_POINT", M.int_literal(q.input.zero_point), "input code of 0.0" },
    { "OUTPUT_SCALE", render.float(q.output.scale), "real value of one output code step" },
    { "OUTPUT_ZERO_POINT", M.int_literal(q.output.zero_point), "output code of 0.0" },
  }
  return render.render(render.template("header_int8.h"), {
    banner = opts.manifest, guard = e.NAME .. "_H", name = e.name, NAME = e.NAME,
    macros = M.macro_lines(e, macro_rows), quant_macros = M.macro_lines(e, quant_rows),
    interface = interface.header_text(model, e.NAME), generation = GENERATION_SLOT })
end

--- The #error of a file that finds a header of another run.
local function mismatch(e, file)
  return string.format("%s and %s.h are from different lenetgen runs: regenerate all of %s's files "
    .. "(%s_SOURCE_FILES in %s.h lists them) with gen/lenetgen", file, e.name, e.name, e.NAME, e.name)
end

--- One part: the head, the helpers and macros its functions use, the functions.
local function part_text(e, model, opts, part, file)
  local body, used, uses_mac, uses_nonfinite = {}, {}, false, false
  for i, f in ipairs(part) do
    local text = split.function_text(f)
    body[i] = f.comment and (f.comment .. "\n" .. text) or text
    for _, act in ipairs(activation.types) do
      if text:find("act_" .. act .. "(", 1, true) then used[act] = true end
    end
    uses_mac = uses_mac or text:find("LG_MAC(", 1, true) ~= nil
    uses_nonfinite = uses_nonfinite or text:find("LG_NAN", 1, true) ~= nil or text:find("LG_INF", 1, true) ~= nil
  end
  local sections = { M.source_head(e, opts, { header = e.name .. "_internal.h", mismatch = mismatch(e, file),
    mac = uses_mac and (render.template("lg_mac.h") .. "\n") or "" }) }
  if model.nonfinite and uses_nonfinite then sections[#sections + 1] = render.fill("nonfinite.h") end
  -- the per-layer functions (clip, leaky_relu) its functions call, and expf for a softmax
  local layer_acts = {}
  for _, helper in ipairs(e.layer_acts) do
    local called = helper:match("static float ([%w_]+)%(")
    for _, text in ipairs(body) do
      if called and text:find(called .. "(", 1, true) then layer_acts[#layer_acts + 1] = helper break end
    end
  end
  local uses_expf = false
  for _, text in ipairs(body) do uses_expf = uses_expf or text:find("lenetgen_expf(", 1, true) ~= nil end
  sections[#sections + 1] = activation.helpers(used, opts.math, e.any_full, layer_acts, uses_expf)
  sections[#sections + 1] = table.concat(body, "\n\n")
  return render.reindent(table.concat(sections, "\n\n"))
end

--- The texts of a split network: header, <name>.c, <name>_internal.h, the parts.
local function split_texts(e, model, plan, opts, limit)
  local parts = split.assign(e.step_groups, limit)
  split.link(parts, e.step_names, e.name .. "_layer")
  local c_names = split.file_names(e.name, #parts)
  local weights, declarations = {}, {}
  for i, text in ipairs(e.weight_parts) do weights[i], declarations[i] = split.external_weight(text) end
  local main = { M.source_head(e, opts, { header = e.name .. "_internal.h", mismatch = mismatch(e, c_names[1]),
    mac = "" }) }
  main[#main + 1] = interface.source_text(model, e.NAME)
  if model.nonfinite then main[#main + 1] = render.fill("nonfinite.h") end
  main[#main + 1] = "/* Weights: const, so they stay in flash on a microcontroller; external linkage\n"
    .. " * because the parts read them (declared in " .. e.name .. "_internal.h). */"
  table.move(weights, 1, #weights, #main + 1, main)
  main[#main + 1] = render.render(render.template("infer.c"), {
    name = e.name, NAME = e.NAME, calls = table.concat(e.calls, "\n") })
  local sources = string.format("\n/*\n * The code is split over %d C files (each compiles in bounded memory): "
    .. "compile and\n * link them all. %s_internal.h is their shared internal header, not API.\n */\n"
    .. "#define %s_SOURCE_FILES \"%s\"\n", #c_names, e.name, e.NAME, table.concat(c_names, " "))
  local texts = { header_text(e, model, plan, opts, sources), render.reindent(table.concat(main, "\n\n")),
    render.render(render.template("internal.h"), { banner = opts.manifest, name = e.name, NAME = e.NAME,
      count = tostring(#parts), count_files = tostring(#c_names), generation = GENERATION_SLOT,
      mismatch = mismatch(e, e.name .. "_internal.h"), weights = table.concat(declarations, "\n"),
      functions = split.prototypes(parts) }) }
  local names = { e.name .. ".h", c_names[1], e.name .. "_internal.h" }
  for k, part in ipairs(parts) do
    texts[#texts + 1] = part_text(e, model, opts, part, c_names[k + 1])
    names[#names + 1] = c_names[k + 1]
  end
  texts = with_generation(texts, #opts.manifest)
  return { header = texts[1], source = texts[2], texts = texts, names = names }
end

--- Generate the header and source text (and, for a large source, the split
-- of lg.split: <name>.c, <name>_internal.h and <name>_part1.c ...).
-- @param model the model of lg.model (with weights)
-- @param plan the plan of lg.plan
-- @param opts { math = "libm"|"builtin", manifest = banner text (already a C
--   comment), budget = render.budget(n) or nil (no limit), split_bytes = nil
--   (automatic), 0 (one file) or the bytes of one part (lg.split.limit),
--   quant = the table of lg.quantize (selects int8; never split) }
-- @return { header = text, source = text, texts = every file's text, names =
--   their file names (header and source first) }; raises { code_budget = n }
--   when the budget runs out
function M.emit(model, plan, opts)
  local e = new_context(model, opts.budget, opts.quant)
  local source = source_text(e, model, plan, opts)
  local limit = (not e.q) and split.limit(opts.split_bytes, e.any_full)
  if limit and #source > limit then return split_texts(e, model, plan, opts, limit) end
  local texts = with_generation({ header_text(e, model, plan, opts), source }, #opts.manifest)
  return { header = texts[1], source = texts[2], texts = texts, names = { e.name .. ".h", e.name .. ".c" } }
end

return M
