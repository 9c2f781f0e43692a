/*
 * startup_rv32.S: reset code for the RV32 footprint image (not run, but a
 * complete program): stack pointer, global pointer, .data copy, .bss zeroing,
 * main(), then a wfi loop. Linked with rv32.ld.
 */
    .section .text.start, "ax", @progbits
    .global _start
    .type _start, @function
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, _stack_top
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
5:  wfi
    j 5b
    .size _start, . - _start
