--- Run the busted specs of tests/unit/ and close with "N passed, N failed".
-- usage: lua5.4 tests/unit/run.lua [spec files...]  (from the repository root)
-- busted writes TAP (one "ok N" / "not ok N" line per test); this counts those
-- lines, so a crash of busted itself (no plan line) also fails.
local specs = #arg > 0 and table.concat(arg, " ") or "tests/unit"
local cmd = "lua5.4 /usr/bin/busted -o TAP --lpath='gen/?.lua;tests/unit/?.lua;tools/?.lua' --pattern=_spec "
  .. specs .. " 2>&1"
local pipe = assert(io.popen(cmd))
local passed, failed, planned = 0, 0, nil
for line in pipe:lines() do
  print(line)
  if line:match("^ok %d") then passed = passed + 1 end
  if line:match("^not ok %d") then failed = failed + 1 end
  planned = planned or tonumber(line:match("^1%.%.(%d+)$"))
end
local ok = pipe:close()
if planned == nil or planned ~= passed + failed then
  print(string.format("busted did not run every test (plan %s, %d results)", tostring(planned), passed + failed))
  failed = failed + 1
elseif not ok and failed == 0 then
  print("busted exited with an error")
  failed = 1
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
