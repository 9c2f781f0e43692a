--- Command line of gen/lenetgen: parse options, run the pipeline, write files.
-- Every model mistake ends here as one "file:line: error: ..." line on stderr
-- and exit status 1; a bug in the generator itself is reported as such, with
-- its traceback, and exit status 3.
local errors = require("lg.errors")

local M = {}

M.VERSION = "0.1.0"

local function build_parser(program)
  local argparse = require("argparse")
  local parser = argparse((program or "lenetgen"):match("[^/]*$"), "Generate fully unrolled, statically sized C99 from a "
    .. "LeNet-style description and its safetensors weights.")
    :epilog("Writes OUTDIR/<name>.h and OUTDIR/<name>.c (only when their content changes). "
      .. "Errors are reported as file:line: error: message, with exit status 1.")
  parser:argument("description", "Model description (a Lua file returning one table).")
  parser:option("-o --output", "Directory for <name>.h and <name>.c.", "out")
  parser:option("--unroll", "Default unroll level: full (no loops at all), kernel (loops over "
    .. "positions, straight-line kernel windows) or none (plain loops). A layer's own unroll "
    .. "field overrides it.", "kernel"):choices({ "full", "kernel", "none" })
  parser:option("--plan", "Memory plan: fused (conv -> activation -> non-overlapping pool computed "
    .. "together; the conv output is never stored) or layered (every layer's output stored).", "fused")
    :choices({ "fused", "layered" })
  parser:option("--math", "libm: expf/tanhf from the C library; builtin: lenetgen's own, no "
    .. "library needed (error bounds in templates/math_builtin.c; measured faster on Cortex-M4F).", "builtin")
    :choices({ "libm", "builtin" })
  parser:option("--random-weights", "Use deterministic pseudo-random weights from this seed "
    .. "instead of the weights file (for tests and sizing).")
    :argname("SEED"):convert(function(s)
      local n = math.tointeger(tonumber(s))
      if not n or n < 0 then return nil, "SEED must be a non-negative integer, got " .. s end
      return n
    end)
  parser:option("--quantize", "Number format of the generated code: int8 (TensorFlow Lite's int8 "
    .. "scheme; needs --calibration). Default: float."):choices({ "int8" })
  parser:option("--calibration", "With --quantize=int8: a safetensors file holding an F32 tensor "
    .. "\"input\" [N, C, H, W] of N representative inputs (tools/make-calibration writes one).")
    :argname("CALIB")
  parser:flag("--allow-nonfinite", "Accept NaN and Inf weights (refused by default).")
  parser:option("--max-code-bytes", "Refuse to emit more than this many bytes of C source "
    .. "(a layer that would unroll absurdly large).", tostring(64 * 1024 * 1024))
    :argname("N"):convert(function(s)
      local n = math.tointeger(tonumber(s))
      if not n or n <= 0 then return nil, "N must be a positive integer, got " .. s end
      return n
    end)
  parser:option("--split-bytes", "At --unroll=full, C sources over this size are split into "
    .. "<name>.c and <name>_part1.c ... <name>_partK.c of about N bytes each, cut between functions, "
    .. "so that every file compiles in bounded memory; <name>.h lists them in <NAME>_SOURCE_FILES. "
    .. "A given N also splits the other levels; 0 or none: always one file. (default: 4194304 (4 MiB) at "
    .. "--unroll=full, otherwise one file)")
    :argname("N"):convert(function(s)
      if s == "none" then return 0 end
      local n = math.tointeger(tonumber(s))
      if not n or n < 0 or not s:match("^%d+$") then
        return nil, "--split-bytes needs a positive number of bytes, or 0 or none for one file, got '" .. s .. "'"
      end
      return n
    end)
  parser:flag("--explain", "Print the layer table (shapes, MACs, memory, buffers) and write nothing.")
  parser:flag("--check", "Write nothing; exit 1 and name the files in OUTDIR that are missing or "
    .. "differ from what would be generated (and the options they were made with), else print "
    .. "one \"up to date\" line.")
  parser:flag("-q --quiet", "With --check, print nothing when the files are up to date.")
  parser:flag("--version", "Print the version and exit."):action(function()
    io.stdout:write("lenetgen " .. M.VERSION .. "\n")
    os.exit(0)
  end)
  return parser
end

