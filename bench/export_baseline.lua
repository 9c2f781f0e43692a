#!/usr/bin/env lua5.4
--- export_baseline.lua: everything the benchmark's non-generated implementations need
-- about one network, written from the same loaded model the generator sees.
--
--   lua5.4 bench/export_baseline.lua MODEL.lua -o DIR [--random-weights SEED]
--
-- Writes into DIR, NAME being the description's name:
--   NAME.h            the generated code's API shape (NAME_infer, NAME_INPUT_SIZE, ...), so the
--                     benchmark driver and the firmware harness run the baseline unchanged
--   NAME_net.h        for bench/baseline_loops.c: the weights as static const arrays (exact
--                     hexadecimal literals), one static buffer per conv/pool/linear layer, and
--                     BL_FORWARD, the sequence of layer calls
--   NAME.safetensors  the weights, for bench/torch_bench.py (random weights included)
--   NAME.arch         the layer list, one layer per line, for bench/torch_bench.py
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
local root = script_dir .. "/.."
package.path = root .. "/gen/?.lua;" .. root .. "/tools/?.lua;" .. package.path

local errors = require("lg.errors")
local files = require("lg.files")
local model_loader = require("lg.model")
local safetensors = require("lg.safetensors")
local cliargs = require("cliargs")

local function fail(msg)
  io.stderr:write("export_baseline: " .. msg .. "\n")
  os.exit(2)
end

local function parse_args(args)
  local parser = cliargs.parser("export_baseline.lua", "Export a description for the nested-loops "
    .. "baseline and PyTorch: NAME_net.h, NAME.safetensors, NAME.arch.")
  parser:argument("model", "The description."):argname("MODEL.lua")
  parser:option("-o", "The directory to write to."):argname("DIR"):count(1):target("dir")
  parser:option("--random-weights", "Seeded random weights."):argname("SEED"):convert(cliargs.integer)
    :target("seed")
  return cliargs.parse(parser, args)
end

local function product(t)
  local n = 1
  for _, v in ipairs(t) do n = n * v end
  return n
end

--- C99 hexadecimal literal of a float32 value: exact.
local function cfloat(x)
  if x ~= x or x == math.huge or x == -math.huge then fail("non-finite weight " .. tostring(x)) end
  return string.format("%a", x) .. "f"
end

