--- Where each field of a description was written.
-- Lua does not record the line of a table constructor, yet a model owner needs
-- "models/x.lua:14" for a mistake in layer 4. This module tokenizes the
-- description (strings, long brackets and comments skipped properly) and walks
-- its table constructors, recording the line of every keyed field and every
-- positional entry under a path such as "layers.4.kernel". It only reads
-- literal constructors; a description that computes its tables still loads, its
-- messages just point at the nearest line that is known.
local M = {}

local literal_key

--- Tokens of a Lua chunk: { kind = "name"|"string"|"number"|"symbol"|"eof", text, line }.
-- Dispatches on byte codes and skips runs with string.find: a description of
-- the maximum size (lg.load) tokenizes in a fraction of a second.
local B_NL, B_CR, B_DASH, B_QUOTE, B_APOS, B_BSL, B_LBRACKET, B_DOT = 10, 13, 45, 34, 39, 92, 91, 46
-- symbols that never start a longer one
local SINGLE = {}
for ch in ("{}(),;+*%^#&|[]"):gmatch(".") do SINGLE[ch:byte()] = ch end

-- Line breaks as Lua's lexer counts them: \n, \r, \r\n and \n\r are one each.
-- Returns the position after the break at i.
local function skip_break(src, i)
  local c, d = string.byte(src, i), string.byte(src, i + 1)
  if (d == B_NL or d == B_CR) and d ~= c then return i + 2 end
  return i + 1
end

local function count_newlines(src, a, b)
  local k, i = 0, string.find(src, "[\n\r]", a)
  while i and i <= b do
    k = k + 1
    i = string.find(src, "[\n\r]", skip_break(src, i))
  end
  return k
end

-- A quoted string opened at start by the quote c: the position of its
-- closing quote (#src + 1 when unterminated) and the line breaks escaped inside.
local function quoted_end(src, start, c)
  local i, breaks = start + 1, 0
  local stop_set = c == B_QUOTE and '[\\"\n\r]' or "[\\'\n\r]"
  while true do
    i = string.find(src, stop_set, i)
    if not i then return #src + 1, breaks end
    if string.byte(src, i) ~= B_BSL then return i, breaks end
    local e = string.byte(src, i + 1)
    if e == B_NL or e == B_CR then
      breaks = breaks + 1
      i = skip_break(src, i + 1)
    else
      i = i + 2
    end
  end
end

local function tokenize(src)
  local tokens, pos, line, n = {}, 1, 1, #src
  local byte, find, sub, match = string.byte, string.find, string.sub, string.match
  local function push(kind, text, at_line)
    tokens[#tokens + 1] = { kind = kind, text = text, line = at_line }
  end
  local function skip_long_bracket(start)
    -- start points at the first '['; returns the position after the closing bracket
    local eq = match(src, "^%[(=*)%[", start)
    if not eq then return nil end
    local close = "]" .. eq .. "]"
    local stop = find(src, close, start + #eq + 2, true)
    local finish = stop and (stop + #close) or (n + 1)
    line = line + count_newlines(src, start, finish - 1)
    return finish
  end
  while pos <= n do
    local c = byte(src, pos)
    if c == B_NL or c == B_CR then
      line, pos = line + 1, skip_break(src, pos)
    elseif c == 32 or c == 9 or c == 11 or c == 12 then
      pos = (find(src, "[^ \t\v\f]", pos + 1)) or (n + 1)
    elseif c == B_DASH and byte(src, pos + 1) == B_DASH then
      local after = byte(src, pos + 2) == B_LBRACKET and skip_long_bracket(pos + 2)
      if after then
        pos = after
      else
        pos = (find(src, "[\n\r]", pos)) or (n + 1)
      end
    elseif (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or c == 95 then
      local word = match(src, "^[%w_]+", pos)
      push("name", word, line)
      pos = pos + #word
    elseif (c >= 48 and c <= 57) or (c == B_DOT and find(src, "^%d", pos + 1)) then
      local num = match(src, "^0[xX][%x%.]*[pP]?[%+%-]?%x*", pos)
        or match(src, "^%d*%.?%d*[eE][%+%-]?%d+", pos)
        or match(src, "^%d*%.?%d*", pos)
      push("number", num, line)
      pos = pos + math.max(#num, 1)
    elseif c == B_QUOTE or c == B_APOS then
      local start_line = line
      local i, breaks = quoted_end(src, pos, c)
      line = line + breaks
      push("string", sub(src, pos, i), start_line)
      pos = i + 1
    elseif c == B_LBRACKET and find(src, "^%[=*%[", pos) then
      local start_line = line
      local after = skip_long_bracket(pos)
      push("string", sub(src, pos, after - 1), start_line)
      pos = after
    else
      local sym = SINGLE[c]
      if not sym then
        sym = match(src, "^%.%.%.", pos) or match(src, "^[=~<>]=", pos)
          or match(src, "^%.%.", pos) or match(src, "^::", pos) or match(src, "^//", pos)
          or match(src, "^<<", pos) or match(src, "^>>", pos) or string.char(c)
      end
      push("symbol", sym, line)
      pos = pos + #sym
    end
  end
  push("eof", "", line)
  return tokens
end
M.tokenize = tokenize

--- The key a literal token denotes in `[token] =`, as text, or nil.
literal_key = function(token)
  if token.kind == "number" then
    local n = tonumber(token.text)
    n = n and (math.tointeger(n) or n)
    return n and tostring(n)
  elseif token.kind == "string" and token.text:match("^[\"'][%w_%.]*[\"']$") then
    return token.text:sub(2, -2)
  end
  return nil
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
    elseif tokens[i].text == "[" and tokens[i].kind == "symbol" and tokens[i + 2].text == "]"
        and tokens[i + 3].text == "=" and literal_key(tokens[i + 1]) then
      -- [3] = ... or ["name"] = ...
      key = literal_key(tokens[i + 1])
      lines[prefix .. key] = tokens[i].line
      i = i + 4
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
-- @param tokens optional result of M.tokenize(src), to tokenize only once
-- @return table path -> line ("" is the root table, "layers.3.kernel" a field)
function M.build(src, tokens)
  local ok, lines = pcall(function()
    tokens = tokens or tokenize(src)
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
