/* RLIMIT_FSIZE as Linux holds a regular file to it: a write that starts at or past the soft limit
 * is EFBIG and sends SIGXFSZ, one that would cross it is shortened to end there (write, pwrite,
 * writev, O_APPEND, copy_file_range); truncate, ftruncate and fallocate that grow a file past it
 * are EFBIG with SIGXFSZ, shrinking is not limited, and neither are pipes. SIGXFSZ handled, ignored,
 * and left at its default (the process dies of it, and a child inherits the limit). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIMIT 100

static volatile int signals, signal_code, signal_from_self;

static void on_xfsz(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    signals++;
    signal_code = info->si_code;
    signal_from_self = info->si_pid == getpid();
}

static void show(const char *what, long result) {
    if (result < 0)
        printf("%s: -1 %s", what, strerror(errno));
    else
        printf("%s: %ld", what, result);
    printf(" (SIGXFSZ %d)\n", signals);
}

static char data[256];

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || chdir(argv[1]) != 0)
        return 2;
    memset(data, 'x', sizeof data);
    struct rlimit limit = { LIMIT, RLIM_INFINITY };
    show("setrlimit", setrlimit(RLIMIT_FSIZE, &limit));
    struct rlimit now;
    getrlimit(RLIMIT_FSIZE, &now);
    printf("RLIMIT_FSIZE %lu\n", (unsigned long)now.rlim_cur);
    struct sigaction action = { .sa_sigaction = on_xfsz, .sa_flags = SA_SIGINFO };
    sigaction(SIGXFSZ, &action, NULL);

    int fd = open("limited", O_CREAT | O_TRUNC | O_RDWR, 0644);
    show("write 60", write(fd, data, 60));
    show("write 60 crossing the limit", write(fd, data, 60));
    show("write 10 at the limit", write(fd, data, 10));
    printf("si_code %d, from itself %d\n", signal_code, signal_from_self);
    show("write 0 at the limit", write(fd, data, 0));
    show("pwrite 5 past the limit", pwrite(fd, data, 5, 200));
    show("pwrite 20 crossing", pwrite(fd, data, 20, 90));
    struct iovec vectors[2] = { { data, 10 }, { data + 10, 10 } };
    show("writev at the limit", writev(fd, vectors, 2));
    lseek(fd, 95, SEEK_SET);
    show("writev crossing", writev(fd, vectors, 2));
    show("pwritev crossing", pwritev(fd, vectors, 2, 85));
    show("ftruncate 50 (shrink)", ftruncate(fd, 50));
    show("ftruncate 100 (to the limit)", ftruncate(fd, LIMIT));
    show("ftruncate 101", ftruncate(fd, LIMIT + 1));
    show("truncate 200", truncate("limited", 200));
    show("ftruncate 20", ftruncate(fd, 20));
    show("fallocate 0..80", fallocate(fd, 0, 0, 80));
    show("fallocate 0..150", fallocate(fd, 0, 0, 150));
    struct stat status;
    fstat(fd, &status);
    printf("size %ld\n", (long)status.st_size);
    close(fd);

    fd = open("limited", O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    show("append 30 crossing", write(fd, data, 30));
    show("append 1 at the limit", write(fd, data, 1));
    show("pwrite with O_APPEND appends", pwrite(fd, data, 1, 0));
    close(fd);

    int source = open("source", O_CREAT | O_TRUNC | O_RDWR, 0644);
    write(source, data, 50);
    int target = open("copy", O_CREAT | O_TRUNC | O_RDWR, 0644);
    loff_t from = 0, to = 90;
    show("copy_file_range crossing", syscall(SYS_copy_file_range, source, &from, target, &to, 50, 0));
    printf("offsets %ld %ld\n", (long)from, (long)to);
    show("copy_file_range at the limit", syscall(SYS_copy_file_range, source, &from, target, &to, 5, 0));
    close(source);
    close(target);
    unlink("source");
    unlink("copy");

    int pipes[2];
    pipe(pipes);
    show("write 200 into a pipe", write(pipes[1], data, 200));
    close(pipes[0]);
    close(pipes[1]);

    signal(SIGXFSZ, SIG_IGN);
    fd = open("limited", O_WRONLY);
    show("ignored: pwrite at the limit", pwrite(fd, data, 1, LIMIT));
    close(fd);

    signal(SIGXFSZ, SIG_DFL);
    pid_t child = fork();
    if (child == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        fd = open("limited", O_WRONLY);
        pwrite(fd, data, 1, LIMIT);
        printf("child survived\n");
        _exit(0);
    }
    int wstatus;
    waitpid(child, &wstatus, 0);
    if (WIFSIGNALED(wstatus))
        printf("default: child killed by signal %d\n", WTERMSIG(wstatus));
    else
        printf("default: child exited %d\n", WEXITSTATUS(wstatus));
    return 0;
}
