--- Splitting a large generated source over several translation units, so that
-- each compiles in bounded memory (LeNet-5 at --unroll=full is about 19 MB of
-- C: 1.7-2.2 GB of compiler memory in one file, under 0.5 GB per 4 MB part).
-- Cuts fall between functions, never inside one: the step functions the
-- emitter collects go, in order, into parts of at most `limit` bytes each (a
-- function larger than that alone gets a part of its own). <name>.c keeps the
-- weights and the entry points. A function keeps internal linkage unless
-- another translation unit calls it; then it is declared in
-- <name>_internal.h. The weights get external linkage (the parts read them).
-- Every such name starts with <name>_layer<N>_ (unique within a network, and
-- the harness localises them by that prefix).
local M = {}

-- the automatic limit at --unroll=full (gcc, clang and arm-none-eabi-gcc
-- compile a 4 MiB part of LeNet-5 in under 0.5 GB)
M.AUTO_BYTES = 4 * 1024 * 1024

--- The part size for this run, or nil for one file.
-- @param split_bytes nil (automatic: AUTO_BYTES when a step is unrolled fully),
--   0 (one file) or a positive number of bytes
-- @param any_full whether some step is unrolled fully
function M.limit(split_bytes, any_full)
  if split_bytes == nil then return any_full and M.AUTO_BYTES or nil end
  if split_bytes == 0 then return nil end
  return split_bytes
end

--- Name and parameter list of a step function's text.
local function signature(text)
  local name, params = text:match("^static void ([%a_][%w_]*)(%b())\n{")
  assert(name, "a step function does not start with 'static void name(...)'")
  return name, params
end

--- Distribute the steps' functions over parts.
-- @param groups list, in step order, of { comment = text, functions = { text... } }
-- @param limit bytes of functions in one part, unless one function alone is larger
-- @return list of parts, each a list of { text, name, params, comment = the
--   step's comment before its first function, else nil }
function M.assign(groups, limit)
  local parts, current, bytes = {}, nil, 0
  for _, group in ipairs(groups) do
    for i, text in ipairs(group.functions) do
      local comment = (i == 1) and group.comment or nil
      local size = #text + (comment and #comment or 0)
      if current == nil or bytes + size > limit then
        current, bytes = {}, 0
        parts[#parts + 1] = current
      end
      local name, params = signature(text)
      current[#current + 1] = { text = text, name = name, params = params, comment = comment }
      bytes = bytes + size
    end
  end
  return parts
end

--- Mark `external` every function that another translation unit calls: the
-- entry points call `called_from_main`; a step's dispatcher may call
-- functions that went into an earlier part.
-- @param prefix what every step function's name starts with (<name>_layer)
function M.link(parts, called_from_main, prefix)
  local part_of, by_name = {}, {}
  for k, part in ipairs(parts) do
    for _, f in ipairs(part) do part_of[f.name], by_name[f.name] = k, f end
  end
  for _, name in ipairs(called_from_main) do by_name[name].external = true end
  local call = "(" .. prefix:gsub("%p", "%%%0") .. "[%w_]*)%("
  for k, part in ipairs(parts) do
    for _, f in ipairs(part) do
      for callee in f.text:gmatch(call) do
        if part_of[callee] and part_of[callee] ~= k then by_name[callee].external = true end
      end
    end
  end
end

--- A function's text with the linkage the split gives it.
function M.function_text(f)
  if f.external then return (f.text:gsub("^static ", "", 1)) end
  return f.text
end

--- The prototypes of every external function, for <name>_internal.h.
function M.prototypes(parts)
  local lines = {}
  for _, part in ipairs(parts) do
    for _, f in ipairs(part) do
      if f.external then lines[#lines + 1] = string.format("void %s%s;", f.name, f.params) end
    end
  end
  return table.concat(lines, "\n")
end

--- A weight array of lg.carray with external linkage, and its declaration.
-- @return definition text, "extern const float name[..];"
function M.external_weight(text)
  local definition, n = text:gsub("\nstatic const float ", "\nconst float ", 1)
  local name, dims = definition:match("\nconst float ([%a_][%w_]*)([%[%]%d]+) = {")
  assert(n == 1 and name, "a weight array does not read 'static const float name[..] = {'")
  return definition, string.format("extern const float %s%s;", name, dims)
end

--- File names of a split network, in the order they are listed.
function M.file_names(name, count)
  local names = { name .. ".c" }
  for k = 1, count do names[k + 1] = string.format("%s_part%d.c", name, k) end
  return names
end

return M
