/* getrlimit, setrlimit and prlimit64 as Linux answers them: lowering, raising a soft limit up to
 * the hard one, soft above hard (EINVAL), a hard limit raised by root and refused to anyone else
 * (EPERM), RLIMIT_NOFILE past nr_open (EPERM); and the limits held: EMFILE at RLIMIT_NOFILE,
 * ENOMEM past RLIMIT_AS, EAGAIN from fork at RLIMIT_NPROC once unprivileged. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, int result) {
    printf("%s: %s\n", what, result == 0 ? "ok" : strerror(errno));
}

static void value(unsigned long limit) {
    if (limit == RLIM_INFINITY)
        printf("unlimited");
    else
        printf("%lu", limit);
}

static void print(const char *name, int resource) {
    struct rlimit limit;
    if (getrlimit(resource, &limit) != 0) {
        printf("%s: getrlimit %s\n", name, strerror(errno));
        return;
    }
    printf("%s: ", name);
    value(limit.rlim_cur);
    printf(" / ");
    value(limit.rlim_max);
    printf("\n");
}

static int set(int resource, unsigned long soft, unsigned long hard) {
    struct rlimit limit = { soft, hard };
    return setrlimit(resource, &limit);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct { const char *name; int resource; unsigned long soft, hard; } cases[] = {
        { "RLIMIT_NOFILE", RLIMIT_NOFILE, 64, 4096 },
        { "RLIMIT_AS", RLIMIT_AS, 1UL << 30, 2UL << 30 },
        { "RLIMIT_STACK", RLIMIT_STACK, 4UL << 20, 64UL << 20 },
        { "RLIMIT_NPROC", RLIMIT_NPROC, 500, 1000 },
        { "RLIMIT_CORE", RLIMIT_CORE, 0, 1UL << 20 },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *name = cases[i].name;
        int resource = cases[i].resource;
        unsigned long soft = cases[i].soft, hard = cases[i].hard;
        printf("-- %s\n", name);
        show("lower both", set(resource, soft, hard));
        print(name, resource);
        show("soft above hard", set(resource, hard + 1, hard));
        show("soft up to hard", set(resource, hard, hard));
        /* Allowed only with CAP_SYS_RESOURCE: the answer is the host's, natively and under Trapeze. */
        show("raise hard", set(resource, soft, hard * 2));
        struct rlimit old, wanted = { soft / 2, hard };
        if (prlimit(0, resource, &wanted, &old) == 0)
            printf("prlimit64 pid 0: old %lu / %lu\n", (unsigned long)old.rlim_cur, (unsigned long)old.rlim_max);
        else
            printf("prlimit64 pid 0: %s\n", strerror(errno));
        if (prlimit(getpid(), resource, NULL, &old) == 0)
            printf("prlimit64 own pid: now %lu / %lu\n", (unsigned long)old.rlim_cur, (unsigned long)old.rlim_max);
        show("lower hard to the soft limit", set(resource, soft / 2, soft / 2 > 0 ? soft : 0));
        print(name, resource);
    }
    show("RLIMIT_NOFILE hard past nr_open", set(RLIMIT_NOFILE, 16, 2 << 20));
    show("an unknown resource", set(99, 1, 1));
    struct rlimit old;
    show("prlimit64 of no process", (int)prlimit(0x3fffffff, RLIMIT_NOFILE, NULL, &old));

    /* Descriptors stop at RLIMIT_NOFILE (now 32 / 64). */
    show("RLIMIT_NOFILE 10", set(RLIMIT_NOFILE, 10, 64));
    int last = -1;
    for (int fd; (fd = open("/dev/null", O_RDONLY)) >= 0;)
        last = fd;
    printf("open until %s; last descriptor %d\n", strerror(errno), last);
    printf("dup2 to 10: %s\n", dup2(0, 10) < 0 ? strerror(errno) : "ok");
    printf("fcntl F_DUPFD from 10: %s\n", fcntl(0, F_DUPFD, 10) < 0 ? strerror(errno) : "ok");
    for (int fd = 3; fd <= last; fd++)
        close(fd);
    set(RLIMIT_NOFILE, 32, 64);

    /* The address space stops at RLIMIT_AS (now 512 MiB / 1 GiB). */
    void *big = mmap(NULL, 1UL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap of 1 GiB under 512 MiB: %s\n", big == MAP_FAILED ? strerror(errno) : "mapped");
    void *small = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap of 1 MiB: %s\n", small == MAP_FAILED ? strerror(errno) : "mapped");
    printf("sbrk of 1 GiB: %s\n", sbrk(1L << 30) == (void *)-1 ? strerror(errno) : "grown");
    show("RLIMIT_AS up to its hard limit", set(RLIMIT_AS, 1UL << 30, 1UL << 30));

    /* Unprivileged: hard limits only go down, and RLIMIT_NPROC holds (now 250 / 500). */
    show("RLIMIT_NPROC 1", set(RLIMIT_NPROC, 1, 500));
    if (setgid(65534) != 0 || setuid(65534) != 0) {
        perror("setuid");
        return 1;
    }
    show("nobody raises NOFILE's hard limit", set(RLIMIT_NOFILE, 32, 128));
    show("nobody lowers it", set(RLIMIT_NOFILE, 32, 48));
    show("nobody raises it back", set(RLIMIT_NOFILE, 32, 64));
    show("nobody raises CORE's hard limit", set(RLIMIT_CORE, 0, RLIM_INFINITY));
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    printf("fork at RLIMIT_NPROC 1: %s\n", child < 0 ? strerror(errno) : "forked");
    if (child > 0)
        waitpid(child, NULL, 0);
    show("nobody raises NPROC's soft limit", set(RLIMIT_NPROC, 5, 500));
    child = fork();
    if (child == 0)
        _exit(3);
    int status = 0;
    if (child > 0)
        waitpid(child, &status, 0);
    printf("fork at RLIMIT_NPROC 5: %s, child exit %d\n", child < 0 ? strerror(errno) : "forked", WEXITSTATUS(status));
    return 0;
}
