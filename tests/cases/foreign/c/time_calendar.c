/* Time and libc: gmtime/mktime/strftime of fixed times, 64-bit arithmetic (__divdi3), qsort, strtod, snprintf of floats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static int compare(const void *a, const void *b) { long long x = *(long long *)a, y = *(long long *)b; return (x > y) - (x < y); }
int main(void) {
    time_t t = 1234567890; struct tm tm; gmtime_r(&t, &tm);
    char text[64]; strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %a %j", &tm); printf("gmtime %s\n", text);
    tm.tm_year = 100; tm.tm_mon = 1; tm.tm_mday = 29; tm.tm_hour = 12; tm.tm_min = 0; tm.tm_sec = 0; tm.tm_isdst = 0;
    printf("timegm %lld\n", (long long)timegm(&tm));
    long long big = 0x123456789abcLL; printf("divide %lld %lld %llu\n", big / 12345, big % 12345, (unsigned long long)big * 3 >> 7);
    long long values[] = {5000000000LL, -3, 42, 1LL << 40, 0}; qsort(values, 5, sizeof *values, compare);
    for (int i = 0; i < 5; i++) printf("%lld ", values[i]); printf("\n");
    printf("strtod %.4f %g %e\n", strtod("3.14159", 0), 1.0 / 3, 12345.678);
    printf("difftime %.1f\n", difftime(2000, 1000));
    return 0;
}
