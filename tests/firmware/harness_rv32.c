/*
 * harness_rv32.c: runs the generated network on RV32IMAC under QEMU's virt
 * board (qemu-system-riscv32 -M virt -bios none -icount shift=0), linked with
 * startup_rv32.S and rv32-virt.ld. The RISC-V toolchain here has no C
 * library, so the image is freestanding: it prints through the ns16550
 * UART's data register with its own small printers, and soft float comes
 * from libgcc.
 *
 * For every golden input embedded in the image (golden.h, written by
 * make_golden.lua from the reference interpreter) it calls GOLDEN_INFER and
 * compares each output with golden_check.h, the comparison and tolerance
 * harness.c applies on Cortex-M. It prints the same lines as harness.c and
 * ends QEMU through the SiFive test device: status 0 only when everything
 * agrees, 1 on a mismatch, 3 on a trap (lg_trap).
 *
 * Instruction count: the rdinstret CSR, which QEMU counts exactly under
 * -icount shift=0 (without -icount it reads a host clock, and the
 * calibration below fails). The reads of an empty measurement are
 * subtracted. Instructions, not cycles.
 *
 * Stack: painted below the stack pointer before one inference and scanned
 * after it, as in harness.c.
 */
#include "golden.h"
#include "golden_check.h"

#define UART_THR (*(volatile unsigned char *)0x10000000u)   /* ns16550 transmit register */
#define SIFIVE_TEST (*(volatile unsigned int *)0x00100000u) /* QEMU's exit device */
#define SIFIVE_TEST_PASS 0x5555u
#define SIFIVE_TEST_FAIL 0x3333u /* | status << 16 */
#define CALIBRATION_LOOPS 100000u /* 2 instructions each */
#define PAINT_BYTES 32768u
#define PAINT_WORD 0xC5ACCE55u

#ifndef FW_TARGET_DESC /* set by mk/firmware.mk */
#define FW_TARGET_DESC "RV32IMAC on QEMU virt"
#endif

static golden_value_t output[GOLDEN_OUTPUT_SIZE];

/* ---- output: characters, strings, integers, floats ---- */
static void put_char(char c) { UART_THR = (unsigned char)c; }

static void put_str(const char *s)
{
    while (*s)
        put_char(*s++);
}

/* s left-aligned in a field of width characters */
static void put_padded(const char *s, int width)
{
    for (; *s; s++, width--)
        put_char(*s);
    for (; width > 0; width--)
        put_char(' ');
}

static void put_uint(unsigned int v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0)
        put_char(digits[--n]);
}

static void put_int(int v)
{
    if (v < 0) {
        put_char('-');
        put_uint(0u - (unsigned int)v);
    } else {
        put_uint((unsigned int)v);
    }
}

static unsigned int float_bits(float x)
{
    union {
        float f;
        unsigned int u;
    } pun;
    pun.f = x;
    return pun.u;
}

static void put_hex(unsigned int v)
{
    int shift;
    put_str("0x");
    for (shift = 28; shift >= 0; shift -= 4)
        put_char("0123456789abcdef"[(v >> shift) & 0xFu]);
}

/* x with 3 significant digits, like printf's %.3g for small and large values
 * (d.dde+XX); exact enough to read, while FAIL lines also give the bits. */
static void put_float(float x)
{
    int exp10 = 0;
    unsigned int m;
    if (x != x) {
        put_str("nan");
        return;
    }
    if (x < 0.0f) {
        put_char('-');
        x = -x;
    }
    if (x == 0.0f) {
        put_char('0');
        return;
    }
    if (x > 3.4028235e38f) {
        put_str("inf");
        return;
    }
    while (x >= 10.0f) {
        x /= 10.0f;
        exp10++;
    }
    while (x < 1.0f) {
        x *= 10.0f;
        exp10--;
    }
    m = (unsigned int)(x * 100.0f + 0.5f);
    if (m >= 1000u) {
        m /= 10u;
        exp10++;
    }
    put_char((char)('0' + m / 100u));
    put_char('.');
    put_char((char)('0' + m / 10u % 10u));
    put_char((char)('0' + m % 10u));
    put_char('e');
    put_char(exp10 < 0 ? '-' : '+');
    if (exp10 < 0)
        exp10 = -exp10;
    put_char((char)('0' + exp10 / 10));
    put_char((char)('0' + exp10 % 10));
}

/* ---- exit and traps (replace the weak ones in startup_rv32.S) ---- */
void lg_exit(int status);
void lg_exit(int status)
{
    SIFIVE_TEST = status == 0 ? SIFIVE_TEST_PASS : ((unsigned int)status << 16) | SIFIVE_TEST_FAIL;
    for (;;)
        ;
}

void lg_trap(unsigned int mcause, unsigned int mepc);
void lg_trap(unsigned int mcause, unsigned int mepc)
{
    put_str("FAIL trap: mcause ");
    put_hex(mcause);
    put_str(", mepc ");
    put_hex(mepc);
    put_str("\n0 passed, 1 failed\n");
    lg_exit(3);
}

/* ---- measurements ---- */
static unsigned int instret(void)
{
    unsigned int n;
    /* rdinstret is a Zicsr instruction, which binutils >= 2.38 no longer implies with rv32imac */
    __asm__ volatile(".option push\n\t.option arch, +zicsr\n\trdinstret %0\n\t.option pop" : "=r"(n));
    return n;
}

