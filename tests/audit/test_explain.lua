--- gen/lenetgen --explain: the layer table a reviewer reads first.
-- For LeNet-5 the table must give, per layer, the description line, the attributes,
-- input and output shapes, MACs and bytes of weights (checked against values computed
-- here from the LeNet-5 definition), the step and the buffer each step writes (checked
-- against the arena map of the generated code for the same options, and for overlap of
-- each step's input and output); the totals must match the header's macros; and
-- --explain must write nothing.
-- usage: lua5.4 tests/audit/test_explain.lua      (prints "N passed, N failed")
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/?.lua;" .. package.path
local A = require("auditlib")
local check, q = A.check, A.q
require("testlib").parse_args("tests/audit/test_explain.lua", "gen/lenetgen --explain: the layer table.")
local root = A.root

-- LeNet-5 computed independently: shapes, MACs (padding taps skipped), weight bytes.
local function conv_macs(out_c, in_c, oh, ow, k, pad, ih, iw)
  local function axis(o_n, i_n)
    local taps = 0
    for o = 0, o_n - 1 do
      for kk = 0, k - 1 do
        local i = o - pad + kk
        if i >= 0 and i < i_n then taps = taps + 1 end
      end
    end
    return taps
  end
  return out_c * in_c * axis(oh, ih) * axis(ow, iw)
end
local EXPECTED = {
  { "conv2d", "1x28x28", "6x28x28", conv_macs(6, 1, 28, 28, 5, 2, 28, 28), (6 * 25 + 6) * 4, "5x5", "1x1", "2x2" },
  { "sigmoid", "6x28x28", "6x28x28", 0, 0 },
  { "avgpool2d", "6x28x28", "6x14x14", 0, 0, "2x2", "2x2", "0x0" },
  { "conv2d", "6x14x14", "16x10x10", 16 * 6 * 25 * 100, (16 * 6 * 25 + 16) * 4, "5x5", "1x1", "0x0" },
  { "sigmoid", "16x10x10", "16x10x10", 0, 0 },
  { "avgpool2d", "16x10x10", "16x5x5", 0, 0, "2x2", "2x2", "0x0" },
  { "flatten", "16x5x5", "400", 0, 0 },
  { "linear", "400", "120", 400 * 120, (400 * 120 + 120) * 4 },
  { "sigmoid", "120", "120", 0, 0 },
  { "linear", "120", "84", 120 * 84, (120 * 84 + 84) * 4 },
  { "sigmoid", "84", "84", 0, 0 },
  { "linear", "84", "10", 84 * 10, (84 * 10 + 10) * 4 },
}

-- description lines of the layers, read from the file itself
local layer_lines = {}
do
  local in_layers = false
  for n, l in ipairs(A.lines(A.read(root .. "/models/lenet5.lua"))) do
    if l:match("^%s*layers%s*=%s*{") then in_layers = true
    elseif in_layers and l:match("^%s*{%s*type%s*=") then layer_lines[#layer_lines + 1] = n end
  end
end

--- Parse the table: header columns and rows (split on runs of spaces, positions from the header).
local function parse_table(text)
  local lines = A.lines(text)
  local header_i
  for i, l in ipairs(lines) do
    if l:match("^layer%s+type") then header_i = i break end
  end
  if not header_i then return nil end
  local header = lines[header_i]
  local cols = {}
  for start, name in header:gmatch("()(%S+)") do
    cols[#cols + 1] = { name = name, start = start }
  end
  -- a column name may hold a space ("weights B"): merge a one-letter unit into its column
  local merged = {}
  for _, c in ipairs(cols) do
    if #c.name == 1 and c.name:match("%u") and #merged > 0 then
      merged[#merged].name = merged[#merged].name .. " " .. c.name
    else
      merged[#merged + 1] = c
    end
  end
  cols = merged
  local rows = {}
  for i = header_i + 1, #lines do
    local l = lines[i]
    if not l:match("^%d") then break end
    local row = {}
    for k, c in ipairs(cols) do
      local stop = cols[k + 1] and cols[k + 1].start - 1 or #l
      row[c.name] = (l:sub(c.start, stop):match("^%s*(.-)%s*$"))
    end
    rows[#rows + 1] = row
  end
  return cols, rows, lines
end

local function explain(args, cwd)
  return A.lenetgen("--explain " .. args, cwd)
end

for _, options in ipairs({ "", "--unroll=none --plan=layered", "--unroll=full" }) do
  local tag = options == "" and "defaults" or options
  local code, out, err = explain("models/lenet5.lua " .. options, root)
  check(code == 0 and err == "", "f: [" .. tag .. "] --explain exits 0 without messages", err)
  check(out:find("lenet5", 1, true) and out:find("1x28x28", 1, true),
    "f: [" .. tag .. "] the first line names the model and its input", out:match("[^\n]*"))
  local cols, rows = parse_table(out)
  if check(cols ~= nil, "f: [" .. tag .. "] prints a layer table with a header row", out) then
    local names = {}
    for _, c in ipairs(cols) do names[c.name] = true end
    local need = { "layer", "type", "line", "kernel", "stride", "pad", "input", "output", "MACs", "weights B",
                   "step", "unroll", "writes" }
    local missing = {}
    for _, n in ipairs(need) do if not names[n] then missing[#missing + 1] = n end end
    check(#missing == 0, "f: [" .. tag .. "] the table has the columns " .. table.concat(need, ", "),
      "missing: " .. table.concat(missing, ", "))
    check(#rows == 12, "f: [" .. tag .. "] one row per layer (12)", #rows)
    local bad = {}
    for i, e in ipairs(EXPECTED) do
      local r = rows[i] or {}
      local function want(col, v)
        if tostring(r[col]) ~= tostring(v) then
          bad[#bad + 1] = string.format("layer %d %s: %s, expected %s", i - 1, col, tostring(r[col]), tostring(v))
        end
      end
      want("layer", i - 1)
      want("type", e[1])
      want("line", layer_lines[i])
      want("input", e[2])
      want("output", e[3])
      want("MACs", e[4])
      want("weights B", e[5])
      if e[6] then want("kernel", e[6]); want("stride", e[7]); want("pad", e[8]) end
    end
    check(#bad == 0, "f: [" .. tag .. "] lines, attributes, shapes, MACs and weight bytes of every layer are right",
      table.concat(bad, "\n"))

    -- totals
    local macs, wbytes, params = 0, 0, 0
    for _, e in ipairs(EXPECTED) do macs = macs + e[4]; wbytes = wbytes + e[5] end
    params = wbytes // 4
    local total = out:match("\ntotal:[^\n]*") or ""
    check(total:find(params .. " parameters", 1, true) and total:find(wbytes .. " bytes of weights", 1, true)
      and total:find(macs .. " MACs", 1, true), "f: [" .. tag .. "] the total line: " .. params .. " parameters, "
      .. wbytes .. " bytes of weights, " .. macs .. " MACs", total)

    -- buffers: against the generated code's manifest for the same options
    local dir = A.tmpdir()
    A.lenetgen("models/lenet5.lua -o " .. q(dir) .. " " .. options, root)
    local c = A.read(dir .. "/lenet5.c") or ""
    local h = A.read(dir .. "/lenet5.h") or ""
    local act = tonumber(h:match("#define LENET5_ACTIVATION_BYTES%s+(%d+)"))
    check(act and total:find(act .. " bytes of activation memory", 1, true),
      "f: [" .. tag .. "] activation memory in the table equals LENET5_ACTIVATION_BYTES (" .. tostring(act) .. ")", total)
    local steps = {}
    for n, first, last, where in c:gmatch("\n %*   step (%d+)%s+layers (%d+)%-(%d+) %-> (%S+)") do
      steps[tonumber(n)] = { first = tonumber(first), last = tonumber(last), where = where }
    end
    local mism = {}
    local ranges = {}
    for i, r in ipairs(rows) do
      local s = steps[tonumber(r.step)]
      if not s then
        mism[#mism + 1] = "layer " .. (i - 1) .. ": step " .. tostring(r.step) .. " not in the manifest"
      elseif i - 1 == s.last then
        if r.writes ~= s.where then
          mism[#mism + 1] = string.format("layer %d writes %s, the manifest's step %s writes %s", i - 1, r.writes,
            r.step, s.where)
        end
        local lo, hi = r.writes:match("scratch%[(%d+)%.%.(%d+)%]")
        ranges[tonumber(r.step)] = lo and { tonumber(lo), tonumber(hi) } or "io"
      elseif r.writes ~= "(fused)" then
        mism[#mism + 1] = string.format("layer %d inside step %s writes %s", i - 1, r.step, r.writes)
      end
    end
    check(#mism == 0 and next(steps) ~= nil, "f: [" .. tag .. "] the buffer of each step matches the manifest's arena map",
      table.concat(mism, "\n"))
    -- each step reads its predecessor's buffer: the two must not overlap
    local overlaps = {}
    for n = 2, #ranges do
      local a, b = ranges[n - 1], ranges[n]
      if type(a) == "table" and type(b) == "table" and a[1] <= b[2] and b[1] <= a[2] then
        overlaps[#overlaps + 1] = string.format("step %d writes [%d..%d] while reading [%d..%d]", n, b[1], b[2], a[1], a[2])
      end
    end
    check(#overlaps == 0, "f: [" .. tag .. "] no step's output overlaps its input", table.concat(overlaps, "\n"))
  end
end

-- --explain writes nothing: neither into -o nor into the default "out" of the working directory
do
  local cwd = A.tmpdir()
  os.execute("mkdir -p " .. q(cwd .. "/given"))
  A.write(cwd .. "/given/lenet5.c", "stale\n")
  os.execute("touch -d '2001-02-03 04:05:06' " .. q(cwd .. "/given/lenet5.c"))
  local _, before = A.run("cd " .. q(cwd) .. " && find . -exec ls -ld --full-time {} + | sort")
  local code1 = explain(q(root .. "/models/lenet5.lua") .. " -o given", cwd)
  local code2 = explain(q(root .. "/models/lenet5.lua"), cwd)
  local code3 = explain(q(root .. "/models/lenet5.lua") .. " --unroll=full -o given", cwd)
  local _, after = A.run("cd " .. q(cwd) .. " && find . -exec ls -ld --full-time {} + | sort")
  check(code1 == 0 and code2 == 0 and code3 == 0, "f: --explain succeeds with and without -o")
  check(before == after, "f: --explain creates, changes and touches no file", before .. "\n---\n" .. after)
end

-- errors are reported like in generation, nothing on stdout
do
  local d = A.tmpdir()
  A.write(d .. "/bad.lua", A.read(root .. "/models/lenet5.lua"):gsub("kernel = 5, padding = 2", "kernal = 5, padding = 2", 1))
  local code, out, err = explain("bad.lua --random-weights 1", d)
  check(code == 1 and out == "" and err:match("^bad%.lua:%d+: error:") ~= nil,
    "f: --explain on a description with a typo exits 1 with file:line: error", err)
end

-- --unroll=none cannot fuse: the fallback to a stored convolution output is said on stderr
-- and in the table, never silent; --plan=layered (asked for) and kernel (fused) say nothing
do
  local function note(pool, pool_line, conv, shape)
    return string.format("layer %d (avgpool2d) is not fused with layer %d (conv2d): unroll level none has "
      .. "no fused kernel, so the convolution's %s output is stored (to fuse, use --unroll=kernel or "
      .. "unroll = \"kernel\" on layer %d; --plan=layered asks for this plan)", pool, conv, shape, conv),
      pool_line
  end
  local n1, l1 = note(2, layer_lines[3], 0, "6x28x28")
  local n2, l2 = note(5, layer_lines[6], 3, "16x10x10")
  local code, out, err = explain("models/lenet5.lua --unroll=none", root)
  check(code == 0 and err == string.format("models/lenet5.lua:%d: note: %s\nmodels/lenet5.lua:%d: note: %s\n",
    l1, n1, l2, n2), "f: --unroll=none --plan=fused names each pooling it cannot fuse on stderr", err)
  check(out:find("note: line " .. l1 .. ": " .. n1, 1, true) and out:find("note: line " .. l2 .. ": " .. n2, 1, true),
    "f: --explain lists the same notes under the table", out)
  local d = A.tmpdir()
  local gcode, _, gerr = A.lenetgen(q(root .. "/models/lenet5.lua") .. " --unroll=none -o " .. q(d), d)
  check(gcode == 0 and select(2, gerr:gsub(": note: ", "")) == 2 and A.read(d .. "/lenet5.c") ~= nil,
    "f: generation at none prints the notes and still writes the files", gerr)
  for _, options in ipairs({ "--unroll=none --plan=layered", "--unroll=kernel" }) do
    local c2, _, e2 = explain("models/lenet5.lua " .. options, root)
    check(c2 == 0 and e2 == "", "f: [" .. options .. "] no note where the plan is the one asked for", e2)
  end
end

-- Before training (issue 16 item 2): shapes, MACs and memory do not depend on weight values,
-- so --explain works when the weights file does not exist, and says so once on stderr (a
-- note, as for every other choice) and under the table. The table is the one it prints with
-- the weights. A file that exists but is broken is still an error (tests/broken/desc/
-- explain_weights_*), and generating without the weights still fails.
do
  local d = A.tmpdir()
  local src = A.read(root .. "/models/lenet5.lua")
  A.write(d .. "/lenet5.lua", src)
  local weights_line
  for n, l in ipairs(A.lines(src)) do
    if l:match("^%s*weights%s*=") then weights_line = n end
  end
  local text = "weights \"lenet5.safetensors\" not found (looked for sub/../lenet5.safetensors); --explain does "
    .. "not need it: shapes, MACs and memory do not depend on weight values"
  os.execute("mkdir -p " .. q(d .. "/sub"))
  local code, out, err = explain("sub/../lenet5.lua", d)
  check(code == 0 and err == string.format("sub/../lenet5.lua:%d: note: %s\n", weights_line, text),
    "f: --explain without the weights file exits 0 with one note naming the file it looked for", err)
  local _, with_weights = explain("models/lenet5.lua", root)
  local expected = with_weights:gsub("^models/lenet5%.lua:", "sub/../lenet5.lua:")
    :gsub("\ntotal:", "\nnote: line " .. weights_line .. ": " .. text:gsub("%%", "%%%%") .. "\ntotal:")
  check(out == expected, "f: --explain without the weights file prints the same table, the note under it",
    out .. "---\n" .. expected)
  local gcode, gout, gerr = A.lenetgen("lenet5.lua -o out", d)
  check(gcode == 1 and gout == "" and gerr:match("^lenet5%.lua:%d+: error: weights \"lenet5%.safetensors\": "
    .. "cannot open: no such file or directory\n$") ~= nil and not A.read(d .. "/out/lenet5.c"),
    "f: generation without the weights file is still an error", gerr)
  -- a dangling link is not "no file": it is opened and refused
  os.execute("ln -s nowhere.safetensors " .. q(d .. "/lenet5.safetensors"))
  local lcode, lout, lerr = explain("lenet5.lua", d)
  check(lcode == 1 and lout == "" and lerr:match("^lenet5%.lua:%d+: error: weights \"lenet5%.safetensors\": "
    .. "cannot open: no such file or directory\n$") ~= nil,
    "f: --explain with a dangling link as the weights file is an error", lerr)
  -- no weights field at all: the note has no line
  A.write(d .. "/noweights.lua", (src:gsub("\n%s*weights%s*=[^\n]*", "", 1)))
  local ncode, nout, nerr = explain("noweights.lua", d)
  local ntext = "the description names no weights file; --explain does not need it: shapes, MACs and memory "
    .. "do not depend on weight values"
  check(ncode == 0 and nerr == "noweights.lua: note: " .. ntext .. "\n"
    and nout:find("\nnote: " .. ntext .. "\ntotal: 61706 parameters", 1, true) ~= nil,
    "f: --explain of a description without a weights field exits 0 with a note", nerr .. nout)
end

A.finish()
