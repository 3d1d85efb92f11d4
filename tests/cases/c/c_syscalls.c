/* Exercises the foundation syscalls through libc; prints only what is the same on every run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CHECK(what, expr) printf("%-28s %s\n", what, (expr) ? "ok" : "FAILED")

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    (void)argc;

    char exe[4096] = { 0 }, real[4096];
    CHECK("readlink /proc/self/exe", readlink("/proc/self/exe", exe, sizeof exe - 1) > 0 && realpath(argv[0], real) && strcmp(exe, real) == 0);

    /* identity */
    CHECK("getpid == gettid", getpid() == syscall(SYS_gettid));
    CHECK("getppid > 0", getppid() > 0);
    CHECK("getuid == geteuid", getuid() == geteuid());
    CHECK("getgid == getegid", getgid() == getegid());

    struct utsname name;
    CHECK("uname", uname(&name) == 0 && strcmp(name.sysname, "Linux") == 0 && strcmp(name.machine, "x86_64") == 0);

    /* limits */
    struct rlimit limit;
    CHECK("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur > 0);
    struct rlimit lower = { 512, limit.rlim_max };
    CHECK("setrlimit NOFILE", setrlimit(RLIMIT_NOFILE, &lower) == 0);
    CHECK("prlimit reads it back", prlimit(0, RLIMIT_NOFILE, NULL, &limit) == 0 && limit.rlim_cur == 512);
    CHECK("rlimit cur > max EINVAL", (lower.rlim_cur = lower.rlim_max + 1, lower.rlim_max != RLIM_INFINITY) ? setrlimit(RLIMIT_NOFILE, &lower) == -1 && errno == EINVAL : 1);

    /* randomness and time */
    unsigned char random[64];
    CHECK("getrandom", getrandom(random, sizeof random, 0) == sizeof random);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    CHECK("nanosleep", nanosleep(&pause, NULL) == 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long elapsed = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
    CHECK("monotonic advanced >= 20ms", elapsed >= 20 * 1000 * 1000);
    struct timeval tv;
    CHECK("gettimeofday", gettimeofday(&tv, NULL) == 0 && tv.tv_sec > 1600000000);
    /* time() reads a coarse clock that may lag gettimeofday by a tick */
    CHECK("time", time(NULL) >= tv.tv_sec - 1);
    CHECK("clock_gettime bad clock", clock_gettime((clockid_t)1234, &a) == -1 && errno == EINVAL);
    struct timespec res;
    CHECK("clock_getres", clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0);

    /* CPUs */
    cpu_set_t set;
    CHECK("sched_getaffinity", sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1);
    CHECK("sched_yield", sched_yield() == 0);

    /* umask */
    mode_t old = umask(027);
    CHECK("umask", umask(old) == 027);

    /* ioctl on a regular file and a bad fd */
    int fd = open("/etc/os-release", O_RDONLY | O_CLOEXEC);
    struct termios tio;
    CHECK("TCGETS on a file ENOTTY", ioctl(fd, TCGETS, &tio) == -1 && errno == ENOTTY);
    CHECK("ioctl bad fd EBADF", ioctl(999, TCGETS, &tio) == -1 && errno == EBADF);
    struct winsize ws;
    CHECK("TIOCGWINSZ on a file", ioctl(fd, TIOCGWINSZ, &ws) == -1 && errno == ENOTTY);
    close(fd);

    /* memory */
    /* raw brk: musl's sbrk refuses to move the break */
    char *heap = (char *)syscall(SYS_brk, 0);
    CHECK("brk grows", syscall(SYS_brk, heap + (1 << 20)) == (long)(heap + (1 << 20)));
    memset(heap, 7, 1 << 20);
    CHECK("brk shrinks", syscall(SYS_brk, heap) == (long)heap);
    CHECK("brk below start fails", syscall(SYS_brk, 4096) == (long)heap);
    char *page = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap anonymous", page != MAP_FAILED && page[0] == 0 && page[3 * 4096 - 1] == 0);
    page[4096] = 'x';
    CHECK("mprotect middle page", mprotect(page + 4096, 4096, PROT_READ) == 0);
    CHECK("munmap first page", munmap(page, 4096) == 0);
    CHECK("still readable", page[4096] == 'x');
    CHECK("madvise DONTNEED zeroes", (page[2 * 4096] = 5, madvise(page + 2 * 4096, 4096, MADV_DONTNEED) == 0 && page[2 * 4096] == 0));
    CHECK("munmap rest", munmap(page + 4096, 2 * 4096) == 0);
    CHECK("mmap len 0 EINVAL", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
    CHECK("mmap bad fd EBADF", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 555, 0) == MAP_FAILED && errno == EBADF);
    char *fixed = mmap((void *)0x200000000, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK("mmap MAP_FIXED", fixed == (void *)0x200000000);
    CHECK("MAP_FIXED_NOREPLACE EEXIST", mmap(fixed, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED && errno == EEXIST);
    char *grown = mremap(fixed, 4096, 64 * 4096, MREMAP_MAYMOVE);
    CHECK("mremap grows", grown != MAP_FAILED);
    grown[64 * 4096 - 1] = 1;
    char *big = malloc(50 << 20);
    memset(big, 1, 50 << 20);
    big = realloc(big, 100 << 20);
    CHECK("large realloc keeps data", big != NULL && big[(50 << 20) - 1] == 1);
    free(big);

    /* a file mapping */
    fd = open("/etc/os-release", O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    char *text = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    char first[64];
    CHECK("pread", pread(fd, first, sizeof first, 0) == sizeof first);
    CHECK("file mapping matches pread", text != MAP_FAILED && memcmp(text, first, sizeof first) == 0);
    close(fd);

    /* errors come back as -1 and errno */
    CHECK("close bad fd EBADF", close(12345) == -1 && errno == EBADF);
    void *volatile bad = (void *)8; /* volatile: keeps gcc from warning about the deliberate bad pointer */
    CHECK("read bad pointer EFAULT", (fd = open("/etc/os-release", O_RDONLY)) >= 0 && read(fd, bad, 10) == -1 && errno == EFAULT);
    close(fd);
    CHECK("write bad pointer EFAULT", write(1, bad, 10) == -1 && errno == EFAULT);
    CHECK("unknown syscall ENOSYS", syscall(1000) == -1 && errno == ENOSYS);
    CHECK("rt_sigprocmask", ({ sigset_t s, o; sigemptyset(&s); sigaddset(&s, SIGUSR1); sigprocmask(SIG_BLOCK, &s, &o) == 0 && sigprocmask(SIG_SETMASK, &o, &s) == 0 && sigismember(&s, SIGUSR1); }));
    return 0;
}
