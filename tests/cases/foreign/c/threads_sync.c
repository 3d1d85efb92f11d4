/* Threads: condition variables, a barrier, a rwlock, pthread_once, atomics across 4 threads, thread ids. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int turn, onces, atomic_total, shared_value;
static long tids[4];
static void init(void) { onces++; }
static void *work(void *arg) {
    int me = (int)(long)arg;
    tids[me] = syscall(SYS_gettid);
    pthread_once(&once, init);
    pthread_mutex_lock(&lock);
    while (turn != me) pthread_cond_wait(&ready, &lock);
    printf("turn %d\n", me); turn++;
    pthread_cond_broadcast(&ready);
    pthread_mutex_unlock(&lock);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 5000; i++) __atomic_fetch_add(&atomic_total, 1, __ATOMIC_SEQ_CST);
    pthread_rwlock_wrlock(&rw); shared_value += me; pthread_rwlock_unlock(&rw);
    return 0;
}
int main(void) {
    pthread_t t[4]; pthread_barrier_init(&barrier, 0, 4);
    for (long i = 3; i >= 0; i--) pthread_create(&t[i], 0, work, (void *)i);
    for (int i = 0; i < 4; i++) pthread_join(t[i], 0);
    int distinct = 1; for (int i = 0; i < 4; i++) for (int j = 0; j < i; j++) distinct &= tids[i] != tids[j] && tids[i] != getpid();
    printf("once %d atomic %d rw %d distinct tids %d\n", onces, atomic_total, shared_value, distinct);
    return 0;
}
