// bench: title=Threads: pthread create+join x 10000
// bench: kind=process
// bench: args=10000
// bench: quick-args=100
// bench: strace-args=1000
// bench: strace-scale=10
// Creates and joins N threads, one at a time.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *nothing(void *argument) { return argument; }

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    for (long i = 0; i < n; i++) {
        pthread_t thread;
        void *result;
        if (pthread_create(&thread, NULL, nothing, (void *)i) || pthread_join(thread, &result) || (long)result != i)
            return 1;
    }
    printf("%ld threads\n", n);
    return 0;
}
