/* Time: clock_gettime on several clocks, clock_getres, gettimeofday against time(), clock_nanosleep, times, 64-bit time. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    struct timespec r, m1, m2, real, cpu;
    clock_getres(CLOCK_MONOTONIC, &r); printf("monotonic resolution <= 1ms %d\n", r.tv_sec == 0 && r.tv_nsec <= 1000000);
    clock_gettime(CLOCK_MONOTONIC, &m1);
    struct timespec d = {0, 10000000}; clock_nanosleep(CLOCK_MONOTONIC, 0, &d, 0);
    clock_gettime(CLOCK_MONOTONIC, &m2);
    long long ns = (m2.tv_sec - m1.tv_sec) * 1000000000LL + (m2.tv_nsec - m1.tv_nsec);
    printf("clock_nanosleep >= 10ms %d\n", ns >= 10000000);
    clock_gettime(CLOCK_MONOTONIC, &m1); m1.tv_nsec += 5000000; if (m1.tv_nsec >= 1000000000) { m1.tv_sec++; m1.tv_nsec -= 1000000000; }
    printf("absolute sleep %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &m1, 0));
    clock_gettime(CLOCK_REALTIME, &real); time_t t = time(0); struct timeval tv; gettimeofday(&tv, 0);
    printf("realtime agrees %d %d\n", t - real.tv_sec <= 1, tv.tv_sec - real.tv_sec <= 1);
    printf("after 2020 %d\n", real.tv_sec > 1577836800);
    printf("process cpu clock %d\n", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0);
    printf("boottime %d\n", clock_gettime(CLOCK_BOOTTIME, &cpu) == 0 && cpu.tv_sec >= 0);
    struct tms buf; printf("times %d clk_tck %ld\n", times(&buf) != (clock_t)-1, sysconf(_SC_CLK_TCK));
    printf("bad clock %d\n", clock_gettime(1234, &cpu));
    return 0;
}
