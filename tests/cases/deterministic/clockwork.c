/*
 * Everything a run usually varies in: clocks, random bytes (getrandom, AT_RANDOM), pids and tids,
 * sleeps, /proc/uptime, and a counter four threads increment without a lock. Under
 * `trapeze run --deterministic` every run prints the same.
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile long counter;

/* A call between the read and the write of the counter: a thread can lose its slice in between. */
__attribute__((noinline)) static void pause_a_little(void)
{
    __asm__ volatile("" ::: "memory");
}

static void *work(void *argument)
{
    for (int i = 0; i < 300000; i++)
    {
        long seen = counter;
        pause_a_little();
        counter = seen + 1;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    printf("thread %ld: tid %ld, monotonic %ld.%09ld\n", (long)argument, (long)syscall(SYS_gettid), (long)now.tv_sec, now.tv_nsec);
    return NULL;
}

int main(void)
{
    struct timespec real, monotonic;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &monotonic);
    printf("pid %d, parent %d, time %ld, realtime %ld.%09ld, monotonic %ld.%09ld\n", getpid(), getppid(), (long)time(NULL),
           (long)real.tv_sec, real.tv_nsec, (long)monotonic.tv_sec, monotonic.tv_nsec);
    unsigned char bytes[8];
    getrandom(bytes, sizeof bytes, 0);
    const unsigned char *at_random = (const unsigned char *)getauxval(AT_RANDOM);
    printf("getrandom %02x%02x%02x%02x%02x%02x%02x%02x, AT_RANDOM %02x%02x%02x%02x\n", bytes[0], bytes[1], bytes[2], bytes[3],
           bytes[4], bytes[5], bytes[6], bytes[7], at_random[0], at_random[1], at_random[2], at_random[3]);
    unsigned char device[4] = {0};
    FILE *urandom = fopen("/dev/urandom", "rb");
    if (urandom != NULL)
    {
        if (fread(device, 1, sizeof device, urandom) != sizeof device)
            device[0] = 0;
        fclose(urandom);
    }
    printf("/dev/urandom %02x%02x%02x%02x\n", device[0], device[1], device[2], device[3]);
    usleep(25000);
    clock_gettime(CLOCK_MONOTONIC, &monotonic);
    printf("after usleep(25000): monotonic %ld.%09ld\n", (long)monotonic.tv_sec, monotonic.tv_nsec);
    char uptime[64] = "";
    FILE *file = fopen("/proc/uptime", "r");
    if (file != NULL)
    {
        if (fgets(uptime, sizeof uptime, file) == NULL)
            uptime[0] = 0;
        fclose(file);
    }
    printf("uptime %s", uptime);
    pthread_t threads[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, work, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    printf("counter %ld of %d\n", counter, 4 * 300000);
    return 0;
}
