#!/bin/sh
# icount.sh DIR: instructions of one int8 LeNet-5 inference (DIR/lenet5.c from
# gen/lenetgen models/lenet5.lua --quantize=int8 ...) on QEMU: Cortex-M4F
# (mps2-an386) and Cortex-M0+ code (mps2-an385), -O2 and -Os. A measurement,
# not a test; the firmware targets will take it over (issue 13).
set -eu
dir=$1
for target in m4f m0plus; do
    case $target in
    m4f) arch="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16" board=mps2-an386 ;;
    m0plus) arch="-mcpu=cortex-m0plus -mthumb -mfloat-abi=soft" board=mps2-an385 ;;
    esac
    for opt in O2 Os; do
        elf=$dir/icount-$target-$opt.elf
        # shellcheck disable=SC2086
        arm-none-eabi-gcc $arch -$opt $(cat tools/cwarn.flags) -ffunction-sections -fdata-sections -I"$dir" \
            -Wl,--gc-sections --specs=rdimon.specs -nostartfiles -T tests/firmware/mps2-an386.ld \
            tests/firmware/startup_arm.S tests/int8/icount.c "$dir/lenet5.c" -o "$elf"
        echo "$target -$opt: $(qemu-system-arm -M $board -nographic -monitor none -serial none \
            -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf")"
    done
done
