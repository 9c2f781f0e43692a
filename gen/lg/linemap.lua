--- Where each field of a description was written.
-- Lua does not record the line of a table constructor, yet a model owner needs
-- "models/x.lua:14" for a mistake in layer 4. This module tokenizes the
-- description (strings, long brackets and comments skipped properly) and walks
-- its table constructors, recording the line of every keyed field and every
-- positional entry under a path such as "layers.4.kernel". It only reads
-- literal constructors; a description that computes its tables still loads, its
-- messages just point at the nearest line that is known.
local M = {}

--- Tokens of a Lua chunk: { kind = "name"|"string"|"number"|"symbol"|"eof", text, line }.
local function tokenize(src)
  local tokens, pos, line, n = {}, 1, 1, #src
  local function push(kind, text, at_line)
    tokens[#tokens + 1] = { kind = kind, text = text, line = at_line }
  end
  local function skip_long_bracket(start)
    -- start points at the first '['; returns the position after the closing bracket
    local eq = src:match("^%[(=*)%[", start)
    if not eq then return nil end
    local close = "]" .. eq .. "]"
    local body_start = start + #eq + 2
    local stop = src:find(close, body_start, true)
    local finish = stop and (stop + #close) or (n + 1)
    local body = src:sub(start, finish - 1)
    local _, newlines = body:gsub("\n", "")
    line = line + newlines
    return finish
  end
  while pos <= n do
    local c = src:sub(pos, pos)
    if c == "\n" then
      line, pos = line + 1, pos + 1
    elseif c:match("%s") then
      pos = pos + 1
    elseif src:sub(pos, pos + 1) == "--" then
      local after = skip_long_bracket(pos + 2)
      if after then
        pos = after
      else
        local eol = src:find("\n", pos, true)
        pos = eol or (n + 1)
      end
    elseif c:match("[%a_]") then
      local word = src:match("^[%w_]+", pos)
      push("name", word, line)
      pos = pos + #word
    elseif c:match("%d") or (c == "." and src:sub(pos + 1, pos + 1):match("%d")) then
      local num = src:match("^0[xX][%x%.]*[pP]?[%+%-]?%x*", pos)
        or src:match("^%d*%.?%d*[eE][%+%-]?%d+", pos)
        or src:match("^%d*%.?%d*", pos)
      push("number", num, line)
      pos = pos + math.max(#num, 1)
    elseif c == '"' or c == "'" then
      local start_line = line
      local i = pos + 1
      while i <= n do
        local d = src:sub(i, i)
        if d == "\\" then
          if src:sub(i + 1, i + 1) == "\n" then line = line + 1 end
          i = i + 2
        elseif d == c or d == "\n" then
          break
        else
          i = i + 1
        end
      end
      push("string", src:sub(pos, i), start_line)
      pos = i + 1
    elseif c == "[" and src:match("^%[=*%[", pos) then
      local start_line = line
      local after = skip_long_bracket(pos)
      push("string", src:sub(pos, after - 1), start_line)
      pos = after
    else
      local sym = src:match("^%.%.%.", pos) or src:match("^[=~<>]=", pos)
        or src:match("^%.%.", pos) or src:match("^::", pos) or src:match("^//", pos)
        or src:match("^<<", pos) or src:match("^>>", pos) or c
      push("symbol", sym, line)
      pos = pos + #sym
    end
  end
  push("eof", "", line)
  return tokens
end

--- Walk the constructor starting at tokens[i] == "{" and record paths.
-- Returns the index just after the matching "}".
local function walk_constructor(tokens, i, path, lines)
  lines[path] = lines[path] or tokens[i].line
  i = i + 1
  local positional = 0
  local prefix = (path == "") and "" or (path .. ".")
  while tokens[i].kind ~= "eof" and tokens[i].text ~= "}" do
    local key
    if tokens[i].kind == "name" and tokens[i + 1].text == "=" and tokens[i + 1].kind == "symbol" then
      key = tokens[i].text
      lines[prefix .. key] = tokens[i].line
      i = i + 2
    else
      positional = positional + 1
      key = tostring(positional)
      lines[prefix .. key] = tokens[i].line
    end
    -- skip the value expression up to the next separator at this depth,
    -- descending into constructors that are direct values
    local depth = 0
    while tokens[i].kind ~= "eof" do
      local t = tokens[i]
      if t.kind == "symbol" and depth == 0 and (t.text == "," or t.text == ";" or t.text == "}") then
        break
      end
      if t.kind == "symbol" and t.text == "{" and depth == 0 then
        i = walk_constructor(tokens, i, prefix .. key, lines)
      else
        if t.kind == "symbol" and (t.text == "(" or t.text == "[" or t.text == "{") then
          depth = depth + 1
        elseif t.kind == "symbol" and (t.text == ")" or t.text == "]" or t.text == "}") then
          depth = depth - 1
        end
        i = i + 1
      end
    end
    if tokens[i].text == "," or tokens[i].text == ";" then i = i + 1 end
  end
  return i + 1
end

--- Map every field path of the returned table constructor to its line.
-- @param src the description's source text
-- @return table path -> line ("" is the root table, "layers.3.kernel" a field)
function M.build(src)
  local ok, lines = pcall(function()
    local tokens = tokenize(src)
    local result = {}
    -- the root is the constructor right after the last top-level `return`
    local root
    for i = #tokens, 1, -1 do
      if tokens[i].kind == "name" and tokens[i].text == "return" and tokens[i + 1].text == "{" then
        root = i + 1
        break
      end
    end
    if root then walk_constructor(tokens, root, "", result) end
    return result
  end)
  return ok and lines or {}
end

--- Line of a path, falling back to the nearest recorded ancestor.
function M.lookup(lines, path)
  while true do
    if lines[path] then return lines[path] end
    if path == "" then return nil end
    path = path:match("^(.*)%.[^.]*$") or ""
  end
end

return M