local function c_array(out, name, values)
  out[#out + 1] = string.format("static const float %s[%d] = {", name, #values)
  for i = 1, #values, 8 do
    local line = {}
    for j = i, math.min(i + 7, #values) do line[#line + 1] = cfloat(values[j]) end
    out[#out + 1] = "    " .. table.concat(line, ", ") .. (i + 8 <= #values and "," or "")
  end
  out[#out + 1] = "};"
end

local function main(args)
  local opts = parse_args(args)
  local ok, model = pcall(model_loader.load, opts.model, { random_seed = opts.seed })
  if not ok then fail(errors.is(model) and errors.format(model) or tostring(model)) end

  local name, NAME = model.name, model.name:upper()
  local input_size = model.input.channels * model.input.height * model.input.width
  local last = model.layers[#model.layers]
  local output_size = product(last.out_shape)

  -- Which layer writes its own buffer: conv, pool and linear do; activations work in
  -- place and flatten is a no-op on the flat C-H-W buffer. The last such layer writes
  -- straight into the caller's output.
  local last_buffered = 0
  for k, layer in ipairs(model.layers) do
    if layer.type ~= "flatten" and not (layer.type == "sigmoid" or layer.type == "tanh" or layer.type == "relu") then
      last_buffered = k
    end
  end

  local weights_c, buffers_c, calls, uses = {}, {}, {}, {}
  local tensors, arch = {}, {}
  local act_floats, params, macs = 0, 0, 0
  local cur = "(input)"
  if last_buffered == 0 then
    -- nothing but activations: copy the input to the output and work there
    calls[#calls + 1] = string.format("bl_copy(input, output, %d)", input_size)
    uses.copy = true
    cur = "(output)"
  end
  arch[#arch + 1] = string.format("input %d %d %d", model.input.channels, model.input.height, model.input.width)

  for k, layer in ipairs(model.layers) do
    local t, ins, outs = layer.type, layer.in_shape, layer.out_shape
    local dst
    if k == last_buffered then
      dst = "(output)"
    elseif t ~= "flatten" and t ~= "sigmoid" and t ~= "tanh" and t ~= "relu" then
      dst = string.format("bl_buf%d", layer.index)
      buffers_c[#buffers_c + 1] = string.format("static float %s[%d]; /* layer %d (%s) output */",
        dst, product(outs), layer.index, t)
      act_floats = act_floats + product(outs)
    end
    local wname = string.format("%s_layer%d_weight", name, layer.index)
    local bname = string.format("%s_layer%d_bias", name, layer.index)
    if layer.weight then
      c_array(weights_c, wname, layer.weight.data)
      params = params + #layer.weight.data
      tensors[layer.weight_name] = { shape = layer.weight.shape, raw = layer.weight.raw, data = layer.weight.data }
      if layer.bias_values then
        c_array(weights_c, bname, layer.bias_values.data)
        params = params + #layer.bias_values.data
        tensors[layer.bias_name] = { shape = layer.bias_values.shape, raw = layer.bias_values.raw,
                                     data = layer.bias_values.data }
      end
    end
    local bias = layer.bias_values and bname or "0"
    if t == "conv2d" then
      calls[#calls + 1] = string.format("bl_conv2d(%s, %d, %d, %d, %s, %s, %d, %d, %d, %d, %d, %d, %d, %s)",
        cur, ins[1], ins[2], ins[3], wname, bias, outs[1], layer.kernel.h, layer.kernel.w,
        layer.stride.h, layer.stride.w, layer.padding.top, layer.padding.left, dst)
      macs = macs + product(outs) * ins[1] * layer.kernel.h * layer.kernel.w
      arch[#arch + 1] = string.format("conv2d %d %d %d %d %d %d %d %d %d %s", layer.index, ins[1], outs[1],
        layer.kernel.h, layer.kernel.w, layer.stride.h, layer.stride.w, layer.padding.top, layer.padding.left,
        layer.bias_values and "bias" or "nobias")
    elseif t == "linear" then
      calls[#calls + 1] = string.format("bl_linear(%s, %d, %s, %s, %d, %s)", cur, ins[1], wname, bias, outs[1], dst)
      macs = macs + ins[1] * outs[1]
      arch[#arch + 1] = string.format("linear %d %d %d %s", layer.index, ins[1], outs[1],
        layer.bias_values and "bias" or "nobias")
    elseif t == "avgpool2d" or t == "maxpool2d" then
      calls[#calls + 1] = string.format("bl_%s(%s, %d, %d, %d, %d, %d, %d, %d, %d, %d, %s)", t, cur,
        ins[1], ins[2], ins[3], layer.kernel.h, layer.kernel.w, layer.stride.h, layer.stride.w,
        layer.padding.top, layer.padding.left, dst)
      arch[#arch + 1] = string.format("%s %d %d %d %d %d %d", t, layer.kernel.h, layer.kernel.w,
        layer.stride.h, layer.stride.w, layer.padding.top, layer.padding.left)
    elseif t == "sigmoid" or t == "tanh" or t == "relu" then
      if cur == "(input)" then
        -- the input is the caller's and read-only: work on a copy
        local copy = string.format("bl_buf%d", layer.index)
        buffers_c[#buffers_c + 1] = string.format("static float %s[%d]; /* copy of the input for layer %d (%s) */",
          copy, product(outs), layer.index, t)
        act_floats = act_floats + product(outs)
        calls[#calls + 1] = string.format("bl_copy(%s, %s, %d)", cur, copy, product(outs))
        uses.copy, cur = true, copy
      end
      calls[#calls + 1] = string.format("bl_%s(%s, %d)", t, cur, product(outs))
      arch[#arch + 1] = t
    elseif t == "flatten" then
      arch[#arch + 1] = "flatten"
    else
      fail(string.format("layer %d: type %s not implemented in the baseline", layer.index, t))
    end
    uses[t] = true
    if dst then cur = dst end
  end

  local function def_uses()
    local out, kinds = {}, { "conv2d", "linear", "avgpool2d", "maxpool2d", "sigmoid", "tanh", "relu", "copy" }
    for _, kind in ipairs(kinds) do
      out[#out + 1] = string.format("#define BL_USES_%s %d", kind:upper(), uses[kind] and 1 or 0)
    end
    return table.concat(out, "\n")
  end

  local banner = string.format("/* DO NOT EDIT: written by bench/export_baseline.lua from %s%s. */\n",
    opts.model, opts.seed and (" with --random-weights " .. opts.seed) or "")
  local defines = {
    { "INPUT_CHANNELS", model.input.channels, "input channels" },
    { "INPUT_HEIGHT", model.input.height, "input rows" },
    { "INPUT_WIDTH", model.input.width, "input columns" },
    { "INPUT_SIZE", input_size, "floats in one input" },
    { "OUTPUT_SIZE", output_size, "floats in one output" },
    { "ACTIVATION_BYTES", act_floats * 4, "bytes of the per-layer buffers (input/output not counted)" },
    { "PARAMETERS", params, "weights and biases" },
    { "WEIGHT_BYTES", params * 4, "bytes of static const weights" },
    { "MACS", macs, "multiply-accumulates per inference, padding taps included" },
  }
  local h = { banner, string.format("#ifndef %s_H\n#define %s_H\n", NAME, NAME),
              "/* The benchmark's nested-loops baseline (bench/baseline_loops.c), generated code's API. */" }
  for _, d in ipairs(defines) do
    h[#h + 1] = string.format("#define %-28s %-8d /* %s */", NAME .. "_" .. d[1], d[2], d[3])
  end
  h[#h + 1] = string.format("\nvoid %s_infer(const float *input, float *output);\n\n#endif /* %s_H */\n", name, NAME)
  local header_text = table.concat(h, "\n")

  local forward = {}
  for i, c in ipairs(calls) do
    forward[i] = "    " .. c .. ";" .. (i < #calls and " \\" or "")
  end
  local net = {
    banner,
    string.format('#include "%s.h"\n', name),
    string.format("#define BL_INFER %s_infer", name),
    def_uses(),
    "",
    "/* weights, PyTorch layout: conv [out][in][kh][kw], linear [out][in] */",
    table.concat(weights_c, "\n"),
    "",
    "/* one buffer per conv/pool/linear layer; activations work in place */",
    table.concat(buffers_c, "\n"),
    "",
    "#define BL_FORWARD(input, output) \\",
    table.concat(forward, "\n"),
    "",
  }
  -- written only when changed (make rebuilds only what changed), never half-written
  local ok_write, err = files.write_all({
    { path = opts.dir .. "/" .. name .. ".h", text = header_text },
    { path = opts.dir .. "/" .. name .. "_net.h", text = table.concat(net, "\n") },
    { path = opts.dir .. "/" .. name .. ".arch", text = table.concat(arch, "\n") .. "\n" },
    { path = opts.dir .. "/" .. name .. ".safetensors", text = safetensors.encode(tensors) },
  })
  if not ok_write then fail(err) end
end

main(arg)
