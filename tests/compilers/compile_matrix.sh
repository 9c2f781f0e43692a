#!/bin/sh
# Generated C must compile warning-free under the strict flags with every
# compiler a user has: gcc, clang and arm-none-eabi-gcc (Cortex-M4F), for every
# description in models/ and tests/tiny/, at every unroll level and with both
# math options, optimised as users do: -O2, -Ofast and -O2 -ffast-math (that
# the results stay right under the last two is checked by make
# test-harness-fastmath, test-math and firmware-test). (LeNet-5 at --unroll=full is left to the harness, which builds
# it with gcc: one compile of it takes minutes, and to make test-split-lenet5, which compiles each of its parts
# with every compiler.) A network split over several C files (--split-bytes) has each file compiled. A compiler that is not
# installed is reported, never silently skipped. Prints "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
out=${BUILD:-build}/compile-matrix
rm -rf "$out" && mkdir -p "$out"
CWARN=$(cat tools/cwarn.flags)
pass=0
fail=0
compilers="gcc clang arm-none-eabi-gcc"
optimisations="-O2:-Ofast:-O2 -ffast-math"
for cc in $compilers; do
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "FAIL $cc is not installed (tools/ensure-deps installs it)"
    fail=$((fail + 1))
  fi
done
for model in models/*.lua tests/tiny/*.lua; do
  base=$(basename "$model" .lua)
  for level in full kernel none; do
    [ "$base" = lenet5 ] && [ "$level" = full ] && continue
    for math in libm builtin; do
      dir="$out/$base-$level-$math"
      mkdir -p "$dir"
      if ! gen/lenetgen "$model" -o "$dir" --unroll=$level --math=$math 2>"$dir/gen.err"; then
        echo "FAIL $model --unroll=$level --math=$math: generation failed: $(cat "$dir/gen.err")"
        fail=$((fail + 1))
        continue
      fi
      header=$(ls "$dir"/*.h | grep -v '_internal\.h$' | head -1)
      srcs=$(tools/source-files "$dir" "$(basename "$header" .h)")
      for cc in $compilers; do
        command -v "$cc" >/dev/null 2>&1 || continue
        flags=""
        [ "$cc" = arm-none-eabi-gcc ] && flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
        old_ifs=$IFS
        IFS=:
        for opt in $optimisations; do
          IFS=$old_ifs
          for src in $srcs; do
            # shellcheck disable=SC2086
            if $cc $CWARN $flags $opt -c "$src" -o "$dir/$cc.o" 2>"$dir/$cc.err"; then
              pass=$((pass + 1))
            else
              echo "FAIL $model --unroll=$level --math=$math ($src) with $cc $opt:"
              head -5 "$dir/$cc.err"
              fail=$((fail + 1))
            fi
          done
        done
        IFS=$old_ifs
      done
    done
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
