/* Shared memory: MAP_SHARED|MAP_ANONYMOUS seen across fork, a shared counter under a process-shared mutex. */
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
struct shared { pthread_mutex_t lock; int counter; char text[32]; };
int main(void) {
    struct shared *s = mmap(0, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t attr; pthread_mutexattr_init(&attr); pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->lock, &attr);
    int *private = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); *private = 1;
    pid_t children[3];
    for (int c = 0; c < 3; c++) {
        if ((children[c] = fork()) == 0) {
            for (int i = 0; i < 1000; i++) { pthread_mutex_lock(&s->lock); s->counter++; pthread_mutex_unlock(&s->lock); }
            *private = 99;
            if (c == 0) snprintf(s->text, sizeof s->text, "from child %d", c);
            _exit(0);
        }
    }
    for (int c = 0; c < 3; c++) waitpid(children[c], 0, 0);
    printf("counter %d text '%s' private %d\n", s->counter, s->text, *private);
    return 0;
}
