/* Floating point through libm's PLT (the first call of each function goes through the dynamic
   loader's lazy-binding trampoline, which saves the argument registers with fxsave/xsave),
   and fxsave/fxrstor themselves. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile double one = 1.0, two = 2.0;

int main(void) {
    /* A process starts with the x87 control word and MXCSR Linux gives it (psABI: 0x37f, 0x1f80). */
    uint16_t control;
    uint32_t sse;
    __asm__ volatile("fnstcw %0\n\tstmxcsr %1" : "=m"(control), "=m"(sse));
    printf("x87 control word %#x, mxcsr %#x\n", control, sse);
    printf("atan2 %.12f\n", atan2(one, one) * 4);
    printf("atan %.12f sin %.12f cos %.12f tan %.12f\n", atan(two), sin(two), cos(two), tan(two));
    printf("exp %.12f log %.12f log10 %.12f pow %.12f\n", exp(two), log(two), log10(two), pow(two, 0.5));
    printf("sqrt %.12f cbrt %.12f hypot %.12f fmod %.12f\n", sqrt(two), cbrt(two), hypot(one, two), fmod(7.5, two));
    printf("floor %.1f ceil %.1f round %.1f trunc %.1f rint %.1f\n", floor(-2.5), ceil(-2.5), round(-2.5), trunc(-2.5), rint(-2.5));
    printf("float: sinf %.6f expf %.6f\n", sinf((float)two), expf((float)two));
    long double wide = two;
    printf("long double: sqrtl %.15Lf expl %.15Lf\n", sqrtl(wide), expl(wide));

    /* fxsave must store xmm registers (at byte 160 on), and fxrstor bring them back. */
    _Alignas(16) uint8_t area[512], saved[16];
    _Alignas(16) uint8_t pattern[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    __asm__ volatile("movdqa %1, %%xmm3\n\tfxsave %0\n\tpxor %%xmm3, %%xmm3\n\tfxrstor %0\n\tmovdqu %%xmm3, %2"
                     : "+m"(area) : "m"(pattern), "m"(saved) : "xmm3", "memory");
    printf("fxsave stores xmm3: %s\n", memcmp(area + 160 + 3 * 16, pattern, 16) == 0 ? "yes" : "no");
    printf("fxrstor restores xmm3: %s\n", memcmp(saved, pattern, 16) == 0 ? "yes" : "no");
    return 0;
}
