--- Sizes of the generator's Lua: lines per module and per function.
-- usage: lua5.4 tests/unit/sizes.lua [gen/lenetgen gen/lg/*.lua ...]
-- As a module: require("sizes").functions(path) -> { {name, first, lines} },
-- .lines(path) -> n. A function runs from the line that opens it (`function`
-- at the start of a statement, or `= function(` / `, function(` ending a line)
-- to the first later line holding only `end` (or `end)`, `end,` ...) at the
-- same indentation: the project's layout, which the style keeps.
local M = {}

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do lines[#lines + 1] = line end
  return lines
end

function M.lines(path)
  return #read_lines(path)
end

function M.functions(path)
  local lines = read_lines(path)
  local found = {}
  for i, line in ipairs(lines) do
    local indent, name = line:match("^(%s*)local function ([%w_.:]+)")
    if not indent then indent, name = line:match("^(%s*)function ([%w_.:]+)") end
    if not indent and line:match("function%s*%b()%s*$") then
      indent, name = line:match("^(%s*)"), ("anonymous at line " .. i)
    end
    if indent and not line:match("%f[%w]end%f[%W][%s%),]*$") then
      for j = i + 1, #lines do
        if lines[j]:match("^" .. indent .. "end[%s%),;]*$") then
          found[#found + 1] = { name = name, first = i, lines = j - i + 1 }
          break
        end
      end
    end
  end
  return found
end

if arg and arg[0] and arg[0]:match("sizes%.lua$") then
  local longest_fn, longest_mod = { lines = 0 }, { lines = 0 }
  for _, path in ipairs(arg) do
    local n = M.lines(path)
    if n > longest_mod.lines then longest_mod = { path = path, lines = n } end
    for _, f in ipairs(M.functions(path)) do
      if f.lines > longest_fn.lines then longest_fn = { path = path, name = f.name, first = f.first, lines = f.lines } end
      if f.lines > 80 then print(string.format("%s:%d: function %s has %d lines", path, f.first, f.name, f.lines)) end
    end
    if n > 450 then print(string.format("%s: module has %d lines", path, n)) end
  end
  print(string.format("longest module %s (%d lines); longest function %s in %s:%d (%d lines)", longest_mod.path,
    longest_mod.lines, longest_fn.name, longest_fn.path, longest_fn.first or 0, longest_fn.lines))
end

return M
