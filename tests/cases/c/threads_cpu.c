/* CPU work split over N threads (argv[1], default 2; argv[2] rounds): each hashes its own share.
 * The sum is the same for any N, so the output is too; bench/run times it
 * with 1 and 2 threads (on the native platform 2 threads must take about half the time). With a
 * third argument it prints the time the work took (start-up excluded) to stderr. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SHARES 64

static long rounds = 8000000;
static int threads = 2;
static uint64_t results[SHARES];

static uint64_t mix(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
    return x;
}

static void *work(void *argument) {
    long index = (long)argument;
    for (int share = (int)index; share < SHARES; share += threads) {
        uint64_t value = (uint64_t)share;
        for (long i = 0; i < rounds / SHARES; i++)
            value = mix(value + (uint64_t)i);
        results[share] = value;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) threads = atoi(argv[1]);
    if (argc > 2) rounds = atol(argv[2]);
    if (threads < 1 || threads > SHARES) threads = 2;
    struct timespec started, ended;
    clock_gettime(CLOCK_MONOTONIC, &started);
    pthread_t ids[SHARES];
    for (long t = 1; t < threads; t++)
        if (pthread_create(&ids[t], NULL, work, (void *)t) != 0) { printf("pthread_create failed\n"); return 1; }
    work((void *)0);
    for (long t = 1; t < threads; t++)
        pthread_join(ids[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &ended);
    if (argc > 3)
        fprintf(stderr, "elapsed %lld\n", (long long)(ended.tv_sec - started.tv_sec) * 1000000000LL + (ended.tv_nsec - started.tv_nsec));
    uint64_t sum = 0;
    for (int share = 0; share < SHARES; share++) sum ^= results[share];
    printf("sum %016llx\n", (unsigned long long)sum);
    return 0;
}
