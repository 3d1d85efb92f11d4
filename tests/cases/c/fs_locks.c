// Advisory locks between processes: fcntl POSIX and OFD record locks, flock; blocking, EDEADLK,
// release on close and exit, splits and merges as F_GETLK reports them. argv[1] is a scratch directory.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char path[4096];
static pid_t parent;

static const char *name_of(int error) {
    switch (error) {
    case EAGAIN: return "EAGAIN";
    case EDEADLK: return "EDEADLK";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EINTR: return "EINTR";
    default: return strerror(error);
    }
}

static void show(const char *what, int result) {
    if (result < 0) printf("%s: -1 %s\n", what, name_of(errno));
    else printf("%s: %d\n", what, result);
    fflush(stdout);
}

static int set(int fd, int command, short type, long start, long length) {
    struct flock lock = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = length };
    return fcntl(fd, command, &lock);
}

static void get(const char *what, int fd, int command, short type, long start, long length) {
    struct flock lock = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = length };
    if (fcntl(fd, command, &lock) < 0) { show(what, -1); return; }
    if (lock.l_type == F_UNLCK) printf("%s: unlocked\n", what);
    else printf("%s: %s %ld+%ld by %s\n", what, lock.l_type == F_WRLCK ? "write" : "read", (long)lock.l_start, (long)lock.l_len,
                lock.l_pid == parent ? "parent" : lock.l_pid == -1 ? "-1" : lock.l_pid == getpid() ? "self" : "other");
    fflush(stdout);
}

static void nap(int milliseconds) {
    struct timespec time = { 0, milliseconds * 1000000L };
    nanosleep(&time, NULL);
}

static void signal_step(int pipe) { char byte = 1; write(pipe, &byte, 1); }
static void await_step(int pipe) { char byte; read(pipe, &byte, 1); }

