--- bench_common.lua: what bench/measure.lua and bench/report.lua share: the columns of
-- results.csv (one row per network and implementation), reading and writing it.
local M = {}

--- "ok", "differs" or nil (not measured) for an output comparison.
function M.check_word(ok)
  if ok == nil then return nil end
  return ok and "ok" or "differs"
end

--- The columns, in file order, each with how to get it from a row built by measure.lua.
-- Times are nanoseconds per inference; sizes bytes; compile times seconds; memory MB.
local function get(path)
  return function(r)
    local v = r
    for key in path:gmatch("[^.]+") do
      if type(v) ~= "table" then return nil end
      v = v[key]
    end
    return v
  end
end

M.COLUMNS = {
  { "net", get("net") },
  { "impl", get("impl") },
  { "unroll", get("unroll") },
  { "plan", get("plan") },
  { "math", get("math") },
  { "c_source_bytes", get("c_bytes") },
  { "host_o2_min_ns", get("o2.min") },
  { "host_o2_median_ns", get("o2.med") },
  { "host_o2_max_ns", get("o2.max") },
  { "host_o2_speedup_vs_baseline", get("o2_speedup") },
  { "host_o2_max_abs_diff", get("o2_diff") },
  { "host_o2_check", function(r) return M.check_word(r.o2_ok) end },
  { "host_o3native_min_ns", get("o3.min") },
  { "host_o3native_median_ns", get("o3.med") },
  { "host_o3native_max_ns", get("o3.max") },
  { "host_o3native_speedup_vs_baseline", get("o3_speedup") },
  { "host_o3native_max_abs_diff", get("o3_diff") },
  { "host_o3native_check", function(r) return M.check_word(r.o3_ok) end },
  { "host_o2_instructions", get("host_instr") },
  { "host_o2_instructions_ratio_vs_baseline", get("instr_ratio") },
  { "m4f_o2_instructions_mean", get("m4f_o2_instr_mean") },
  { "m4f_o2_instructions_max", get("m4f_o2_instr_max") },
  { "m4f_o2_check", get("m4f_o2_check") },
  { "m4f_os_instructions_mean", get("m4f_os_instr_mean") },
  { "m4f_os_instructions_max", get("m4f_os_instr_max") },
  { "m4f_os_check", get("m4f_os_check") },
  { "rv32_o2_instructions_mean", get("rv32_o2_instr_mean") },
  { "rv32_o2_instructions_max", get("rv32_o2_instr_max") },
  { "rv32_o2_check", get("rv32_o2_check") },
  -- int8 configurations only: RV32IMAC -Os and Cortex-M0+ code (QEMU mps2-an385)
  { "rv32_os_instructions_mean", get("rv32_os_instr_mean") },
  { "rv32_os_instructions_max", get("rv32_os_instr_max") },
  { "rv32_os_check", get("rv32_os_check") },
  { "m0plus_o2_instructions_mean", get("m0plus_o2_instr_mean") },
  { "m0plus_o2_instructions_max", get("m0plus_o2_instr_max") },
  { "m0plus_o2_check", get("m0plus_o2_check") },
  { "m0plus_os_instructions_mean", get("m0plus_os_instr_mean") },
  { "m0plus_os_instructions_max", get("m0plus_os_instr_max") },
  { "m0plus_os_check", get("m0plus_os_check") },
  { "m0plus_o2_code_bytes", get("m0plus_o2_code") },
  { "m0plus_os_code_bytes", get("m0plus_os_code") },
  { "m4f_o2_code_bytes", get("m4f_o2_code") },
  { "m4f_o2_lib_bytes", get("m4f_o2_lib") },
  { "m4f_os_code_bytes", get("m4f_os_code") },
  { "m4f_os_lib_bytes", get("m4f_os_lib") },
  { "weight_bytes", function(r) return r.m4f_o2_weights or r.weight_bytes end },
  { "activation_bytes_header", get("act_bytes") },
  { "m4f_static_ram_bytes", get("m4f_o2_ram") },
  { "m4f_o2_stack_bytes", get("m4f_o2_stack") },
  { "compile_host_o2_s", get("cc_o2.elapsed") },
  { "compile_host_o2_cpu_s", get("cc_o2.cpu") },
  { "compile_host_o2_mb", get("cc_o2.mb") },
  { "compile_m4f_o2_s", get("cc_m4f.elapsed") },
  { "compile_m4f_o2_cpu_s", get("cc_m4f.cpu") },
  { "compile_m4f_o2_mb", get("cc_m4f.mb") },
  { "note", function(r)
      local parts = {}
      for _, k in ipairs({ "cc_o2", "cc_o3", "cc_m4f" }) do
        if r[k] and r[k].note then parts[#parts + 1] = k:gsub("cc_", "") .. ": " .. r[k].note end
      end
      return #parts > 0 and table.concat(parts, "; ") or nil
    end },
}

--- Single-quotes a word for the shell.
function M.shell_quote(s)
  if s:match("^[%w%./_%-=:,]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function csv_field(v)
  if v == nil then return "" end
  if type(v) == "number" then
    if math.type(v) == "integer" or v == math.floor(v) and math.abs(v) < 1e15 then
      return string.format("%d", math.floor(v))
    end
    return string.format("%.6g", v)
  end
  v = tostring(v)
  if v:match('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

--- Writes the rows as CSV with a header line.
function M.write_csv(path, rows)
  local lines, names = {}, {}
  for i, c in ipairs(M.COLUMNS) do names[i] = c[1] end
  lines[1] = table.concat(names, ",")
  for _, r in ipairs(rows) do
    local fields = {}
    for i, c in ipairs(M.COLUMNS) do fields[i] = csv_field(c[2](r)) end
    lines[#lines + 1] = table.concat(fields, ",")
  end
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end

local function split_csv_line(line)
  local fields, i = {}, 1
  while true do
    local field
    if line:sub(i, i) == '"' then
      local j, buf = i + 1, {}
      while true do
        local q = line:find('"', j, true)
        if not q then error("unterminated quote in CSV line: " .. line) end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      field = table.concat(buf)
    else
      local c = line:find(",", i, true) or (#line + 1)
      field = line:sub(i, c - 1)
      i = c
    end
    fields[#fields + 1] = field
    if line:sub(i, i) ~= "," then break end
    i = i + 1
  end
  return fields
end

--- Reads results.csv: a list of rows, each a table column name -> string or number
-- (empty fields are absent).
function M.read_csv(path)
  local f = io.open(path, "r")
  if not f then return nil, "cannot read " .. path end
  local header, rows = nil, {}
  for line in f:lines() do
    if line ~= "" then
      local fields = split_csv_line(line)
      if not header then
        header = fields
      else
        local r = {}
        for i, name in ipairs(header) do
          local v = fields[i]
          if v and v ~= "" then r[name] = tonumber(v) or v end
        end
        rows[#rows + 1] = r
      end
    end
  end
  f:close()
  return rows
end

--- Reads BUILD_DIR/meta.txt (key=value lines) into a table; notes as a list in .notes.
function M.read_meta(path)
  local meta, notes = {}, {}
  local f = io.open(path, "r")
  if not f then return { notes = notes } end
  for line in f:lines() do
    local k, v = line:match("^([%w_]+)=(.*)$")
    if k and k:match("^note%d+$") then notes[#notes + 1] = v elseif k then meta[k] = v end
  end
  f:close()
  meta.notes = notes
  return meta
end

return M
