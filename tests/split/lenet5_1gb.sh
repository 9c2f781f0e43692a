#!/bin/sh
# LeNet-5 at --unroll=full (about 19 MB of C; one file took gcc 1,965 MB,
# clang 1,747 MB and arm-none-eabi-gcc 2,235 MB) is split automatically into
# parts of about 4 MiB: every part compiles at -O2 under `ulimit -v 1048576`
# (1 GB of address space) with clang and arm-none-eabi-gcc (Cortex-M4F), and
# the CMocka harness, whose gcc compiles run under the same limit, finds the
# linked parts equal to the reference. Prints each compile's peak memory
# (/usr/bin/time %M) and "N passed, N failed". One compile at a time per compiler,
# clang and arm-none-eabi-gcc side by side: about 5 minutes of CPU in all.
set -u
cd "$(dirname "$0")/../.."
out=${BUILD:-build}/split-lenet5
rm -rf "$out/gen" && mkdir -p "$out/gen"
CWARN=$(cat tools/cwarn.flags)
LIMIT_KB=1048576
pass=0
fail=0
gen/lenetgen models/lenet5.lua --unroll=full -o "$out/gen" || { echo "FAIL generation"; echo "0 passed, 1 failed"; exit 1; }
sources=$(tools/source-files "$out/gen" lenet5)
count=$(echo "$sources" | wc -l)
if [ "$count" -ge 4 ]; then pass=$((pass + 1)); else echo "FAIL LeNet-5 full gives $count C files, expected at least 4"; fail=$((fail + 1)); fi

# A compiler under the limit, its peak memory and CPU time appended to $out/peaks.
cat >"$out/cc-1g" <<WRAP
#!/bin/sh
ulimit -v $LIMIT_KB
exec /usr/bin/time -a -o "$PWD/$out/peaks" -f "%M KB %U s \$*" "\$REAL_CC" "\$@"
WRAP
chmod +x "$out/cc-1g"
: >"$out/peaks"

# One compiler's compiles, one at a time; the two compilers run side by side (2 cores).
compile_parts() {
  cc=$1 flags="" p=0 f=0
  [ "$cc" = arm-none-eabi-gcc ] && flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
  for src in $sources; do
    # shellcheck disable=SC2086
    if REAL_CC=$cc "$out/cc-1g" $CWARN $flags -O2 -c "$src" -o "$out/$cc-$(basename "$src" .c).o" 2>"$out/$cc.err"; then
      p=$((p + 1))
    else
      echo "FAIL $cc -O2 $src under ulimit -v $LIMIT_KB:"; head -5 "$out/$cc.err"
      f=$((f + 1))
    fi
  done
  echo "$p $f" >"$out/$cc.result"
}
compile_parts clang &
compile_parts arm-none-eabi-gcc &
wait
for cc in clang arm-none-eabi-gcc; do
  read -r p f <"$out/$cc.result" || { p=0; f=1; echo "FAIL $cc: no result"; }
  pass=$((pass + p)); fail=$((fail + f))
done

# gcc: through the harness (optimised build; the sanitized one is skipped above
# HARNESS_SAN_MAX_BYTES), so the objects compiled under the limit are the ones compared
lua5.4 tests/harness/driver.lua plan --suite split-lenet5 --levels full --builds opt --model models/lenet5.lua >/dev/null
if REAL_CC=gcc make --no-print-directory -f build/harness/split-lenet5/suite.mk -j2 run CC="$PWD/$out/cc-1g" >"$out/harness.log" 2>&1 \
   && grep -q PASSED "$out/harness.log" && ! grep -q FAILED "$out/harness.log"; then
  pass=$((pass + 1))
else
  echo "FAIL harness of LeNet-5 --unroll=full with gcc under ulimit -v $LIMIT_KB:"; tail -15 "$out/harness.log"
  fail=$((fail + 1))
fi
echo "peak memory per compile (KB, CPU s, command):"
sed 's/ -std=c99.*-Werror / ... /' "$out/peaks"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
