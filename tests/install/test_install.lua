-- `make install` / `make uninstall` into a temporary prefix, run from the repository root:
--   lua5.4 tests/install/test_install.lua
-- The installed command must work from another directory, called by its path, through a
-- symlink of the user's own and through PATH; it must generate the same files as gen/lenetgen;
-- its usage message must name the command as invoked; uninstall must remove all it installed.
-- Prints "N passed, N failed"; exits 1 on failure.
package.path = "gen/?.lua;tools/?.lua;" .. package.path
local sh = require("shellutil")
local q = sh.shell_quote

local check = require("testlib").check
require("testlib").parse_args("tests/install/test_install.lua",
  "make install and uninstall into a temporary prefix.")

local tmp = sh.capture("mktemp -d"):gsub("\n$", "")
local prefix = tmp .. "/prefix"
local elsewhere = tmp .. "/work"
assert(os.execute("mkdir -p " .. q(elsewhere .. "/out") .. " " .. q(tmp .. "/ref")))

local function make(target)
  local out, code = sh.capture("make --no-print-directory -s " .. target .. " PREFIX=" .. q(prefix)
    .. " 2>&1")
  return code, out
end

local code, out = make("install")
check(code == 0, "make install PREFIX=... succeeds", out)
local bin = prefix .. "/bin/lenetgen"

-- every run below is from another directory, with a copy of the model there
assert(os.execute("mkdir -p " .. q(elsewhere .. "/models") .. " && cp models/lenet5.lua "
  .. "models/lenet5.safetensors " .. q(elsewhere .. "/models/")))
local model = "models/lenet5.lua"
local function run_in(dir, cmd)
  return sh.capture("cd " .. q(dir) .. " && " .. cmd .. " 2>&1")
end

out, code = run_in(elsewhere, q(bin) .. " " .. q(model) .. " -o out")
check(code == 0, "installed lenetgen generates LeNet-5 from another directory", out)
out, code = sh.capture("gen/lenetgen models/lenet5.lua -o " .. q(tmp .. "/ref") .. " 2>&1")
check(code == 0, "gen/lenetgen generates the reference pair", out)
for _, f in ipairs({ "lenet5.h", "lenet5.c" }) do
  check(sh.read_file(elsewhere .. "/out/" .. f) == sh.read_file(tmp .. "/ref/" .. f),
    "installed and in-tree generator write the same " .. f)
end

-- a symlink the user made to the installed command (a link to a link)
assert(os.execute("ln -s " .. q(bin) .. " " .. q(elsewhere .. "/mylenetgen")))
out, code = run_in(elsewhere, "./mylenetgen --version")
check(code == 0 and out == "lenetgen 0.1.0\n", "a user's symlink to the installed command works", out)

-- through PATH: messages name the command as typed
out, code = run_in(elsewhere, "PATH=" .. q(prefix .. "/bin") .. ":\"$PATH\" lenetgen")
check(code == 2 and out == "lenetgen: error: missing argument 'description'\n"
  .. "Run 'lenetgen --help' for usage.\n", "through PATH, the usage hint says 'lenetgen --help'", out)
out, code = run_in(elsewhere, "./mylenetgen")
check(code == 2 and out:find("Run './mylenetgen --help' for usage.", 1, true) ~= nil,
  "called by a path, the usage hint repeats that path", out)

-- lenetgen-import beside it: through a symlink of the user's own, from another directory
assert(os.execute("ln -s " .. q(prefix .. "/bin/lenetgen-import") .. " " .. q(elsewhere .. "/myimport")))
out, code = run_in(elsewhere, "./myimport --help")
check(code == 0 and out:find("usage: myimport MODEL.onnx -o DIR", 1, true) ~= nil,
  "the installed lenetgen-import runs through a user's symlink", out)
out, code = run_in(elsewhere, "./myimport " .. q(model) .. " -o imp")
check(code == 1 and out == model .. ": error: not an ONNX model (it does not parse as an ONNX protobuf; truncated "
  .. "or another format)\n", "the installed lenetgen-import reads a model and reports in one line", out)

code, out = make("uninstall")
check(code == 0, "make uninstall succeeds", out)
local left = sh.capture("find " .. q(prefix) .. " -mindepth 1 ! -type d")
check(left == "", "uninstall leaves no file behind", left)

os.execute("rm -rf " .. q(tmp))
require("testlib").finish()