--- Options that change the generated text, in a fixed order (for the manifest).
function M.output_options(args)
  local parts = { "--unroll=" .. args.unroll, "--plan=" .. args.plan, "--math=" .. args.math }
  if args.random_weights then parts[#parts + 1] = "--random-weights " .. args.random_weights end
  if args.allow_nonfinite then parts[#parts + 1] = "--allow-nonfinite" end
  -- only when given: the default (automatic) leaves the manifest as it was before the option
  if args.split_bytes then
    parts[#parts + 1] = "--split-bytes=" .. (args.split_bytes == 0 and "none" or tostring(args.split_bytes))
  end
  if args.quantize then parts[#parts + 1] = "--quantize=" .. args.quantize end
  return table.concat(parts, " ")
end

--- Run the pipeline; returns { files = { {path, text}... }, model, plan }.
function M.generate(args)
  local model_loader = require("lg.model")
  local planner = require("lg.plan")
  local emit = require("lg.emit")
  local manifest = require("lg.manifest")
  local model = model_loader.load(args.description, {
    random_seed = args.random_weights, allow_nonfinite = args.allow_nonfinite, weights_optional = args.explain })
  local plan = planner.build(model, { unroll = args.unroll, plan = args.plan })
  local quant
  if args.quantize then
    quant = require("lg.quantize").prepare(model, args.calibration, args.explain)
  end
  for _, notes in ipairs({ model.notes, plan.notes }) do
    for _, note in ipairs(notes) do
      io.stderr:write(errors.format_diagnostic(args.description, note.line, "note", note.text), "\n")
    end
  end
  if args.explain then return { model = model, plan = plan, quant = quant } end
  local banner = manifest.banner(model, plan, {
    version = M.VERSION, options = M.output_options(args), quant = quant })
  local too_big = string.format("the generated C would be larger than --max-code-bytes %d; use a "
    .. "lower unroll level (--unroll=kernel or none, or unroll = \"none\" on the largest layers) "
    .. "or raise the budget", args.max_code_bytes)
  local budget = require("lg.render").budget(args.max_code_bytes)
  local ok, out = pcall(emit.emit, model, plan, { math = args.math, manifest = banner, budget = budget,
    split_bytes = args.split_bytes, quant = quant })
  if not ok then
    if type(out) == "table" and out.code_budget then errors.raise(args.description, nil, too_big) end
    error(out, 0)
  end
  local files, bytes = {}, 0
  -- "out/" names out/x.c, "/" names /x.c
  local dir = args.output:gsub("/+$", "")
  for i, text in ipairs(out.texts) do
    files[i] = { path = dir .. "/" .. out.names[i], text = text }
    bytes = bytes + #text
  end
  if bytes > args.max_code_bytes then errors.raise(args.description, nil, too_big) end
  return { model = model, plan = plan, files = files, stale = M.stale_files(dir, model.name, files) }
end

--- Files of an earlier split in `dir` that this run does not write: parts
-- beyond its count, the internal header of a split when this run writes one
-- file. Only files lenetgen wrote (they open with its banner) are named.
function M.stale_files(dir, name, files)
  local writing, stale = {}, {}
  for _, f in ipairs(files) do writing[f.path:match("[^/]*$")] = true end
  local ok, iter, state = pcall(require("lfs").dir, dir)
  if not ok then return stale end
  local part = "^" .. name:gsub("%p", "%%%0") .. "_part%d+%.c$"
  for entry in iter, state do
    if not writing[entry] and (entry:match(part) or entry == name .. "_internal.h")
        and require("lfs").attributes(dir .. "/" .. entry, "mode") == "file" then
      local f = io.open(dir .. "/" .. entry, "rb")
      local head = f and f:read(64)
      if f then f:close() end
      if head and head:match("^/%*\n %* DO NOT EDIT: generated by lenetgen ") then
        stale[#stale + 1] = dir .. "/" .. entry
      end
    end
  end
  table.sort(stale)
  return stale
end

--- The options of a manifest line ("--unroll=kernel --plan=fused ..."), by option name.
local function parse_options(text)
  local map = {}
  for opt, value in text:gmatch("(%-%-[%w-]+)=?(%S*)") do map[opt] = value end
  -- "--random-weights 7" is written with a space
  local seed = text:match("%-%-random%-weights (%d+)")
  if seed then map["--random-weights"] = seed end
  return map
end

local function option_text(opt, value)
  if value == nil then return "no " .. opt end
  if value == "" then return opt end
  return opt .. (opt == "--random-weights" and " " or "=") .. value
end

--- What differs between the options a file was made with and this run's.
local function options_difference(file_options, run_options)
  local was, now = parse_options(file_options), parse_options(run_options)
  local names, seen = {}, {}
  for _, map in ipairs({ now, was }) do
    for opt in pairs(map) do
      if not seen[opt] then seen[opt] = true; names[#names + 1] = opt end
    end
  end
  table.sort(names)
  local parts = {}
  for _, opt in ipairs(names) do
    if was[opt] ~= now[opt] then
      parts[#parts + 1] = string.format("%s here, %s in the file", option_text(opt, now[opt]),
        option_text(opt, was[opt]))
    end
  end
  return table.concat(parts, "; ")
end

--- --check: each missing or differing file on stderr (exit 1), else one
-- "up to date" line unless quiet (exit 0). Writes nothing.
-- A target that is not a regular file is named as such and never read (a FIFO
-- would block, a device never end).
-- @param stale files of an earlier split this run would remove (M.stale_files)
function M.check(files, run_options, quiet, stale)
  local writer = require("lg.files")
  local problems = {}
  for _, f in ipairs(files) do
    local what = writer.not_regular(f.path)
    local old = not what and writer.read(f.path)
    if what then
      problems[#problems + 1] = writer.not_regular_message(f.path, what)
    elseif old == nil then
      problems[#problems + 1] = f.path .. ": error: missing; run lenetgen without --check to generate it"
    elseif old ~= f.text then
      local file_options = old:match("\n %*   options      ([^\n]*)")
      local diff = file_options and options_difference(file_options, run_options) or ""
      if diff ~= "" then
        problems[#problems + 1] = string.format("%s: error: made with other options (%s); regenerate "
          .. "it, or check with the options it was made with", f.path, diff)
      else
        problems[#problems + 1] = f.path .. ": error: differs from what lenetgen would generate "
          .. "(regenerate it)"
      end
    end
  end
  for _, path in ipairs(stale or {}) do
    problems[#problems + 1] = string.format("%s: error: stale: a file of an earlier run that this run "
      .. "does not write (it writes %d files); regenerate to remove it", path, #files)
  end
  for _, p in ipairs(problems) do io.stderr:write(errors.one_line(p) .. "\n") end
  if #problems > 0 then return 1 end
  if not quiet then
    local paths = {}
    for i, f in ipairs(files) do paths[i] = f.path end
    local last = table.remove(paths)
    io.stdout:write((#paths > 0 and (table.concat(paths, ", ") .. " and ") or "") .. last .. ": up to date\n")
  end
  return 0
end

--- Generate, then print, check or write; returns the exit status.
local function run(args)
  local result = M.generate(args)
  if args.explain then
    io.stdout:write(require("lg.explain").table(result.model, result.plan))
    if result.quant then io.stdout:write(require("lg.explain").quantization(result.model, result.plan, result.quant)) end
    return 0
  end
  if args.check then return M.check(result.files, M.output_options(args), args.quiet, result.stale) end
  local wrote, werr = require("lg.files").write_all(result.files, result.stale)
  if not wrote then
    io.stderr:write(werr .. "\n")
    return 1
  end
  return 0
end

--- Is a Lua error the interrupt lua5.4 raises on SIGINT ("file:line: interrupted!")?
local function is_interrupt(e)
  return type(e) == "string" and e:match("interrupted!$") ~= nil
end

--- A usage mistake the parser cannot see, or nil.
local function usage_problem(args)
  if args.output == "" then
    return "option '-o' needs a directory, got an empty string (use -o . for the current directory)"
  elseif args.check and args.explain then
    return "--check and --explain cannot be combined (--explain checks nothing); run them one after the other"
  elseif args.quiet and not args.check then
    return "-q only applies to --check"
  elseif args.quantize and not args.calibration then
    return "--quantize=int8 needs --calibration CALIB (a safetensors file of representative inputs; "
      .. "tools/make-calibration writes one)"
  elseif args.calibration and not args.quantize then
    return "--calibration only applies with --quantize=int8; add --quantize=int8 or remove --calibration"
  end
end

--- Main entry; returns the exit status.
-- Ctrl-C (SIGINT) arrives as a Lua error anywhere in `run`; lg.files removes
-- its temporary files on the way out and the status is 130, as for a shell.
-- SIGTERM and SIGKILL end the process at once: the next run into the same
-- directory removes the temporary files left, and a header and source left
-- from two runs refuse to compile together (the generation id).
-- @param program the name the user invoked (for "Run '... --help'")
function M.main(argv, program)
  local parser = build_parser(program)
  local ok, args = parser:pparse(argv)
  if ok then
    local problem = usage_problem(args)
    if problem then ok, args = false, problem end
  end
  if not ok then
    program = program or "lenetgen"
    io.stderr:write(program:match("[^/]*$") .. ": error: " .. args .. "\nRun '" .. program
      .. " --help' for usage.\n")
    return 2
  end
  local done, result = xpcall(run, function(e)
    if errors.is(e) then return e end
    if is_interrupt(e) then return { interrupted = true } end
    return { bug = debug.traceback(tostring(e), 2) }
  end, args)
  if done then return result end
  if errors.is(result) then
    io.stderr:write(errors.format(result) .. "\n")
    return 1
  end
  if result.interrupted then
    io.stderr:write("lenetgen: interrupted; the output files are as they were, or all replaced\n")
    return 130
  end
  io.stderr:write("lenetgen: internal error (a bug in lenetgen, not in your model):\n" .. result.bug .. "\n")
  return 3
end

return M
