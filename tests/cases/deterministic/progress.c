/*
 * The virtual clock of `trapeze run --deterministic` counts guest progress from its first reading
 * on: the work before that reading moved no clock anyone saw, so the first reading is the epoch
 * itself; work between two readings moves both the monotonic clock and the CPU-time clock.
 */
#include <stdio.h>
#include <time.h>

static unsigned long spin(long rounds)
{
    volatile unsigned long x = 1;
    for (long i = 0; i < rounds; i++)
        x = x * 6364136223846793005ul + (unsigned long)i;
    return x;
}

static long nanoseconds(clockid_t clock)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return now.tv_sec * 1000000000L + now.tv_nsec;
}

int main(void)
{
    unsigned long before = spin(2000000);
    long first = nanoseconds(CLOCK_MONOTONIC);
    long cpu_first = nanoseconds(CLOCK_PROCESS_CPUTIME_ID);
    unsigned long between = spin(2000000);
    long second = nanoseconds(CLOCK_MONOTONIC);
    long cpu_second = nanoseconds(CLOCK_PROCESS_CPUTIME_ID);
    printf("first monotonic %ld.%09ld\n", first / 1000000000L, first % 1000000000L);
    printf("the work between moved the clock: %s\n", second - first > 1000000 ? "yes" : "no");
    printf("and the CPU time: %s\n", cpu_second - cpu_first > 1000000 ? "yes" : "no");
    printf("%lu %lu\n", before, between);
    return 0;
}
