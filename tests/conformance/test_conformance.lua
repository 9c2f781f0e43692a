--- ONNX conformance: Debian's libonnx-testdata cases for the operators lenetgen-import
-- takes, through import -> gen/lenetgen -> gcc (strict flags, -O2) -> run, compared with
-- the case's output_0.pb within 2e-5 normwise relative error (||c - o|| / ||o||).
--
-- usage (from the repository root): lua5.4 tests/conformance/test_conformance.lua [-v] [CASE...]
--
-- One line per case: "passed", "refused" (the importer's one-line error, for a case
-- out of scope: it must be the refusal listed in REFUSED below, word for word) or
-- "FAIL". A refused case counts as passed when its refusal is the expected one; a
-- case listed in REFUSED that imports, or one refused with another message, fails.
-- Ends "N passed, N failed". Work files go to build/conformance/.
package.path = "gen/?.lua;tools/?.lua;" .. package.path
local testlib = require("testlib")
local shellutil = require("shellutil")
local cflags = require("cflags")
local safetensors = require("lg.safetensors")
local lfs = require("lfs")

local DATA = "/usr/share/libonnx-testdata/data"
local BUILD = "build/conformance"
local TOLERANCE = 2e-5
local JOBS = os.getenv("CONFORMANCE_JOBS") or "2"

-- The cases in scope (issue 15), as directory name patterns (Lua patterns, anchored).
local SELECTION = {
  ["pytorch-converted"] = { "test_Conv2d.*", "test_AvgPool2d.*", "test_MaxPool2d.*", "test_Linear.*",
    "test_ReLU", "test_Sigmoid", "test_Tanh", "test_LeakyReLU.*", "test_PReLU_2d.*" },
  node = { "test_conv.*", "test_averagepool_2d.*", "test_maxpool_2d.*", "test_gemm.*", "test_relu",
    "test_sigmoid.*", "test_tanh.*", "test_leakyrelu.*", "test_prelu.*", "test_flatten.*", "test_softmax.*",
    "test_globalaveragepool.*", "test_batchnorm.*" },
}

-- What lenetgen cannot express, with the importer's exact message. Why, by group:
local RANK1 = 'input "x" has shape [3]; lenetgen takes [N, F], [N, C, L] or [N, C, H, W] (batch first)'
local UINT8 = 'input "x" has element type UINT8; lenetgen networks take float32'
local CONVT = "operator ConvTranspose is not supported; supported: AveragePool, BatchNormalization, Clip, "
  .. "Conv, Dropout, Flatten, Gemm, GlobalAveragePool, Identity, LeakyRelu, MatMul (+ Add), MaxPool, PRelu, Pad, "
  .. "Relu, Reshape, Sigmoid, Softmax, Tanh"
local REDUCEMAX = "node 1 (ReduceMax): " .. CONVT:gsub("ConvTranspose", "ReduceMax")
local function flatten_axis(a)
  return "node 0 (Flatten): attribute axis=" .. a .. " is not supported (only 1: keep the batch, flatten the rest)"
end
local function softmax_axis(a, over)
  return "node 0 (Softmax): attribute axis=" .. a .. " normalises over " .. over .. " of the input [3, 4, 5]; "
    .. "lenetgen's softmax covers each sample's whole output vector"
