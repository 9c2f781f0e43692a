/*
 * startup_arm.S: reset code for the lenetgen test firmware on Cortex-M
 * (ARMv7E-M with or without FPU, and ARMv6-M: only v6-M instructions used).
 *
 * Vector table (initial SP, reset, NMI, HardFault and the other exceptions)
 * in section .vectors, which mps2-an386.ld places at address 0.
 * Reset_Handler: copies .data from flash, zeroes .bss, enables the FPU when
 * the code is built for one (CPACR: full access to CP10 and CP11, then
 * dsb/isb before any float instruction), calls main(), then lg_exit(status).
 * lg_exit is weak here (loops forever); the test harness replaces it with a
 * semihosting exit. Any fault ends the program through semihosting
 * SYS_EXIT with reason "run-time error", which QEMU turns into exit status 1.
 */
    .syntax unified
    .thumb

    .section .vectors, "a", %progbits
    .align 2
    .global lg_vectors
lg_vectors:
    .word _stack_top
    .word Reset_Handler
    .word lg_fault_handler      /* NMI */
    .word lg_fault_handler      /* HardFault */
    .word lg_fault_handler      /* MemManage */
    .word lg_fault_handler      /* BusFault */
    .word lg_fault_handler      /* UsageFault */
    .word 0, 0, 0, 0            /* reserved */
    .word lg_fault_handler      /* SVCall */
    .word lg_fault_handler      /* DebugMonitor */
    .word 0                     /* reserved */
    .word lg_fault_handler      /* PendSV */
    .word lg_fault_handler      /* SysTick (polled, never enabled as an interrupt) */

    .text
    .align 2
    .global Reset_Handler
    .type Reset_Handler, %function
    .thumb_func
Reset_Handler:
    ldr r0, =_sidata            /* copy .data */
    ldr r1, =_sdata
    ldr r2, =_edata
1:  cmp r1, r2
    bhs 2f
    ldr r3, [r0]
    str r3, [r1]
    adds r0, r0, #4
    adds r1, r1, #4
    b 1b
2:  ldr r1, =_sbss              /* zero .bss */
    ldr r2, =_ebss
    movs r3, #0
3:  cmp r1, r2
    bhs 4f
    str r3, [r1]
    adds r1, r1, #4
    b 3b
4:
#if defined(__ARM_FP)
    ldr r0, =0xE000ED88         /* CPACR */
    ldr r1, [r0]
    ldr r2, =(0xF << 20)        /* CP10, CP11: full access */
    orrs r1, r1, r2
    str r1, [r0]
    dsb
    isb
#endif
    bl main
    bl lg_exit
5:  b 5b
    .size Reset_Handler, . - Reset_Handler

    .weak lg_exit
    .type lg_exit, %function
    .thumb_func
lg_exit:
    b lg_exit
    .size lg_exit, . - lg_exit

    .global lg_fault_handler
    .type lg_fault_handler, %function
    .thumb_func
lg_fault_handler:
    movs r0, #0x18              /* SYS_EXIT */
    ldr r1, =0x20023            /* ADP_Stopped_RunTimeErrorUnknown */
    bkpt 0xab
6:  b 6b
    .size lg_fault_handler, . - lg_fault_handler

    /* newlib's exit() walks __libc_fini_array, which calls _fini; nothing to do. */
    .weak _init
    .type _init, %function
    .thumb_func
_init:
    bx lr
    .size _init, . - _init
    .weak _fini
    .type _fini, %function
    .thumb_func
_fini:
    bx lr
    .size _fini, . - _fini

    .pool