/* A loop of exactly 2 * n instructions (addi, bnez), for calibration. */
static void __attribute__((noinline)) spin(unsigned int n)
{
    __asm__ volatile("1:\taddi %0, %0, -1\n\tbnez %0, 1b" : "+r"(n));
}

/* Differences are taken modulo 2^32: exact for intervals under 4.29 G instructions. */
static unsigned int __attribute__((noinline)) measure_infer(const golden_value_t *in, golden_value_t *out)
{
    unsigned int t0 = instret();
    GOLDEN_INFER(in, out);
    return instret() - t0;
}

static unsigned int __attribute__((noinline)) measure_spin(unsigned int n)
{
    unsigned int t0 = instret();
    spin(n);
    return instret() - t0;
}

static unsigned int __attribute__((noinline)) measure_nothing(void)
{
    unsigned int t0 = instret();
    __asm__ volatile("" ::: "memory");
    return instret() - t0;
}

/* Paints PAINT_BYTES below the current stack pointer (minus a margin for
 * this function), runs one inference, returns the bytes it overwrote. */
static unsigned int __attribute__((noinline)) measure_stack(const golden_value_t *in, golden_value_t *out)
{
    unsigned int *sp, *lo, *p;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    lo = sp - 64u - PAINT_BYTES / 4u;
    for (p = lo; p < sp - 64u; p++)
        *p = PAINT_WORD;
    GOLDEN_INFER(in, out);
    for (p = lo; p < sp - 64u && *p == PAINT_WORD; p++)
        ;
    return (unsigned int)((char *)sp - (char *)p);
}

static void report_case(int k, float worst, unsigned int count)
{
    int best = argmax(output, GOLDEN_OUTPUT_SIZE);
    put_str("ok   ");
    put_padded(golden_name[k], 22);
    put_str(" class ");
    put_int(best);
    if (golden_label[k] >= 0)
        put_str(best == golden_label[k] ? " (= label)" : " (label differs)");
    put_str("  max |diff| ");
    put_float(worst);
    put_str("  ");
    put_uint(count);
    put_str(" instructions\n");
}

static void report_mismatch(int k, int bad)
{
    put_str("FAIL ");
    put_padded(golden_name[k], 22);
    put_str(" output[");
    put_int(bad);
    put_str("] = ");
    put_float((float)output[bad]);
    put_str(" (");
    put_hex(float_bits((float)output[bad]));
    put_str("), expected ");
    put_float((float)golden_output[k][bad]);
    put_str(" (");
    put_hex(float_bits((float)golden_output[k][bad]));
    put_str(") (tolerance " GOLDEN_TOLERANCE_TEXT ")\n");
}

int main(void);
int main(void)
{
    int k, passed = 0, failed = 0;
    unsigned int overhead, cal, min_count = 0xFFFFFFFFu, max_count = 0u, stack;
    unsigned long long sum_count = 0u;
    float worst_all = 0.0f;

    put_str("lenetgen firmware test: " GOLDEN_MODEL ", " FW_TARGET_DESC ", ");
    put_int(GOLDEN_COUNT);
    put_str(" golden inputs\n");

    overhead = measure_nothing();
    cal = measure_spin(CALIBRATION_LOOPS) - overhead;
    put_str("calibration: ");
    put_uint(2u * CALIBRATION_LOOPS);
    put_str("-instruction loop = ");
    put_uint(cal);
    put_str(" instructions counted by rdinstret\n");
    /* the call, the return and the loop's set-up add a few */
    if (cal < 2u * CALIBRATION_LOOPS || cal > 2u * CALIBRATION_LOOPS + 8u) {
        put_str("FAIL calibration: not run with -icount shift=0? instruction counts below are wrong\n");
        failed++;
    } else {
        passed++;
    }

    for (k = 0; k < GOLDEN_COUNT; k++) {
        float worst;
        unsigned int count = measure_infer(golden_input[k], output) - overhead;
        int bad = first_mismatch(output, golden_output[k], GOLDEN_OUTPUT_SIZE, &worst);
        if (count < min_count)
            min_count = count;
        if (count > max_count)
            max_count = count;
        sum_count += count;
        if (worst > worst_all)
            worst_all = worst;
        if (bad < 0) {
            passed++;
            report_case(k, worst, count);
        } else {
            failed++;
            report_mismatch(k, bad);
        }
    }
    stack = measure_stack(golden_input[0], output);

    put_str("instructions per inference: ");
    put_uint(max_count);
    put_str(" (worst of ");
    put_int(GOLDEN_COUNT);
    put_str(" inputs; min ");
    put_uint(min_count);
    put_str(", mean ");
    put_uint((unsigned int)(sum_count / (unsigned long long)GOLDEN_COUNT));
    put_str("; QEMU -icount instruction count, not cycles, exact)\n");
    put_str("largest |diff| over all inputs: ");
    put_float(worst_all);
    put_str("\nstack used by one inference (painted): ");
    put_uint(stack);
    put_str(" bytes\n");
    put_int(passed);
    put_str(" passed, ");
    put_int(failed);
    put_str(" failed\n");
    return failed == 0 ? 0 : 1;
}
