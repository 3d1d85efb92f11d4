/* Threads: __thread and pthread keys with destructors, detached threads, thread stacks of a set size, exit value. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static __thread int counter = 100;
static __thread char name[16];
static pthread_key_t key;
static int destroyed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void destroy(void *value) { pthread_mutex_lock(&lock); destroyed += (int)(long)value; pthread_mutex_unlock(&lock); }
static void *work(void *arg) {
    counter += (int)(long)arg; snprintf(name, sizeof name, "t%ld", (long)arg);
    pthread_setspecific(key, arg);
    char big[100000]; memset(big, (int)(long)arg, sizeof big);
    usleep(1000);
    return (void *)(long)(counter + big[500] + (name[1] - '0'));
}
static volatile int detached_done;
static void *detached(void *arg) { detached_done = 1; return 0; }
int main(void) {
    pthread_key_create(&key, destroy);
    pthread_attr_t attr; pthread_attr_init(&attr); pthread_attr_setstacksize(&attr, 1 << 20);
    pthread_t t[3];
    for (long i = 1; i <= 3; i++) pthread_create(&t[i - 1], &attr, work, (void *)i);
    for (int i = 0; i < 3; i++) { void *r; pthread_join(t[i], &r); printf("thread %d returned %ld\n", i + 1, (long)r); }
    pthread_t d; pthread_create(&d, 0, detached, 0); pthread_detach(d);
    while (!detached_done) usleep(1000);
    printf("main counter %d name '%s' destructors %d\n", counter, name, destroyed);
    return 0;
}
