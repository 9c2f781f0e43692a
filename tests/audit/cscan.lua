--- A scanner for the index expressions of generated C (tests/audit/test_indices.lua).
-- It is not a C parser: it knows the shapes the generator emits and fails loudly on
-- anything else (an unknown identifier in an index is a finding, not a skip).
--
-- scan(text) -> list of findings { line =, level =, kind =, text = }
-- Rules, per function, by the unroll level the step comment before it states
-- ("unroll full|kernel|none"; code outside any step counts as full):
--   full:         no for loop; every subscript and pointer offset is an integer literal
--   kernel, none: every subscript and pointer offset is an affine expression (integer
--                 literals, +, -, *, parentheses; no product of two variables; / only by
--                 a positive integer literal, as in a grouped input channel oc / 2) of the
--                 loop variables of the for loops that enclose it
--   declarations: array dimensions are integer literals, upper-case macros or the C99
--                 static-assertion form (C) ? 1 : -1
local M = {}

--- Blank out comments, keeping line structure; drop preprocessor lines.
local function strip(text)
  text = text:gsub("/%*.-%*/", function(c) return (c:gsub("[^\n]", " ")) end)
  text = text:gsub("//[^\n]*", "")
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:match("^%s*#") then out[#out + 1] = "" else out[#out + 1] = line end
  end
  return table.concat(out, "\n")
end

--- Tokens with their line numbers (the text starts on line first_line).
local function tokenize(text, first_line)
  local toks = {}
  local i, line, n = 1, first_line or 1, #text
  while i <= n do
    local c = text:sub(i, i)
    if c == "\n" then
      line = line + 1
      i = i + 1
    elseif c:match("%s") then
      i = i + 1
    elseif c:match("[%a_]") then
      local s, e = text:find("^[%w_]+", i)
      toks[#toks + 1] = { t = "id", v = text:sub(s, e), line = line }
      i = e + 1
    elseif c:match("%d") or (c == "." and text:sub(i + 1, i + 1):match("%d")) then
      -- number: hex float, float or integer with suffixes
      local s, e = text:find("^0[xX][%x%.]+[pP][%+%-]?%d+[fFlL]?", i)
      if not s then s, e = text:find("^%d*%.?%d*[eE][%+%-]?%d+[fFlL]?", i) end
      if not s then s, e = text:find("^%d*%.%d*[fFlL]?", i) end
      if not s then s, e = text:find("^0[xX]%x+[uUlL]*", i) end
      if not s then s, e = text:find("^%d+[uUlL]*", i) end
      local v = text:sub(s, e)
      local is_int = v:match("^%d+$") ~= nil
      toks[#toks + 1] = { t = is_int and "int" or "num", v = v, line = line }
      i = e + 1
    else
      local two = text:sub(i, i + 1)
      if two == "++" or two == "--" or two == "+=" or two == "-=" or two == "*=" or two == "/=" or two == "==" or
        two == "<=" or two == ">=" or two == "!=" or two == "&&" or two == "||" or two == "->" or two == "<<" or
        two == ">>" then
        toks[#toks + 1] = { t = "op", v = two, line = line }
        i = i + 2
      else
        toks[#toks + 1] = { t = "op", v = c, line = line }
        i = i + 1
      end
    end
  end
  return toks
end

--- Affine check of tokens[a..b]: returns ok, reason. vars: set of loop variables;
-- consts: named constants (const int x = literal) -- counted as non-literal.
local function affine(toks, a, b, vars, consts, tables)
  local pos = a
  local reason
  local expr
  local function peek() return toks[pos] end
  local function factor()
    local t = peek()
    if not t or pos > b then reason = "expression ends early" return nil end
    if t.t == "int" then pos = pos + 1 return 0 end
    if t.t == "id" then
      pos = pos + 1
      if vars[t.v] then return 1 end
      if tables and tables[t.v] and toks[pos] and toks[pos].v == "[" and pos <= b then
        -- a lookup in a static const int table of the function (window bounds at
        -- --unroll=none), itself indexed by an affine expression: counts as a variable
        local lv, j = 1, pos + 1
        while j <= b and lv > 0 do
          if toks[j].v == "[" then lv = lv + 1 elseif toks[j].v == "]" then lv = lv - 1 end
          j = j + 1
        end
        local ok, why = affine(toks, pos + 1, j - 2, vars, consts, nil)
        if not ok then reason = "in " .. t.v .. "[...]: " .. why return nil end
        pos = j
        return 1
      end
      if consts and consts[t.v] then
        reason = "'" .. t.v .. "' is a named constant (const int " .. t.v .. " = " .. consts[t.v]
          .. "), not an integer literal"
      else
        reason = "'" .. t.v .. "' is not a loop variable of an enclosing for"
      end
      return nil
    end
    if t.v == "(" then
      pos = pos + 1
      local d = expr()
      if d == nil then return nil end
      if not peek() or peek().v ~= ")" then reason = "unbalanced parenthesis" return nil end
      pos = pos + 1
      return d
    end
    if t.v == "-" or t.v == "+" then
      pos = pos + 1
      return factor()
    end
    reason = "'" .. t.v .. "' is not allowed in an index"
    return nil
  end
  local function term()
    local d = factor()
    while d ~= nil and pos <= b and (peek().v == "*" or peek().v == "/") do
      local op = peek().v
      pos = pos + 1
      if op == "/" then
        -- a grouped convolution's input channel (oc / multiplier): an integer
        -- literal divisor keeps the index bounded by the dividend's range
        local t = peek()
        if not (t and pos <= b and t.t == "int" and tonumber(t.v) and tonumber(t.v) > 0) then
          reason = "a divisor that is not a positive integer literal" return nil
        end
        pos = pos + 1
      else
        local d2 = factor()
        if d2 == nil then return nil end
        d = d + d2
        if d > 1 then reason = "product of two variables" return nil end
      end
    end
    return d
  end
  expr = function()
    local d = term()
    while d ~= nil and pos <= b and (peek().v == "+" or peek().v == "-") do
      pos = pos + 1
      local d2 = term()
      if d2 == nil then return nil end
      d = math.max(d, d2)
    end
    return d
  end
  local d = expr()
  if d == nil then return false, reason end
  if pos <= b then return false, "unexpected '" .. toks[pos].v .. "'" end
  return true
end

local function text_of(toks, a, b)
  local parts = {}
  for k = a, b do parts[#parts + 1] = toks[k].v end
  return table.concat(parts, " ")
end

--- Is tokens[a..b] a constant array dimension (literal, MACRO, or the static
-- assertion form (C) ? 1 : -1, C comparisons joined by && of literals,
-- upper-case macros and sizeof(type))?
local function dimension(toks, a, b)
  for k = a, b do
    local t = toks[k]
    if t.t == "id" then
      local ok = t.v:match("^[A-Z][A-Z0-9_]*$") or t.v == "sizeof" or t.v == "unsigned" or t.v == "int" or
        t.v == "float" or t.v == "char"
      if not ok then return false end
    elseif t.t == "op" then
      local ops = { ["("] = true, [")"] = true, ["=="] = true, ["<="] = true, [">="] = true, ["&&"] = true,
        ["?"] = true, [":"] = true, ["-"] = true }
      if not ops[t.v] then return false end
    elseif t.t ~= "int" then
      return false
    end
  end
  return true
end

local TYPE_WORDS = { float = true, int = true, char = true, const = true, static = true, typedef = true,
                     unsigned = true, restrict = true, void = true, double = true }

--- Scan a generated C file; returns the findings and counts { subscripts =, offsets =, loops = }.
function M.scan(raw)
  -- unroll level per line, from the step comments of the original text
  local level_at = {}
  do
    local level = "full"
    local n = 0
    for line in (raw .. "\n"):gmatch("(.-)\n") do
      n = n + 1
      local l = line:match("^ %* unroll (%a+)")
      if l then level = l end
      if line:match("^ %* Entry points") then level = "full" end
      level_at[n] = level
    end
  end
  local findings = {}
  local counts = { subscripts = 0, offsets = 0, loops = 0, dimensions = 0 }
  local function find(t, kind, msg)
    findings[#findings + 1] = { line = t.line, level = level_at[t.line] or "full", kind = kind, text = msg }
  end

  -- file-scope arrays are pointer-like everywhere; the rest is per function
  local globals = {}
  local fn = { pointers = {}, consts = {}, tables = {} }
  local function is_pointer(name) return globals[name] or fn.pointers[name] end

  local depth = 0
  local scopes = {}      -- stack of { var =, depth = } for loop variables
  local pending = nil    -- loop variable whose body has not opened yet
  --- The unroll level at a token and the loop variables an index there may use.
  local function loop_vars(t)
    local lvl = level_at[t.line] or "full"
    local vars = {}
    if lvl ~= "full" then
      for _, s in ipairs(scopes) do vars[s.var] = true end
    end
    return lvl, vars
  end
  local function open_brace()
    depth = depth + 1
    if pending then
      scopes[#scopes + 1] = { var = pending, depth = depth }
      pending = nil
    end
  end
  local function close_brace()
    while #scopes > 0 and scopes[#scopes].depth >= depth do scopes[#scopes] = nil end
    depth = depth - 1
    if depth == 0 then fn = { pointers = {}, consts = {}, tables = {} } end
  end

  local function process(toks)
  local k = 1
  while k <= #toks do
    local t = toks[k]
    -- declarations
    if t.t == "id" and not TYPE_WORDS[t.v] then
      local prev, prev2, nxt = toks[k - 1], toks[k - 2], toks[k + 1]
      if prev and nxt and (prev.v == "*" or (prev.v == "restrict" and prev2 and prev2.v == "*")) and
        (nxt.v == ")" or nxt.v == "," or nxt.v == "=" or nxt.v == ";") then
        -- "*name" in a declaration, not a multiplication: a type word or "(" precedes the '*'
        local before = (prev.v == "*") and prev2 or toks[k - 3]
        if before and (TYPE_WORDS[before.v] or before.v == "(") then fn.pointers[t.v] = true end
      elseif nxt and nxt.v == "[" and prev and TYPE_WORDS[prev.v] then
        if depth == 0 then globals[t.v] = true else fn.pointers[t.v] = true end
        if prev.v == "int" and prev2 and prev2.v == "const" then fn.tables[t.v] = true end
      elseif prev and prev.v == "int" and prev2 and prev2.v == "const" and nxt and nxt.v == "=" and
        toks[k + 2] and toks[k + 2].t == "int" then
        fn.consts[t.v] = toks[k + 2].v
      end
    end
    if t.v == "{" then
      open_brace()
    elseif t.v == "}" then
      close_brace()
    elseif t.t == "id" and t.v == "for" then
      counts.loops = counts.loops + 1
      local lvl = level_at[t.line] or "full"
      if lvl == "full" then find(t, "loop", "a for loop in code at --unroll=full") end
      -- for ( int v = ... ; ... ; ... )
      if toks[k + 1] and toks[k + 1].v == "(" and toks[k + 2] and toks[k + 2].v == "int" and toks[k + 3] and
        toks[k + 3].t == "id" then
        pending = toks[k + 3].v
      else
        find(t, "loop", "a for loop without an int loop variable declared in its header")
      end
      -- the header is scanned by the normal path (its subscripts see the new variable
      -- only inside the body; bounds such as ky_begin[oy] use outer variables)
    elseif t.v == "[" then
      -- matching bracket
      local level_n, j = 1, k + 1
      while j <= #toks and level_n > 0 do
        if toks[j].v == "[" then level_n = level_n + 1 elseif toks[j].v == "]" then level_n = level_n - 1 end
        j = j + 1
      end
      local a, b = k + 1, j - 2
      local prev = toks[k - 1]
      -- a declaration's dimension: after a declared name, after ')' of "(*name)" or "(*)"
      local is_decl = false
      do
        local m = k - 1
        while m >= 1 and toks[m].v == "]" do
          -- skip back over a previous [ ... ]
          local lv = 1
          m = m - 1
          while m >= 1 and lv > 0 do
            if toks[m].v == "]" then lv = lv + 1 elseif toks[m].v == "[" then lv = lv - 1 end
            m = m - 1
          end
        end
        local p = toks[m]
        if p and p.v == ")" then
          -- (*) or (*name)
          local q1, q2 = toks[m - 1], toks[m - 2]
          if q1 and (q1.v == "*" or (q1.t == "id" and q2 and q2.v == "*")) then is_decl = true end
        elseif p and p.t == "id" then
          local before = toks[m - 1]
          -- `*` declares a pointer after a type word, `const`, `*`, `(` or `,`; after
          -- an operand (x[c] * w[c], (a) * b) it multiplies
          local operand_before = toks[m - 2]
          local pointer = before and before.v == "*" and operand_before
            and (TYPE_WORDS[operand_before.v] or operand_before.v == "const" or operand_before.v == "*"
                 or operand_before.v == "(" or operand_before.v == ",")
          if before and (TYPE_WORDS[before.v] or pointer) then is_decl = true end
        end
      end
      if is_decl then
        counts.dimensions = counts.dimensions + 1
        if not dimension(toks, a, b) then
          find(t, "dimension", "array dimension [" .. text_of(toks, a, b) .. "] is not a constant")
        end
      else
        counts.subscripts = counts.subscripts + 1
        local lvl, vars = loop_vars(t)
        local ok, why = affine(toks, a, b, vars, fn.consts, lvl == "none" and fn.tables or nil)
        if not ok then
          find(t, "subscript", string.format("%s[%s]: %s", prev and prev.v or "?", text_of(toks, a, b), why))
        end
      end
      -- continue inside the brackets too (nested subscripts)
    elseif t.t == "id" and is_pointer(t.v) and toks[k + 1] and (toks[k + 1].v == "+" or toks[k + 1].v == "-") then
      -- pointer offset: up to , ; ) at depth 0
      local j, par = k + 2, 0
      while j <= #toks do
        local v = toks[j].v
        if v == "(" or v == "[" then par = par + 1
        elseif (v == ")" or v == "]") then
          if par == 0 then break end
          par = par - 1
        elseif (v == "," or v == ";") and par == 0 then break end
        j = j + 1
      end
      counts.offsets = counts.offsets + 1
      local _, vars = loop_vars(t)
      local ok, why = affine(toks, k + 2, j - 1, vars, fn.consts, nil)
      if not ok then
        find(t, "offset", string.format("%s %s %s: %s", t.v, toks[k + 1].v, text_of(toks, k + 2, j - 1), why))
      end
    end
    k = k + 1
  end
  end

  -- line by line; the lines of fully unrolled code that cannot hold a finding (weight
  -- data, statements whose subscripts are all integer literals, no declaration, no
  -- pointer arithmetic) only move the brace depth, which keeps a 19 MB file fast
  local n = 0
  for line in (strip(raw) .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    local simple = false
    if line:find("^[%s%d%.,%-%+eEfF{}]*$") then
      simple = true  -- weight data
    elseif not line:find("[%*/]") and not line:find("[%w_%]%)] [%+%-] ") and not line:find("%f[%w_]for%f[^%w_]")
      and not line:find("%f[%w_]int%f[^%w_]") and not line:find("%f[%w_]float%f[^%w_]")
      and not line:find("%f[%w_]char%f[^%w_]") and not line:find("%f[%w_]const%f[^%w_]") then
      simple = true
      for inner in line:gmatch("%[([^%]]*)%]") do
        if not inner:find("^%d+$") then simple = false break end
      end
      if simple then
        local _, c = line:gsub("%[%d+%]", "")
        counts.subscripts = counts.subscripts + c
      end
    end
    if simple then
      for b in line:gmatch("[{}]") do
        if b == "{" then open_brace() else close_brace() end
      end
    elseif line:find("%S") then
      process(tokenize(line, n))
    end
  end
  return findings, counts
end

return M
