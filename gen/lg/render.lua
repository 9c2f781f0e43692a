--- The one way C text is produced: strict templates, float literals, comments,
-- and a final pass that indents by braces (so templates and emitters never
-- juggle indentation).
local M = {}

-- templates/ beside gen/: found from this file's own path, so the generator
-- works from any directory and through the links `make install` makes.
local TEMPLATES_DIR = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or ".") .. "/../../templates"

--- Read a template from templates/ (verbatim C with ${var} holes).
function M.template(name)
  local f = assert(io.open(TEMPLATES_DIR .. "/" .. name, "rb"), "missing template " .. name)
  local text = f:read("a")
  f:close()
  return text
end

--- A template filled by M.render (vars may be omitted when it has no
-- holes), without its final newline: a piece to join with others.
function M.fill(name, vars)
  return (M.render(M.template(name), vars or {}):gsub("\n$", ""))
end

--- Fill ${var} holes. Fails on a missing or non-string value and on an unused one,
-- so a template and its caller cannot drift apart silently.
function M.render(text, vars)
  local used = {}
  local out = text:gsub("%${([%w_]+)}", function(key)
    local v = vars[key]
    if type(v) ~= "string" then
      error(string.format("render: variable %s is %s, expected a string", key, type(v)), 2)
    end
    used[key] = true
    return v
  end)
  for key in pairs(vars) do
    if not used[key] then error("render: variable " .. key .. " is not used by the template", 2) end
  end
  return out
end

--- Round a Lua number to float32.
function M.to_float32(x)
  return (string.unpack("<f", string.pack("<f", x)))
end

--- Shortest C float literal that reads back as exactly the same float32.
function M.float(x)
  -- non-finite values only arrive with --allow-nonfinite; the emitter then
  -- defines LG_NAN and LG_INF (templates/nonfinite.h)
  if x ~= x then return "LG_NAN" end
  if x == math.huge then return "LG_INF" end
  if x == -math.huge then return "(-LG_INF)" end
  if x == 0 then
    return (1 / x < 0) and "-0.0f" or "0.0f"
  end
  local f = M.to_float32(x)
  for digits = 1, 9 do
    local s = string.format("%." .. digits .. "g", f)
    if M.to_float32(tonumber(s)) == f then
      if not s:find("[%.e]") then s = s .. ".0" end
      return s .. "f"
    end
  end
  error("unreachable: %.9g always round-trips a float32")
end

--- Text safe inside a C block comment.
function M.comment_text(s)
  -- "//" inside a block comment is legal C but MISRA C:2012 rule 3.1 forbids it
  -- (a path given as models//x.lua would otherwise carry it)
  return (tostring(s):gsub("%*/", "* /"):gsub("/%*", "/ *"):gsub("//+", "/"):gsub("[%c]", " "))
end

--- Re-indent C by braces: 4 spaces a level; preprocessor lines at column 0;
-- block-comment continuation lines aligned under the opening "/*".
function M.reindent(text)
  local out = {}
  local depth = 0
  local in_comment = false
  local verbatim = false  -- data initialisers keep the layout their emitter chose
  for line in (text .. "\n"):gmatch("(.-)\n") do
    local body = line:match("^%s*(.-)%s*$")
    if verbatim then
      out[#out + 1] = line
      if body == "};" then verbatim = false end
    elseif depth == 0 and body:match("= {$") then
      out[#out + 1] = body
      verbatim = true
    elseif body == "" then
      out[#out + 1] = ""
    elseif in_comment then
      out[#out + 1] = string.rep("    ", depth) .. " " .. body
      if body:find("%*/") then in_comment = false end
    elseif body:sub(1, 1) == "#" then
      out[#out + 1] = body
    else
      -- count braces outside comments and character/string literals
      local code = body:gsub("/%*.-%*/", ""):gsub("//.*$", ""):gsub("'[^']*'", ""):gsub('"[^"]*"', "")
      local opens_comment = code:find("/%*") ~= nil
      code = code:gsub("/%*.*$", "")
      local _, opens = code:gsub("{", "")
      local _, closes = code:gsub("}", "")
      local lead = 0
      for ch in code:gmatch(".") do
        if ch == "}" then lead = lead + 1 elseif ch ~= " " then break end
      end
      local level = math.max(depth - lead, 0)
      out[#out + 1] = string.rep("    ", level) .. body
      depth = math.max(depth + opens - closes, 0)
      if opens_comment then in_comment = true end
    end
  end
  while out[#out] == "" do out[#out] = nil end
  return table.concat(out, "\n") .. "\n"
end

--- A limit on the bytes of C that writers may produce, shared by every
-- writer given it: an absurdly large unrolling is stopped while it is being
-- emitted instead of after it has filled the memory.
function M.budget(limit)
  return { limit = limit, written = 0 }
end

--- A growing list of lines: w.line(fmt, ...) appends one formatted line.
-- @param budget from M.budget, or nil for no limit; running out raises
--   { code_budget = limit }
function M.writer(budget)
  local lines = {}
  local w = {}
  function w.line(fmt, ...)
    local text = (select("#", ...) > 0) and string.format(fmt, ...) or fmt
    lines[#lines + 1] = text
    if budget then
      budget.written = budget.written + #text + 1
      if budget.written > budget.limit then error({ code_budget = budget.limit }, 0) end
    end
  end
  function w.text() return table.concat(lines, "\n") end
  return w
end

return M
