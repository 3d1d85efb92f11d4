/* Three threads that all wait at one barrier while the main thread stops in all_started(). */
#include <pthread.h>
#include <stdio.h>

static pthread_barrier_t started, release;

void all_started(void)
{
    puts("all started");
}

static void *worker(void *argument)
{
    pthread_barrier_wait(&started);
    pthread_barrier_wait(&release);
    return argument;
}

int main(void)
{
    pthread_t threads[3];
    pthread_barrier_init(&started, NULL, 4);
    pthread_barrier_init(&release, NULL, 4);
    for (int i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, worker, NULL);
    pthread_barrier_wait(&started);
    all_started();
    pthread_barrier_wait(&release);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    puts("joined");
    return 0;
}
