#!/usr/bin/env lua5.4
--- test_nofloat.lua: <name>_infer_int8 uses no floating point.
--
--   lua5.4 tests/firmware/test_nofloat.lua NM CLEAN.elf FLOAT.elf
--
-- CLEAN.elf is a footprint image (footprint_main.c -DFP_INT8) that calls only
-- <name>_infer_int8, linked with --gc-sections for an FPU-less core
-- (Cortex-M0+, RV32IMAC): any soft-float routine of libgcc in it was pulled in
-- by the network. FLOAT.elf is the float network's image for the same core:
-- the check must find soft-float routines there, so it is shown able to fail.
-- NM is the target's nm (arm-none-eabi-nm, riscv64-unknown-elf-nm).
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/../../tools/?.lua;" .. script_dir .. "/../../gen/?.lua;" .. package.path
local testlib = require("testlib")
local shellutil = require("shellutil")

--- libgcc's soft-float routines (single and double: __addsf3, __muldf3,
-- __fixsfsi, __floatsisf, __extendsfdf2, __eqsf2, ...) and their ARM EABI
-- names (__aeabi_fadd, __aeabi_dmul, __aeabi_f2iz, __aeabi_i2f, __aeabi_cfcmple, ...).
local function is_soft_float(name)
  return name:match("^__%a+[sdt]f%d$") or name:match("^__fix%a*[sdt]f%a*$") or name:match("^__float%a*[sdt]f$")
    or name:match("^__aeabi_[fd]") or name:match("^__aeabi_u?[il]2[fd]$") or name:match("^__aeabi_c[fd]")
end

local function soft_float_symbols(nm, elf)
  local out = shellutil.capture(nm .. " " .. shellutil.shell_quote(elf))
  local found = {}
  for name in (out or ""):gmatch("%x+ %a ([%w_%.]+)") do
    if is_soft_float(name) then found[#found + 1] = name end
  end
  table.sort(found)
  return found, out ~= nil and out ~= ""
end

local nm, clean, float = arg[1], arg[2], arg[3]
if not (nm and clean and float) then
  io.stderr:write("usage: test_nofloat.lua NM CLEAN.elf FLOAT.elf\n")
  os.exit(2)
end
local got, read = soft_float_symbols(nm, clean)
testlib.check(read, "symbols of " .. clean .. " read with " .. nm)
testlib.check(#got == 0, "no soft-float routine in " .. clean .. " (calls only _infer_int8)",
  "linked: " .. table.concat(got, " "))
local in_float = soft_float_symbols(nm, float)
testlib.check(#in_float > 0, "the check finds the soft-float routines of the float network (" .. float .. ")",
  "found none: the symbol patterns no longer match this toolchain's names")
testlib.finish()