end
local REFUSED = {
  -- no batch dimension: a rank-1 tensor is not a batch of samples
  test_leakyrelu_example = RANK1, test_sigmoid_example = RANK1, test_tanh_example = RANK1,
  -- integer networks (the int8 path is another issue)
  test_maxpool_2d_uint8 = UINT8,
  test_convinteger_with_padding = UINT8, test_convinteger_without_padding = UINT8,
  -- transposed convolution is not a lenetgen layer
  test_convtranspose = "node 0 (ConvTranspose): " .. CONVT,
  test_convtranspose_1d = "node 0 (ConvTranspose): " .. CONVT,
  test_convtranspose_3d = 'input "X" has shape [1, 1, 3, 4, 5]; lenetgen takes [N, F], [N, C, L] or [N, C, H, W] '
    .. "(batch first)",
  test_convtranspose_autopad_same = "node 0 (ConvTranspose): " .. CONVT,
  test_convtranspose_dilations = "node 0 (ConvTranspose): " .. CONVT,
  test_convtranspose_kernel_shape = 'node "test" (ConvTranspose): ' .. CONVT,
  test_convtranspose_output_shape = "node 0 (ConvTranspose): " .. CONVT,
  test_convtranspose_pad = "node 0 (ConvTranspose): " .. CONVT,
  test_convtranspose_pads = "node 0 (ConvTranspose): " .. CONVT,
  test_convtranspose_with_kernel = 'node "test" (ConvTranspose): ' .. CONVT,
  -- flattening that merges the batch or keeps several dimensions per sample
  test_flatten_axis0 = flatten_axis("0"), test_flatten_axis2 = flatten_axis("2"),
  test_flatten_axis3 = flatten_axis("3"), test_flatten_negative_axis1 = flatten_axis("-1"),
  test_flatten_negative_axis2 = flatten_axis("-2"), test_flatten_negative_axis4 = flatten_axis("-4"),
  -- Gemm on a transposed input (the batch would be the feature axis) or a bias per sample
  test_gemm_all_attributes = "node 0 (Gemm): attribute transA=1 is not supported",
  test_gemm_transposeA = "node 0 (Gemm): attribute transA=1 is not supported",
  test_gemm_default_matrix_bias = "node 0 (Gemm): C of shape [3, 4] is not one value per output "
    .. "(expected [4] or [1, 4])",
  -- PRelu slopes that are not per channel
  test_prelu_broadcast = "node 0 (PRelu): slope of shape [5] is not one value per channel of the input [3, 4, 5]; "
    .. "lenetgen's prelu has one slope per channel ([C] or [1], as PyTorch's nn.PReLU)",
  test_prelu_example = "node 0 (PRelu): slope of shape [3, 4, 5] is not one value per channel of the input "
    .. "[3, 4, 5]; lenetgen's prelu has one slope per channel ([C] or [1], as PyTorch's nn.PReLU)",
  -- softmax over part of a sample (or across the batch)
  test_softmax_axis_0 = softmax_axis("0", "[3]"), test_softmax_axis_1 = softmax_axis("1", "[4]"),
  test_softmax_axis_2 = softmax_axis("2", "[5]"), test_softmax_default_axis = softmax_axis("-1 (the default)", "[5]"),
  test_softmax_negative_axis = softmax_axis("-1", "[5]"),
  -- softmax spelt out as ReduceMax, Sub, Exp, ReduceSum, Div
  test_softmax_axis_0_expanded = REDUCEMAX, test_softmax_axis_1_expanded = REDUCEMAX,
  test_softmax_axis_2_expanded = REDUCEMAX, test_softmax_default_axis_expanded = REDUCEMAX,
  test_softmax_example_expanded = REDUCEMAX, test_softmax_large_number_expanded = REDUCEMAX,
  test_softmax_negative_axis_expanded = REDUCEMAX,
  -- pooling padding of more than half the kernel, which PyTorch (and so lenetgen) refuses
  test_averagepool_2d_pads = "node 0 (AveragePool): padding [2, 2, 2, 2] is more than half the 3x3 kernel; "
    .. "lenetgen's pooling follows PyTorch, which refuses this",
  test_averagepool_2d_pads_count_include_pad = "node 0 (AveragePool): padding [2, 2, 2, 2] is more than half "
    .. "the 3x3 kernel; lenetgen's pooling follows PyTorch, which refuses this",
  test_maxpool_2d_pads = "node 0 (MaxPool): padding [2, 2, 2, 2] is more than half the 3x3 kernel; "
    .. "lenetgen's pooling follows PyTorch, which refuses this",
  -- batch statistics: training mode
  test_batchnorm_epsilon_training_mode = "node 0 (BatchNormalization): attribute training_mode=1 is not supported",
  test_batchnorm_example_training_mode = "node 0 (BatchNormalization): attribute training_mode=1 is not supported",
}

local q = shellutil.shell_quote

local function run(cmd)
  local out, code = shellutil.capture(cmd .. " 2>&1")
  return code == 0, out:gsub("\n$", "")
end

