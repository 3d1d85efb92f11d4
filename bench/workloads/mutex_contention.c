// bench: title=Threads: 8 threads contending one pthread mutex, 1M locks in all
// bench: kind=process
// bench: args=125000
// bench: quick-args=2000
// bench: strace-args=12500
// bench: strace-scale=10
// Eight threads each take and release one shared mutex N times.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter, rounds;

static void *work(void *argument)
{
    (void)argument;
    for (long i = 0; i < rounds; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? atol(argv[1]) : 125000;
    pthread_t threads[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&threads[i], NULL, work, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(threads[i], NULL);
    printf("%ld\n", counter);
    return counter != 8 * rounds;
}
