--- A weight tensor as a C array initialiser: innermost rows wrapped at 8
-- values a line, so a changed weight changes one short line of the diff.
local render = require("lg.render")

local M = {}

local function dims(shape)
  local parts = {}
  for i, n in ipairs(shape) do parts[i] = string.format("[%d]", n) end
  return table.concat(parts)
end

--- Values of a 1-D tensor, 8 to a line.
local function vector_lines(w, data, format)
  for i = 1, #data, 8 do
    local values = {}
    for j = i, math.min(i + 7, #data) do values[#values + 1] = format(data[j]) end
    w.line("    %s%s", table.concat(values, ", "), (i + 8 <= #data) and "," or "")
  end
end

--- Number of dimensions 2..#shape-1 whose block starts (or ends) at `at`.
local function blocks_at(at, outer_sizes, rank)
  local n = 0
  for d = 2, rank - 1 do
    if at % outer_sizes[d] == 0 then n = n + 1 end
  end
  return n
end

--- One innermost row: the braces of every outer dimension it opens or closes.
local function row_lines(w, data, start, inner, outer_sizes, rank, format)
  local opened = blocks_at(start, outer_sizes, rank)
  local values = {}
  for i = 1, inner do values[i] = format(data[start + i]) end
  local chunks = {}
  for i = 1, #values, 8 do
    chunks[#chunks + 1] = table.concat(values, ", ", i, math.min(i + 7, #values))
  end
  local stop = start + inner
  local tail = string.rep("}", blocks_at(stop, outer_sizes, rank)) .. ((stop < #data) and "," or "")
  local indent = string.rep(" ", 4 + rank - 1 - opened)
  local opens = string.rep("{", opened)
  if #chunks == 1 then
    w.line("%s%s{ %s }%s", indent, opens, chunks[1], tail)
  else
    w.line("%s%s{", indent, opens)
    for i, chunk in ipairs(chunks) do w.line("%s    %s%s", indent, chunk, i < #chunks and "," or "") end
    w.line("%s}%s", indent, tail)
  end
end

--- `static const float cname[..]... = { ... };` preceded by /* comment */.
-- @param w a writer from render.writer
-- @param ctype, format optional: the element type and value formatter
--   (default float and render.float; int8 weights pass "int8_t", tostring)
function M.weight_array(w, cname, tensor, comment, ctype, format)
  format = format or render.float
  w.line("/* %s */", comment)
  w.line("static const %s %s%s = {", ctype or "float", cname, dims(tensor.shape))
  local shape, data = tensor.shape, tensor.data
  if #shape == 1 then
    vector_lines(w, data, format)
  else
    local inner = shape[#shape]
    local outer_sizes = {}  -- product of trailing dims, to know when to open/close braces
    local prod = 1
    for i = #shape, 1, -1 do
      prod = prod * shape[i]
      outer_sizes[i] = prod
    end
    for r = 0, #data // inner - 1 do row_lines(w, data, r * inner, inner, outer_sizes, #shape, format) end
  end
  w.line("};")
  return w.text()
end

return M
