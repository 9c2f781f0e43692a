/*
 * startup_rv32.S: reset code for the RV32 images, linked with rv32.ld (the
 * footprint image, never run) or rv32-virt.ld (the test image, run on QEMU's
 * virt board): stack pointer, global pointer, trap vector, .data copy, .bss
 * zeroing, main(), then lg_exit(status).
 * lg_exit and lg_trap are weak here (they wait forever); harness_rv32.c
 * replaces them with an exit through the SiFive test device, so that a trap
 * (illegal instruction, misaligned or faulting access) ends QEMU with a
 * failure status instead of hanging until the timeout.
 */
    .option arch, +zicsr    /* csrr/csrw: a separate extension for binutils >= 2.38 */

    .section .text.start, "ax", @progbits
    .global _start
    .type _start, @function
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, _stack_top
    la t0, lg_trap_entry
    csrw mtvec, t0          /* direct mode: the low two bits are 0 (aligned below) */
    la a0, _sidata          /* copy .data */
    la a1, _sdata
    la a2, _edata
1:  bgeu a1, a2, 2f
    lw a3, 0(a0)
    sw a3, 0(a1)
    addi a0, a0, 4
    addi a1, a1, 4
    j 1b
2:  la a1, _sbss            /* zero .bss */
    la a2, _ebss
3:  bgeu a1, a2, 4f
    sw zero, 0(a1)
    addi a1, a1, 4
    j 3b
4:  call main
    call lg_exit            /* a0: main's status */
5:  wfi
    j 5b
    .size _start, . - _start

    /* Any exception: lg_trap(mcause, mepc) on the current stack. */
    .text
    .align 2
    .global lg_trap_entry
    .type lg_trap_entry, @function
lg_trap_entry:
    csrr a0, mcause
    csrr a1, mepc
    call lg_trap
6:  wfi
    j 6b
    .size lg_trap_entry, . - lg_trap_entry

    .weak lg_exit
    .type lg_exit, @function
lg_exit:
    wfi
    j lg_exit
    .size lg_exit, . - lg_exit

    .weak lg_trap
    .type lg_trap, @function
lg_trap:
    wfi
    j lg_trap
    .size lg_trap, . - lg_trap
