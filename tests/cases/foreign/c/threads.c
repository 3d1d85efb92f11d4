#include <pthread.h>
#include <stdio.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long total;
static __thread int mine;
static void *work(void *argument) {
    mine = (int)(long)argument;
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&lock);
        total += mine;
        pthread_mutex_unlock(&lock);
    }
    return (void *)(long)(mine * 2);
}
int main(void) {
    pthread_t threads[4];
    for (long i = 0; i < 4; i++) pthread_create(&threads[i], 0, work, (void *)(i + 1));
    long sum = 0;
    for (int i = 0; i < 4; i++) { void *r; pthread_join(threads[i], &r); sum += (long)r; }
    printf("total %ld joined %ld main tls %d\n", total, sum, mine);
    return 0;
}
