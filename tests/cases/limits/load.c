// Load for Trapeze's own bookkeeping: load FORKS FILES THREADS PROCESSES CALLS
//   FORKS      processes forked, exited and reaped one after another
//   FILES      descriptors open at once (then all closed), and as many open/close pairs
//   THREADS    threads alive at once, then as many created and joined one after another
//   PROCESSES  processes alive at once (a tree: each child waits on a pipe until the parent closes it)
//   CALLS      cheap system calls in a row
// It does all of that twice. Before the first phase and after each, it prints "checkpoint NAME
// ROUND" and waits for a line on stdin, so the test can measure Trapeze's memory and host
// descriptors between phases: what a leak keeps grows again in the second round.
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void checkpoint(const char *name, int round) {
    char line[16];
    printf("checkpoint %s %d\n", name, round);
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        exit(3);
}

static void forks(int count) {
    for (int i = 0; i < count; i++) {
        pid_t child = fork();
        if (child == 0)
            _exit(7);
        int status;
        if (child < 0 || waitpid(child, &status, 0) != child || WEXITSTATUS(status) != 7) {
            printf("fork %d failed\n", i);
            exit(1);
        }
    }
}

static void files(int count) {
    struct rlimit limit = { count + 16, count + 16 };
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        perror("setrlimit");
        exit(1);
    }
    int *open_ones = malloc(sizeof(int) * count);
    for (int i = 0; i < count; i++) {
        if ((open_ones[i] = open("/dev/null", O_RDONLY)) < 0) {
            printf("open %d failed\n", i);
            exit(1);
        }
    }
    for (int i = 0; i < count; i++)
        close(open_ones[i]);
    for (int i = 0; i < count; i++)
        close(open("/dev/null", O_RDONLY));
    free(open_ones);
}

static pthread_barrier_t all_started;

static void *wait_for_all(void *argument) {
    pthread_barrier_wait(&all_started);
    return argument;
}

static void *nothing(void *argument) { return argument; }

static void threads(int count) {
    pthread_t *ids = malloc(sizeof(pthread_t) * count);
    pthread_barrier_init(&all_started, NULL, count + 1);
    for (int i = 0; i < count; i++) {
        if (pthread_create(&ids[i], NULL, wait_for_all, NULL) != 0) {
            printf("thread %d failed\n", i);
            exit(1);
        }
    }
    pthread_barrier_wait(&all_started);
    for (int i = 0; i < count; i++)
        pthread_join(ids[i], NULL);
    pthread_barrier_destroy(&all_started);
    for (int i = 0; i < count; i++) {
        pthread_t id;
        if (pthread_create(&id, NULL, nothing, NULL) != 0 || pthread_join(id, NULL) != 0) {
            printf("thread round %d failed\n", i);
            exit(1);
        }
    }
    free(ids);
}

// Each level forks the next and waits for it, holding the read end of one pipe: all are alive at
// once, until the first process (told by the deepest that the tree is whole) closes the write end.
static void processes(int count) {
    int release[2], ready[2];
    if (pipe(release) != 0 || pipe(ready) != 0)
        exit(1);
    pid_t first = fork();
    if (first == 0) {
        close(release[1]);
        close(ready[0]);
        for (int level = 1; level < count; level++) {
            pid_t child = fork();
            if (child < 0)
                _exit(1);
            if (child > 0) {
                close(ready[1]);
                char byte;
                read(release[0], &byte, 1);
                int status;
                waitpid(child, &status, 0);
                _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
            }
        }
        write(ready[1], "x", 1);
        char byte;
        read(release[0], &byte, 1);
        _exit(0);
    }
    close(release[0]);
    close(ready[1]);
    char byte;
    int whole = read(ready[0], &byte, 1) == 1;
    close(release[1]);
    int status;
    if (!whole || first < 0 || waitpid(first, &status, 0) != first || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("process tree failed\n");
        exit(1);
    }
    close(ready[0]);
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: load FORKS FILES THREADS PROCESSES CALLS\n");
        return 2;
    }
    checkpoint("start", 0);
    for (int round = 1; round <= 2; round++) {
        forks(atoi(argv[1]));
        checkpoint("forks", round);
        files(atoi(argv[2]));
        checkpoint("files", round);
        threads(atoi(argv[3]));
        checkpoint("threads", round);
        processes(atoi(argv[4]));
        checkpoint("processes", round);
        for (long i = 0, calls = atol(argv[5]); i < calls; i++)
            syscall(SYS_getppid);
        checkpoint("calls", round);
    }
    printf("done\n");
    return 0;
}
