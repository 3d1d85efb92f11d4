// Threads: 8 threads with a mutex, a condition variable, join, detach, thread-local storage,
// robust mutexes, futex timeouts, and lock-prefixed atomics that must stay atomic between guest
// threads and between processes sharing memory.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { Threads = 8, Rounds = 20000, AtomicRounds = 300000 };

static void check(const char *what, int ok) { printf("%-56s %s\n", what, ok ? "yes" : "no"); fflush(stdout); }

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static long counter, turn;
static __thread long mine;
static long atomic_sum, atomic_swaps;

static void *count(void *argument) {
    mine = (long)argument;
    for (int i = 0; i < Rounds; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return (void *)(mine * 2);
}

// Threads take turns in order, each waiting on the condition variable for its number.
static void *take_turn(void *argument) {
    long me = (long)argument;
    for (int round = 0; round < 50; round++) {
        pthread_mutex_lock(&lock);
        while (turn % Threads != me)
            pthread_cond_wait(&changed, &lock);
        turn++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *add_atomically(void *argument) {
    (void)argument;
    for (int i = 0; i < AtomicRounds; i++) {
        __atomic_fetch_add(&atomic_sum, 1, __ATOMIC_SEQ_CST); // lock xadd
        long seen = __atomic_load_n(&atomic_swaps, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&atomic_swaps, &seen, seen + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) // lock cmpxchg
            ;
    }
    return NULL;
}

static sem_t detached_done;
static void *detached(void *argument) { (void)argument; sem_post(&detached_done); return NULL; }

static pthread_mutex_t robust;
static void *die_holding(void *argument) { (void)argument; pthread_mutex_lock(&robust); return NULL; }

int main(void) {
    pthread_t threads[Threads];
    long results = 0;
    for (long i = 0; i < Threads; i++)
        pthread_create(&threads[i], NULL, count, (void *)i);
    for (int i = 0; i < Threads; i++) {
        void *result;
        pthread_join(threads[i], &result);
        results += (long)result;
    }
    check("8 threads x 20000 increments under a mutex", counter == Threads * Rounds);
    check("join returns each thread's value (thread-local storage)", results == 56);

    for (long i = 0; i < Threads; i++)
        pthread_create(&threads[i], NULL, take_turn, (void *)i);
    for (int i = 0; i < Threads; i++)
        pthread_join(threads[i], NULL);
    check("condition variable: 8 threads take 400 turns in order", turn == Threads * 50);

    for (int i = 0; i < Threads; i++)
        pthread_create(&threads[i], NULL, add_atomically, NULL);
    for (int i = 0; i < Threads; i++)
        pthread_join(threads[i], NULL);
    check("lock xadd across 8 threads keeps the exact total", atomic_sum == (long)Threads * AtomicRounds);
    check("lock cmpxchg across 8 threads keeps the exact total", atomic_swaps == (long)Threads * AtomicRounds);

    sem_init(&detached_done, 0, 0);
    pthread_t loose;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    check("a detached thread runs", pthread_create(&loose, &attributes, detached, NULL) == 0 && sem_wait(&detached_done) == 0);

    pthread_mutexattr_t robustness;
    pthread_mutexattr_init(&robustness);
    pthread_mutexattr_setrobust(&robustness, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &robustness);
    pthread_t holder;
    pthread_create(&holder, NULL, die_holding, NULL);
    pthread_join(holder, NULL);
    int locked = pthread_mutex_lock(&robust);
    check("a robust mutex whose owner died: EOWNERDEAD", locked == EOWNERDEAD);
    check("made consistent, it locks again", pthread_mutex_consistent(&robust) == 0 && pthread_mutex_unlock(&robust) == 0 && pthread_mutex_lock(&robust) == 0);
    pthread_mutex_unlock(&robust);

    struct timespec deadline, before, after;
    // The monotonic start is read first: a thread preempted between the two reads then measures
    // more than the timeout, never less.
    clock_gettime(CLOCK_MONOTONIC, &before);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 50 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000; }
    // A fresh condition variable, and the loop POSIX asks for: a wait may wake without a signal.
    pthread_cond_t never_signalled = PTHREAD_COND_INITIALIZER;
    int waited;
    pthread_mutex_lock(&lock);
    do
        waited = pthread_cond_timedwait(&never_signalled, &lock, &deadline);
    while (waited == 0);
    pthread_mutex_unlock(&lock);
    clock_gettime(CLOCK_MONOTONIC, &after);
    long elapsed = (after.tv_sec - before.tv_sec) * 1000 + (after.tv_nsec - before.tv_nsec) / 1000000;
    check("pthread_cond_timedwait times out after its deadline", waited == ETIMEDOUT && elapsed >= 45);
    sem_t never;
    sem_init(&never, 0, 0);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 20 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000; }
    check("sem_timedwait times out: ETIMEDOUT", sem_timedwait(&never, &deadline) == -1 && errno == ETIMEDOUT);

    // Two processes add to one MAP_SHARED counter with lock xadd.
    long *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t child = fork();
    for (int i = 0; i < AtomicRounds; i++)
        __atomic_fetch_add(shared, 1, __ATOMIC_SEQ_CST);
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    check("lock xadd from two processes on MAP_SHARED memory", *shared == 2L * AtomicRounds);
    return 0;
}
