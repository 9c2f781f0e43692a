--- What the header tells an integrator (issue 16 item 9): input.normalize,
-- input.description and labels. For a description with hostile text (comment
-- delimiters, trigraphs, backslashes, quotes) the header's comment and the
-- labels are exactly as written here; the header compiles warning-free,
-- included by two .c files, with gcc and clang (C99 trigraphs on) and g++;
-- the strings read back at run time are the description's, byte for byte; and
-- a description without the fields gets no label or normalisation text.
-- The refusals (non-ASCII, control characters, counts, ...) are in
-- tests/broken/desc (labels_*, normalize_*, description_*).
-- usage: lua5.4 tests/audit/test_interface.lua      (prints "N passed, N failed")
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/?.lua;" .. package.path
local A = require("auditlib")
local check, q = A.check, A.q
local root = A.root

local WARN = "-std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wdouble-promotion -Werror"
local LABELS = { "a*/b", "c??/", "back\\slash", "q\"uote", "x???y//z" }

local d = A.tmpdir()
A.write(d .. "/hostile.lua", [==[
return {
  name = "hostile",
  input = { channels = 3, height = 8, width = 8,
    normalize = { range = 255, mean = { 0.485, 0.456, 0.406 }, std = { 0.229, 0.224, 0.225 } },
    description = [[RGB "*/ /* // ??/ ??= \ end]] },
  labels = { "a*/b", "c??/", "back\\slash", "q\"uote", "x???y//z" },
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3 },
    { type = "relu" },
    { type = "flatten" },
    { type = "linear", out_features = 5 },
  },
}
]==])
os.execute("mkdir -p " .. q(d .. "/out"))
local code, _, err = A.lenetgen("hostile.lua --random-weights 1 -o out", d)
check(code == 0 and err == "", "f: a description with hostile labels and description generates", err)
local h = A.read(d .. "/out/hostile.h") or ""
local c = A.read(d .. "/out/hostile.c") or ""

local HEADER = [[
#define HOSTILE_MACS             2304     /* multiply-accumulates per inference (padding taps skipped) */

/*
 * Input (the description's input.normalize and input.description):
 *   input[c][y][x] = (pixel[c][y][x] / 255 - mean[c]) / std[c], pixel in [0, 255]
 *   mean = { 0.485, 0.456, 0.406 }, std = { 0.229, 0.224, 0.225 }
 *   "RGB \"* / / * / ?\?/ ?\?= \\ end"
 */

/*
 * Output labels (the description's labels): output i is hostile_labels[i].
 *   0 "a* /b"
 *   1 "c?\?/"
 *   2 "back\\slash"
 *   3 "q\"uote"
 *   4 "x?\?\?y/z"
 */
#define HOSTILE_LABEL_COUNT 5 /* one label per output value (HOSTILE_OUTPUT_SIZE) */
extern const char *const hostile_labels[HOSTILE_LABEL_COUNT];

]]
check(h:find(HEADER, 1, true) ~= nil, "f: the header documents normalisation, description and labels, escaped", h)
local SOURCE = [[
/* Output labels, declared in hostile.h: hostile_labels[i] names output i. */
const char *const hostile_labels[HOSTILE_LABEL_COUNT] = {
    "a*/b",
    "c?\?/",
    "back\\slash",
    "q\"uote",
    "x?\?\?y//z"
};
]]
check(c:find(SOURCE, 1, true) ~= nil, "f: the source defines the labels as C literals that read back exactly", c)

-- compiled: two translation units include the header; the strings at run time
A.write(d .. "/main.c", [[
#include <stdio.h>
#include "hostile.h"
int main(void)
{
    int i;
    for (i = 0; i < HOSTILE_LABEL_COUNT; i++) {
        printf("%s\n", hostile_labels[i]);
    }
    return 0;
}
]])
A.write(d .. "/other.c", '#include "hostile.h"\nint other(void);\nint other(void) { return HOSTILE_LABEL_COUNT; }\n')
local want = table.concat(LABELS, "\n") .. "\n"
for _, cc in ipairs({ "gcc", "clang" }) do
  local bcode, _, berr = A.run(string.format("cd %s && %s %s -Iout main.c other.c out/hostile.c -lm -o prog-%s",
    q(d), cc, WARN, cc))
  check(bcode == 0 and berr == "", "f: [" .. cc .. "] header in two .c files compiles warning-free", berr)
  local rcode, out = A.run(q(d .. "/prog-" .. cc))
  check(rcode == 0 and out == want, "f: [" .. cc .. "] the labels read back byte for byte", out)
end
if A.run("command -v g++ >/dev/null") == 0 then
  local xcode, _, xerr = A.run(string.format("cd %s && g++ -x c++ -Wall -Wextra -Werror -fsyntax-only -Iout "
    .. "main.c", q(d)))
  check(xcode == 0, "f: [g++] the header compiles as C++", xerr)
end

-- without the fields: no trace of them (every other model's output is unchanged)
do
  local td = A.tmpdir()
  local code2 = A.lenetgen("tests/tiny/tiny_avgpool.lua -o " .. q(td), root)
  local tiny = A.read(td .. "/tiny_avgpool.h") or ""
  check(code2 == 0 and tiny ~= "" and not tiny:find("LABEL", 1, true) and not tiny:find("Input (", 1, true),
    "f: a description without the fields gets no label or normalisation text")
end

-- the shipped model: pixel/255 and the Fashion-MNIST classes, in the demo's order
do
  local ld = A.tmpdir()
  local code3, _, err3 = A.lenetgen(q(root .. "/models/lenet5.lua") .. " -o " .. q(ld), root)
  local lh = A.read(ld .. "/lenet5.h") or ""
  check(code3 == 0 and lh:find(" *   input[c][y][x] = pixel[c][y][x] / 255, pixel in [0, 255]\n", 1, true)
    and lh:find(' *   0 "T-shirt/top"\n', 1, true) and lh:find(' *   9 "Ankle boot"\n', 1, true)
    and lh:find("#define LENET5_LABEL_COUNT 10 ", 1, true), "f: lenet5.h states pixel/255 and the 10 class names", err3)
end

A.finish()