static void on_alarm(int signal) { (void)signal; }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(path, sizeof path, "%s/locked", argv[1]);
    parent = getpid();
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd, "0123456789abcdefghij", 20);
    int to_child[2], to_parent[2];
    pipe(to_child); pipe(to_parent);

    show("parent write-locks 0+10", set(fd, F_SETLK, F_WRLCK, 0, 10));
    show("parent read-locks 20+10", set(fd, F_SETLK, F_RDLCK, 20, 10));
    show("parent read-locks 30+10 (merges)", set(fd, F_SETLK, F_RDLCK, 30, 10));
    show("parent write-locks 100+100", set(fd, F_SETLK, F_WRLCK, 100, 100));
    show("parent unlocks 140+20 (splits)", set(fd, F_SETLK, F_UNLCK, 140, 20));
    get("own lock is no conflict", fd, F_GETLK, F_WRLCK, 0, 10);
    pid_t child = fork();
    if (child == 0) {
        int mine = open(path, O_RDWR);
        get("child sees", mine, F_GETLK, F_WRLCK, 0, 100);
        get("child sees merged read locks", mine, F_GETLK, F_WRLCK, 15, 30);
        get("read does not conflict with read", mine, F_GETLK, F_RDLCK, 20, 20);
        get("child sees first part of split", mine, F_GETLK, F_WRLCK, 100, 50);
        get("child sees the gap", mine, F_GETLK, F_WRLCK, 140, 20);
        get("child sees second part", mine, F_GETLK, F_WRLCK, 150, 0);
        show("child write-lock conflicts", set(mine, F_SETLK, F_WRLCK, 5, 1));
        show("child read-locks 10+5", set(mine, F_SETLK, F_RDLCK, 10, 5));
        signal_step(to_parent[1]);
        await_step(to_child[0]); // the parent closed another descriptor of the file
        show("after parent closed another fd, child write-locks 0+10", set(mine, F_SETLK, F_WRLCK, 0, 10));
        signal_step(to_parent[1]);
        await_step(to_child[0]);
        show("child waits for 200+1", set(mine, F_SETLKW, F_WRLCK, 200, 1)); // parent holds it, releases after a while
        show("child holds 300+1", set(mine, F_SETLK, F_WRLCK, 300, 1));
        signal_step(to_parent[1]);
        await_step(to_child[0]);
        show("child waits for 400+1 (parent holds it)", set(mine, F_SETLKW, F_WRLCK, 400, 1));
        signal_step(to_parent[1]);
        await_step(to_child[0]);
        struct sigaction action = { .sa_handler = on_alarm };
        sigaction(SIGALRM, &action, NULL);
        alarm(1);
        show("child wait interrupted by a signal", set(mine, F_SETLKW, F_WRLCK, 500, 1));
        signal_step(to_parent[1]);
        int other = open(path, O_RDWR);
        show("child flock waits", flock(other, LOCK_EX));
        show("child holds 600+1 and exits", set(mine, F_SETLK, F_WRLCK, 600, 1));
        _exit(0);
    }
    await_step(to_parent[0]);
    int another = open(path, O_RDONLY);
    close(another); // closing any descriptor of the file drops this process's locks on it
    signal_step(to_child[1]);
    await_step(to_parent[0]);
    get("parent sees child's lock", fd, F_GETLK, F_WRLCK, 0, 100);
    show("parent write-locks 200+1", set(fd, F_SETLK, F_WRLCK, 200, 1));
    show("parent write-locks 400+1", set(fd, F_SETLK, F_WRLCK, 400, 1));
    signal_step(to_child[1]);
    nap(200);
    int unlocked = set(fd, F_SETLK, F_UNLCK, 200, 1);
    await_step(to_parent[0]); // the child holds 300
    show("parent unlocked 200+1", unlocked);
    signal_step(to_child[1]); // and now waits for 400
    nap(200);
    show("parent waits for child's 300+1: deadlock", set(fd, F_SETLKW, F_WRLCK, 300, 1));
    unlocked = set(fd, F_SETLK, F_UNLCK, 400, 1);
    await_step(to_parent[0]);
    show("parent unlocked 400+1", unlocked);
    show("parent write-locks 500+1", set(fd, F_SETLK, F_WRLCK, 500, 1));
    int flocked = open(path, O_RDONLY);
    show("parent flock", flock(flocked, LOCK_EX));
    signal_step(to_child[1]);
    await_step(to_parent[0]);
    nap(200);
    int flock_unlocked = flock(flocked, LOCK_UN);
    int status;
    waitpid(child, &status, 0);
    show("parent flock unlock", flock_unlocked);
    printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    get("child's locks went with it", fd, F_GETLK, F_WRLCK, 0, 0);

    // OFD locks: owned by the open file description, so two opens in one process conflict.
    int first = open(path, O_RDWR), second = open(path, O_RDWR);
    show("OFD lock on first", set(first, F_OFD_SETLK, F_WRLCK, 0, 10));
    show("OFD lock on second conflicts", set(second, F_OFD_SETLK, F_WRLCK, 5, 10));
    get("OFD getlk", second, F_OFD_GETLK, F_RDLCK, 0, 0);
    show("POSIX lock against OFD lock", set(second, F_SETLK, F_RDLCK, 0, 1));
    struct flock bad = { .l_type = F_WRLCK, .l_pid = 1 };
    show("OFD with l_pid", fcntl(second, F_OFD_SETLK, &bad));
    int dup_of_first = dup(first);
    close(first);
    show("OFD lock kept while a dup is open", set(second, F_OFD_SETLK, F_WRLCK, 5, 10));
    close(dup_of_first);
    show("OFD lock free after last close", set(second, F_OFD_SETLK, F_WRLCK, 5, 10));

    // flock: whole-file, per open file description, independent of fcntl locks.
    int a = open(path, O_RDONLY), b = open(path, O_RDONLY);
    show("flock exclusive", flock(a, LOCK_EX));
    show("flock on another open", flock(b, LOCK_EX | LOCK_NB));
    show("flock shared on another open", flock(b, LOCK_SH | LOCK_NB));
    show("fcntl lock beside flock", set(second, F_SETLK, F_WRLCK, 50, 1));
    show("flock converts to shared", flock(a, LOCK_SH));
    show("second shared flock", flock(b, LOCK_SH | LOCK_NB));
    show("flock bad operation", flock(a, 3));

    // Bad requests.
    int reader = open(path, O_RDONLY);
    show("write lock on a read-only fd", set(reader, F_SETLK, F_WRLCK, 0, 1));
    show("bad l_type", set(fd, F_SETLK, 7, 0, 1));
    struct flock whence = { .l_type = F_RDLCK, .l_whence = 9 };
    show("bad l_whence", fcntl(fd, F_SETLK, &whence));
    show("negative start", set(fd, F_SETLK, F_RDLCK, -5, 1));
    show("negative length", set(fd, F_SETLK, F_RDLCK, 10, -5));
    get("getlk with F_UNLCK", fd, F_GETLK, F_UNLCK, 0, 1);
    lseek(fd, 10, SEEK_SET);
    struct flock current = { .l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = 5, .l_len = 2 };
    show("SEEK_CUR lock", fcntl(fd, F_SETLK, &current));
    show("bad descriptor", set(99, F_SETLK, F_RDLCK, 0, 1));
    return 0;
}
