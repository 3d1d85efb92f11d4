#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/resource.h>
int main(void) {
    struct timespec a, b, sleep = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&sleep, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long elapsed = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
    printf("slept at least 20 ms: %d\n", elapsed >= 20 * 1000 * 1000);
    struct timeval now; gettimeofday(&now, 0); printf("time of day after 2020: %d\n", now.tv_sec > 1577836800);
    char *page = mmap(0, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(page + 4096, "mapped");
    printf("mmap %s\n", page + 4096);
    int protected = mprotect(page, 4096, PROT_READ);
    int unmapped = munmap(page, 1 << 16);
    printf("mprotect %d munmap %d\n", protected, unmapped);
    struct rlimit limit; getrlimit(RLIMIT_NOFILE, &limit); printf("nofile limit > 0: %d\n", limit.rlim_cur > 0);
    return 0;
}
