--- lenetgen-import's own tests: hostile and unsupported ONNX files (exact one-line
-- messages, exit 1, nothing written), usage errors (exit 2), and LeNet-5 exported by
-- PyTorch (tools/torch-export, dynamic batch, x.view flattening): the layers of
-- models/lenet5.lua with the same weights bit for bit, and `make check` against
-- PyTorch's own outputs through `check =`, which catches a wrong weightless layer
-- that the reference alone cannot.
-- usage (from the repository root): lua5.4 tests/conformance/test_import.lua [-v]
package.path = "gen/?.lua;tools/?.lua;" .. package.path
local testlib = require("testlib")
local shellutil = require("shellutil")
local safetensors = require("lg.safetensors")

testlib.parse_args("tests/conformance/test_import.lua", "Tests gen/lenetgen-import.")
local q = shellutil.shell_quote
local WORK = "build/import-test"
os.execute("rm -rf " .. WORK .. " && mkdir -p " .. WORK .. "/hostile " .. WORK .. "/out")

local function run(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>" .. WORK .. ".stderr", "r"))
  local out = p:read("a")
  local _, _, code = p:close()
  return code, out, shellutil.read_file(WORK .. ".stderr") or ""
end

-- 1. hostile and unsupported files
local SUPPORTED = "supported: AveragePool, BatchNormalization, Clip, Conv, Dropout, Flatten, Gemm, GlobalAveragePool, "
  .. "Identity, LeakyRelu, MatMul (+ Add), MaxPool, PRelu, Pad, Relu, Reshape, Sigmoid, Softmax, Tanh"
local HOSTILE = {
  not_onnx = "not an ONNX model (it does not parse as an ONNX protobuf; truncated or another format)",
  truncated = "not an ONNX model (it does not parse as an ONNX protobuf; truncated or another format)",
  empty = "the file is empty, not an ONNX model",
  unsupported_op = 'node "Exp_1" (Exp): operator Exp is not supported; ' .. SUPPORTED,
  bad_attribute = 'node "MaxPool_3" (MaxPool): attribute storage_order=1 is not supported',
  bad_auto_pad = 'node "Conv_3" (Conv): attribute auto_pad=SAME_MIDDLE is not supported',
  branching = 'node "Sigmoid_1" (Sigmoid): reads "x", not the output of the previous layer ("a"); lenetgen '
    .. "imports a chain of layers, without branches or skip connections",
  two_inputs = 'the graph has 2 inputs ("x", "z"); lenetgen networks have one input, and weights must be initializers',
  dynamic_shape = 'input "x" has dynamic dimension 2 ("height"); export with a fixed input size (no dynamic_axes '
    .. "except the batch)",
  opset18 = "opset 18 is newer than this importer knows (up to 17); export with opset_version=17 or lower",
  softmax_not_last = 'node "Softmax_1" (Softmax): is followed by node "Relu_2" (Relu); lenetgen\'s softmax must be '
    .. "the last layer",
}
local code = run("/usr/bin/python3 tests/conformance/make_hostile.py " .. WORK .. "/hostile")
testlib.check_eq(code, 0, "make_hostile.py writes the files")
shellutil.write_file(WORK .. "/out/keep.txt", "untouched\n")
local names = {}
for name in pairs(HOSTILE) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  local before = shellutil.snapshot(WORK)
  local path = WORK .. "/hostile/" .. name .. ".onnx"
  local status, out, err = run("gen/lenetgen-import " .. q(path) .. " -o " .. WORK .. "/out")
  testlib.check_eq(status, 1, name .. ": exit status")
  testlib.check_eq(err, path .. ": error: " .. HOSTILE[name] .. "\n", name .. ": the one error line")
  testlib.check_eq(out, "", name .. ": nothing on stdout")
  testlib.check(shellutil.same_snapshot(before, shellutil.snapshot(WORK)), name .. ": nothing written or left behind")
end
for _, usage in ipairs({ "", "x.onnx", "x.onnx -o d --bogus", "x.onnx -o d --name 9lives" }) do
  local status, _, err = run("gen/lenetgen-import " .. usage)
  testlib.check_eq(status, 2, "usage error exits 2: '" .. usage .. "'")
  testlib.check(select(2, err:gsub("\n", "")) == 1 and err:match("^lenetgen%-import: error: "),
    "usage error is one line: '" .. usage .. "'", err)
end

-- 2. LeNet-5 from PyTorch
local L5 = WORK .. "/lenet5"
code = run("tools/torch-export lenet5 -o " .. L5 .. "/lenet5.onnx")
testlib.check_eq(code, 0, "tools/torch-export lenet5")
local t0 = os.time()
local status, _, err = run("gen/lenetgen-import " .. L5 .. "/lenet5.onnx -o " .. L5 .. "/imp && mkdir -p " .. L5
  .. "/c && gen/lenetgen " .. L5 .. "/imp/lenet5.lua -o " .. L5 .. "/c")
testlib.check_eq(status, 0, "LeNet-5: import and generate" .. (status ~= 0 and (": " .. err) or ""))
print(string.format("note: LeNet-5 import + generation took about %d s (wall clock, not asserted)", os.time() - t0))
local desc = shellutil.read_file(L5 .. "/imp/lenet5.lua") or ""
local ours = shellutil.read_file("models/lenet5.lua")
local function layer_lines(text)
  local t = {}
  for line in text:gmatch("{ type = [^}]*}") do t[#t + 1] = (line:gsub(", stride = 1", ""):gsub(", stride = 2", "")) end
  return table.concat(t, "\n")
end
testlib.check_eq(layer_lines(desc), layer_lines(ours), "LeNet-5: the layers of models/lenet5.lua")
testlib.check(desc:find('-- 6: /Reshape (Reshape)', 1, true) and desc:find('[batch, 1, 28, 28]', 1, true),
  "LeNet-5: x.view's Shape/Gather/Unsqueeze/Concat/Reshape folded into flatten, dynamic batch named", desc)
local mine = assert(safetensors.read(L5 .. "/imp/lenet5.safetensors"))
local trained = assert(safetensors.read("models/lenet5.safetensors"))
local same = #mine.names == #trained.names
for _, name in ipairs(trained.names) do
  same = same and mine.tensors[name] and mine.tensors[name].raw == trained.tensors[name].raw
end
testlib.check(same, "LeNet-5: every weight tensor bit for bit as models/lenet5.safetensors")
status, _, err = run("make --no-print-directory check MODEL=" .. L5 .. "/imp/lenet5.lua LEVELS=kernel >/dev/null")
testlib.check_eq(status, 0, "LeNet-5: make check (reference and PyTorch's vectors) passes" .. err)

-- the slip of issue 15: relu for the first sigmoid; only PyTorch's vectors see it
local slip = L5 .. "/slip"
os.execute("mkdir -p " .. slip .. " && cp " .. L5 .. "/imp/* " .. slip .. "/")
shellutil.write_file(slip .. "/lenet5.lua", (desc:gsub('type = "sigmoid"', 'type = "relu"', 1)))
local out
status, out = run("make --no-print-directory check MODEL=" .. slip .. "/lenet5.lua LEVELS=kernel 2>&1")
-- harness case check_N is sample N of the check file (PyTorch's outputs)
testlib.check(status ~= 0 and out:find("FAILED  ] check/lenet5/kernel/lenet5/check_0", 1, true),
  "a relu written for a sigmoid fails make check on PyTorch's vectors",
  out:sub(-600))

-- inputs of rank 3 ([N, C, L]: Conv1d, MaxPool1d as 1 x k windows) and rank 2 ([N, F]):
-- exported by PyTorch, imported, and equal to PyTorch's outputs in make check
for _, net in ipairs({ { "Conv1dNet", "1,2,8", "input = { channels = 2, height = 1, width = 8 }" },
                       { "Mlp", "1,6", "input = { channels = 6, height = 1, width = 1 }" } }) do
  local dir = WORK .. "/" .. net[1]
  local onnx = dir .. "/" .. net[1]:lower() .. ".onnx"
  code = run("tools/torch-export tests/conformance/models/ranks.py:" .. net[1] .. " --input " .. net[2]
    .. " -o " .. onnx)
  testlib.check_eq(code, 0, net[1] .. ": tools/torch-export")
  code = run("gen/lenetgen-import " .. onnx .. " -o " .. dir .. "/imp")
  testlib.check_eq(code, 0, net[1] .. ": lenetgen-import")
  local text = shellutil.read_file(dir .. "/imp/" .. net[1]:lower() .. ".lua") or ""
  testlib.check(text:find(net[3], 1, true) ~= nil, net[1] .. ": rank " .. select(2, net[2]:gsub(",", "")) + 1
    .. " input read as " .. net[3], text)
  status, _, err = run("make --no-print-directory check MODEL=" .. dir .. "/imp/" .. net[1]:lower()
    .. ".lua LEVELS=kernel >/dev/null")
  testlib.check_eq(status, 0, net[1] .. ": make check (reference and PyTorch's vectors) passes" .. err)
end

-- the check field: a missing file and a wrong shape, one line each
shellutil.write_file(slip .. "/lenet5.lua", (desc:gsub("lenet5_check", "missing")))
status, _, err = run("gen/lenetgen " .. slip .. "/lenet5.lua -o " .. slip)
testlib.check_eq(err, slip .. "/lenet5.lua:7: error: check file missing.safetensors: cannot open: no such file or "
  .. "directory\n", "check: a missing file")
testlib.check_eq(status, 1, "check: a missing file exits 1")
safetensors.write(slip .. "/bad.safetensors", { input = { shape = { 2, 784 }, data = (function()
  local t = {} for i = 1, 1568 do t[i] = 0 end return t end)() }, output = { shape = { 2, 9 }, data = (function()
  local t = {} for i = 1, 18 do t[i] = 0 end return t end)() } })
shellutil.write_file(slip .. "/lenet5.lua", (desc:gsub("lenet5_check", "bad")))
status, _, err = run("gen/lenetgen " .. slip .. "/lenet5.lua -o " .. slip)
testlib.check_eq(err, slip .. '/lenet5.lua:7: error: check file bad.safetensors: tensor "output" has shape [2, 9]; '
  .. 'the model needs [N, ...] with 10 values per sample and N = 2 as in "input"\n', "check: a wrong output shape")
testlib.finish()
