-- End-to-end checks of build/lenetgen-demo's single-image mode, run from the repository root:
--   lua5.4 tests/demo/test_demo_cli.lua build/lenetgen-demo
-- Every broken PGM below must give exactly one line on stderr, "lenetgen-demo: FILE: problem",
-- nothing on stdout and exit status 1; the shipped images must be classified; and the golden
-- vectors must belong to the shipped weights. Prints "N passed, N failed"; exits 1 on failure.

package.path = "tools/?.lua;gen/?.lua;" .. package.path
local T = require("testlib")
local check = T.check
local demo = T.parse_args("tests/demo/test_demo_cli.lua", "The demo's single-image mode.",
  function(p) p:argument("demo", "The demo program, e.g. build/lenetgen-demo."):argname("DEMO") end).demo

local slurp = require("shellutil").read_file

-- Runs demo with args; returns exit code, stdout, stderr.
local function run(args)
  local err = os.tmpname()
  local p = assert(io.popen(demo .. " " .. args .. " 2>" .. err, "r"))
  local out = p:read("a")
  local _, _, code = p:close()
  local e = slurp(err) or ""
  os.remove(err)
  return code, out, e
end

-- file -> the problem the demo must report (each file in tests/demo/ has exactly one defect).
local broken = {
  { "tests/demo/empty.pgm", "empty file" },
  { "tests/demo/bad-magic.pgm", "not a PGM image (expected magic P5 or P2)" },
  { "tests/demo/bad-header.pgm", "malformed header: no valid height" },
  { "tests/demo/wrong-size.pgm", "image is 32x32, expected 28x28" },
  { "tests/demo/maxval-16bit.pgm", "maxval is 65535, expected 255 (8-bit greyscale)" },
  { "tests/demo/truncated.pgm", "truncated pixel data: 500 of 784 bytes" },
  { "tests/demo/trailing-data.pgm", "4 bytes of unexpected data after the 784 pixels" },
  { "tests/demo/plain-truncated.pgm", "truncated pixel data: 700 of 784 values" },
  { "tests/demo/plain-bad-value.pgm", "pixel at row 3, column 5 is 300, above maxval 255" },
  { "tests/demo/no-such-file.pgm", "cannot open: No such file or directory" },
}
for _, case in ipairs(broken) do
  local file, problem = case[1], case[2]
  local expected = "lenetgen-demo: " .. file .. ": " .. problem .. "\n"
  local code, out, err = run(file)
  check(code == 1 and out == "" and err == expected, file .. ": " .. problem,
        string.format("exit %s, stdout %q\nstderr   %q\nexpected %q", code, out, err, expected))
end

-- Shipped images: the top-1 class, three scored lines, nothing on stderr.
local good = {
  { "models/samples/ankle-boot.pgm", "Ankle boot" },
  { "models/samples/trouser.pgm", "Trouser" },
  { "models/samples/sneaker.pgm", "Sneaker" },
  { "tests/demo/trouser-plain.pgm", "Trouser" },
}
local scores = {}
for _, case in ipairs(good) do
  local file, class = case[1], case[2]
  local code, out, err = run(file)
  local first, rest = out:match("^([^\n]*)\n(.*)$")
  local nscores = 0
  for _ in (rest or ""):gmatch("  %d%. [%w%-/ ]+ [01]%.%d%d%d%d\n") do nscores = nscores + 1 end
  scores[file] = rest
  check(code == 0 and err == "" and first == file .. ": " .. class and nscores == 3,
        file .. " is classified as " .. class,
        string.format("exit %s, stderr %q\nstdout %q", code, err, out))
end
check(scores["tests/demo/trouser-plain.pgm"] == scores["models/samples/trouser.pgm"],
      "a P2 image scores exactly like the same P5 image")

-- Samples mode: a file of the wrong kind is named with its problem.
local images = "models/samples/t10k-first1000-images-idx3-ubyte"
local idx_errors = {
  { "--samples models/samples/trouser.pgm " .. images, "models/samples/trouser.pgm",
    "not an IDX3 image file (magic 0x50350a32, expected 0x00000803)" },
  { "--samples " .. images .. " " .. images, images,
    "not an IDX1 label file (magic 0x00000803, expected 0x00000801)" },
}
for _, case in ipairs(idx_errors) do
  local args, file, problem = case[1], case[2], case[3]
  local expected = "lenetgen-demo: " .. file .. ": " .. problem .. "\n"
  local code, out, err = run(args)
  check(code == 1 and out == "" and err == expected, "--samples: " .. file .. ": " .. problem,
        string.format("exit %s, stdout %q\nstderr   %q\nexpected %q", code, out, err, expected))
end

-- Bad usage: a usage message and exit status 2.
local code, out, err = run("")
check(code == 2 and out == "" and err:match("^usage: lenetgen%-demo") ~= nil,
      "no arguments: usage on stderr, exit status 2")

-- The golden vectors were computed with the weights the repository ships.
local summary = slurp("tests/golden/lenet5-summary.txt") or ""
local golden_sha = summary:match("sha256 (%x+)")
local p = assert(io.popen("sha256sum models/lenet5.safetensors", "r"))
local shipped_sha = p:read("a"):match("^(%x+)")
p:close()
check(golden_sha ~= nil and golden_sha == shipped_sha,
      "tests/golden/ was computed from models/lenet5.safetensors (sha256 match)",
      string.format("golden %s, shipped %s: rerun tools/train_lenet5.py --export-only",
                    golden_sha, shipped_sha))

T.finish()