--- The selected case directories, sorted, as { group, name, dir }.
local function select_cases(only)
  local cases = {}
  for _, group in ipairs({ "pytorch-converted", "node" }) do
    local names = {}
    for name in lfs.dir(DATA .. "/" .. group) do
      for _, pattern in ipairs(SELECTION[group]) do
        if name:match("^" .. pattern .. "$") and (not next(only) or only[name]) then
          names[#names + 1] = name
          break
        end
      end
    end
    table.sort(names)
    for _, name in ipairs(names) do cases[#cases + 1] = { group = group, name = name, dir = DATA .. "/" .. group .. "/" .. name } end
  end
  return cases
end

local function f32_file(values)
  local parts = {}
  for i = 1, #values, 1024 do
    parts[#parts + 1] = string.pack("<" .. string.rep("f", math.min(1024, #values - i + 1)),
      table.unpack(values, i, math.min(#values, i + 1023)))
  end
  return table.concat(parts)
end

--- Normwise relative error of got (raw float32 bytes) against want (values).
local function relative_error(got_bytes, want)
  if #got_bytes ~= 4 * #want then
    return math.huge, string.format("%d output values, expected %d", #got_bytes // 4, #want)
  end
  local diff, norm = 0, 0
  for i = 1, #want do
    local got = string.unpack("<f", got_bytes, 4 * i - 3)
    diff = diff + (got - want[i]) ^ 2
    norm = norm + want[i] ^ 2
  end
  return math.sqrt(diff) / math.max(math.sqrt(norm), 1e-30)
end

local args = testlib.parse_args("tests/conformance/test_conformance.lua",
  "Runs the in-scope libonnx-testdata cases through lenetgen-import, lenetgen and gcc.", function(p)
    p:argument("case", "Only these cases (directory names such as test_Conv2d)."):args("*")
  end)
local only = {}
for _, name in ipairs(args.case) do only[name] = true end

os.execute("rm -rf " .. BUILD .. " && mkdir -p " .. BUILD)
local cases = select_cases(only)
local dirs = {}
for _, c in ipairs(cases) do dirs[#dirs + 1] = q(c.dir) end
local ok, out = run("/usr/bin/python3 tests/conformance/prepare.py " .. BUILD .. " " .. table.concat(dirs, " "))
if not ok then
  testlib.check(false, "prepare the cases", out)
  testlib.finish()
end

-- 1. import and generate, case by case
local to_build = {}
for _, c in ipairs(cases) do
  local work = BUILD .. "/" .. c.name
  local imported, err = run(string.format("gen/lenetgen-import %s -o %s --name net", q(work .. "/model.onnx"),
    q(work .. "/imp")))
  local message = err:match("^[^\n]*: error: (.*)$")
  if not imported then
    if REFUSED[c.name] then
      testlib.check_eq(message, REFUSED[c.name], c.name .. " refused as out of scope")
      if message == REFUSED[c.name] then print("refused " .. c.name .. ": " .. message) end
    else
      testlib.check(false, c.name, "lenetgen-import refused it: " .. err)
    end
  elseif REFUSED[c.name] then
    testlib.check(false, c.name, "imported, but REFUSED lists it: " .. REFUSED[c.name])
  else
    local generated, gerr = run(string.format("mkdir -p %s && gen/lenetgen %s -o %s", q(work .. "/c"),
      q(work .. "/imp/net.lua"), q(work .. "/c")))
    if generated then
      to_build[#to_build + 1] = c
    else
      testlib.check(false, c.name, "lenetgen: " .. gerr)
    end
  end
end

-- 2. compile every generated network in one make run (parallel)
local rules = { "all:" }
for _, c in ipairs(to_build) do rules[1] = rules[1] .. " " .. c.name .. "/run" end
for _, c in ipairs(to_build) do
  rules[#rules + 1] = string.format("%s/run: %s/c/net.c ../../tests/conformance/run_case.c\n"
    .. "\t@$(CC) %s -O2 -I%s/c -include net.h -o $@ %s/c/net.c ../../tests/conformance/run_case.c -lm "
    .. "> %s/build.log 2>&1 || (cat %s/build.log; exit 1)", c.name, c.name, cflags.warn, c.name, c.name,
    c.name, c.name, c.name)
end
shellutil.write_file(BUILD .. "/Makefile", table.concat(rules, "\n") .. "\n")
run(string.format("make -k -j%s -C %s CC=gcc", JOBS, BUILD))

-- 3. run and compare with output_0.pb
for _, c in ipairs(to_build) do
  local work = BUILD .. "/" .. c.name
  if not lfs.attributes(work .. "/run") then
    testlib.check(false, c.name, "gcc: " .. (shellutil.read_file(work .. "/build.log") or "no log"))
  else
    local vectors = assert(safetensors.read(work .. "/imp/net_check.safetensors"))
    shellutil.write_file(work .. "/input.f32", f32_file(vectors.tensors.input.data))
    local ran, rerr = run(string.format("%s/run %s/input.f32 %s/output.f32", work, work, work))
    local err, why = relative_error(ran and shellutil.read_file(work .. "/output.f32") or "",
      vectors.tensors.output.data)
    if testlib.check(ran and err <= TOLERANCE, c.name, ran and (why or string.format(
        "normwise relative error %.3g > %g", err, TOLERANCE)) or rerr) then
      print(string.format("passed  %s (%d sample%s, error %.2g)", c.name, vectors.tensors.input.shape[1],
        vectors.tensors.input.shape[1] == 1 and "" or "s", err))
    end
  end
end
testlib.finish()
