/* Floating point as the hardware does it: the SSE exception flags each operation leaves in MXCSR
 * (and fetestexcept, which reads them), and x87 long double remainders and transcendentals
 * (fprem, fyl2x, f2xm1, fpatan) at their full 64-bit precision. Exact on the native platform by
 * construction; Unicorn's TCG never sets the SSE flags and computes these at double precision
 * (DifferentialTests leaves this case out on Unicorn, with that reason). */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

static volatile double zero = 0.0, one = 1.0, three = 3.0, big = DBL_MAX, tiny = DBL_MIN;
static volatile float onef = 1.0f, threef = 3.0f;

static unsigned flags_after(const char *what, double (*operation)(void)) {
    uint32_t mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    mxcsr &= ~0x3fu;
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    volatile double result = operation();
    (void)result;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    printf("%-16s mxcsr flags %#04x\n", what, mxcsr & 0x3f);
    return mxcsr & 0x3f;
}

static double divide_by_zero(void) { return one / zero; }
static double invalid(void) { return zero / zero; }
static double inexact(void) { return one / three; }
static double overflow(void) { return big * 2.0; }
static double underflow(void) { return tiny * tiny; }
static double exact(void) { return one + one; }
static double float_inexact(void) { return onef / threef; }
static double square_root_negative(void) { return sqrt(-one); }

int main(void) {
    flags_after("1.0/0.0", divide_by_zero);
    flags_after("0.0/0.0", invalid);
    flags_after("1.0/3.0", inexact);
    flags_after("DBL_MAX*2", overflow);
    flags_after("DBL_MIN^2", underflow);
    flags_after("1.0+1.0", exact);
    flags_after("1.0f/3.0f", float_inexact);
    flags_after("sqrt(-1)", square_root_negative);

    feclearexcept(FE_ALL_EXCEPT);
    volatile double quotient = one / zero;
    (void)quotient;
    printf("fetestexcept(FE_DIVBYZERO) %d\n", fetestexcept(FE_DIVBYZERO) != 0);

    volatile long double a = 10.1L, b = 3.0L, x = 0.7L;
    printf("fmodl(10.1L, 3) %La\n", fmodl(a, b));
    printf("remainderl(10.1L, 3) %La\n", remainderl(a, b));
    printf("logl(0.7L) %La\n", logl(x));
    printf("expl(0.7L) %La\n", expl(x));
    printf("atanl(0.7L) %La\n", atanl(x));
    printf("log2l(10.1L) %La\n", log2l(a));
    printf("sqrtl(3.0L) %La\n", sqrtl(b));
    return 0;
}
