// Processes: fork trees, vfork, exec of scripts and missing programs, zombies, orphans,
// process groups, pipes in every mode, MAP_SHARED memory across fork.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%-52s %s\n", what, ok ? "yes" : "no"); fflush(stdout); }

static int exit_code_of(pid_t pid) { int status; return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

int main(int argc, char **argv) {
    const char *scratch = argc > 1 ? argv[1] : "/tmp";

    // A tree: each of three children forks a grandchild; exit codes travel up.
    int sum = 0;
    for (int i = 1; i <= 3; i++) {
        pid_t child = fork();
        if (child == 0) {
            pid_t grandchild = fork();
            if (grandchild == 0) _exit(i * 10);
            _exit(exit_code_of(grandchild) + i);
        }
        sum += exit_code_of(child);
    }
    check("fork tree: exit codes come back through two levels", sum == 66);

    // vfork: the parent waits until the child execs or exits; the child shares memory until then.
    volatile int shared = 0;
    pid_t v = vfork();
    if (v == 0) { shared = 7; _exit(5); }
    check("vfork: child ran first and wrote the parent's memory", shared == 7 && exit_code_of(v) == 5);

    // exec of a #! script with an argument, and of programs that are missing or not executable.
    char script[512];
    snprintf(script, sizeof script, "%s/script.sh", scratch);
    FILE *f = fopen(script, "w");
    fprintf(f, "#!/bin/sh -e\nexit 42\n");
    fclose(f);
    chmod(script, 0755);
    pid_t s = fork();
    if (s == 0) { execl(script, "script.sh", (char *)0); _exit(99); }
    check("exec of a #! script with an interpreter argument", exit_code_of(s) == 42);
    check("exec of a missing program: ENOENT", execl("/nonexistent/program", "x", (char *)0) == -1 && errno == ENOENT);
    chmod(script, 0644);
    check("exec of a file without execute permission: EACCES", execl(script, "x", (char *)0) == -1 && errno == EACCES);
    check("exec of a directory: EACCES", execl("/", "x", (char *)0) == -1 && errno == EACCES);
    unlink(script);

    // A zombie stays until reaped; WNOHANG sees nothing while the child runs.
    int go[2];
    pipe(go);
    pid_t z = fork();
    if (z == 0) { char c; read(go[0], &c, 1); _exit(3); }
    int status;
    check("wait4 WNOHANG on a running child returns 0", waitpid(z, &status, WNOHANG) == 0);
    write(go[1], "x", 1);
    check("the child then exits with its status", exit_code_of(z) == 3);
    check("a reaped child is gone: ECHILD", waitpid(z, &status, 0) == -1 && errno == ECHILD);
    siginfo_t info;
    pid_t w = fork();
    if (w == 0) _exit(9);
    memset(&info, 0, sizeof info);
    check("waitid WEXITED|WNOWAIT reports without reaping",
          waitid(P_PID, w, &info, WEXITED | WNOWAIT) == 0 && info.si_pid == w && info.si_code == CLD_EXITED && info.si_status == 9);
    check("then waitid WEXITED reaps", waitid(P_PID, w, &info, WEXITED) == 0 && waitpid(w, &status, WNOHANG) == -1 && errno == ECHILD);

    // Many children at once, reaped in any order (before the orphan below, which Trapeze gives
    // to its first process, this one, where Linux gives it to the system's init).
    int reaped = 0;
    for (int i = 0; i < 20; i++) if (fork() == 0) _exit(0);
    while (wait(NULL) > 0) reaped++;
    check("twenty children reaped with wait()", reaped == 20 && errno == ECHILD);
    // An orphan: its parent exits first, and it is re-parented (getppid changes).
    int report[2];
    pipe(report);
    pid_t middle = fork();
    if (middle == 0) {
        pid_t before = getpid();
        pid_t orphan = fork();
        if (orphan == 0) {
            while (getppid() == before) usleep(1000);
            char answer = getppid() != before ? 'y' : 'n';
            write(report[1], &answer, 1);
            _exit(0);
        }
        _exit(0);
    }
    exit_code_of(middle);
    char answer = 0;
    read(report[0], &answer, 1);
    check("an orphan is re-parented when its parent exits", answer == 'y');

    // Process groups and sessions.
    pid_t g = fork();
    if (g == 0) {
        int ok = setpgid(0, 0) == 0 && getpgrp() == getpid() && getpgid(0) == getpid();
        int leader = setsid() == -1 && errno == EPERM;
        _exit(ok && leader ? 0 : 1);
    }
    check("setpgid(0,0) makes a group; its leader cannot setsid", exit_code_of(g) == 0);
    pid_t s2 = fork();
    if (s2 == 0) _exit(setsid() == getpid() && getsid(0) == getpid() && getpgrp() == getpid() ? 0 : 1);
    check("setsid in a child makes a new session", exit_code_of(s2) == 0);
    check("getpgid of a missing process: ESRCH", getpgid(999999) == -1 && errno == ESRCH);

    // Pipes: EOF when the last writer closes, EPIPE without readers, O_NONBLOCK, capacity, atomic writes.
    int p[2];
    pipe(p);
    pid_t writer = fork();
    if (writer == 0) { close(p[0]); write(p[1], "hello", 5); _exit(0); }
    close(p[1]);
    char buffer[16] = {0};
    ssize_t got = read(p[0], buffer, sizeof buffer);
    exit_code_of(writer);
    check("pipe between processes carries the data", got == 5 && memcmp(buffer, "hello", 5) == 0);
    check("read after the last writer closed: EOF", read(p[0], buffer, sizeof buffer) == 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    pipe(p);
    close(p[0]);
    check("write without readers: EPIPE", write(p[1], "x", 1) == -1 && errno == EPIPE);
    close(p[1]);
    pipe2(p, O_NONBLOCK);
    check("F_GETPIPE_SZ is 64 KiB", fcntl(p[1], F_GETPIPE_SZ) == 65536);
    static char block[70000];
    ssize_t filled = write(p[1], block, sizeof block);
    check("a non-blocking write fills the pipe to its capacity", filled == 65536);
    check("then EAGAIN", write(p[1], "x", 1) == -1 && errno == EAGAIN);
    struct pollfd entry = {.fd = p[1], .events = POLLOUT};
    check("a full pipe is not writable for poll", poll(&entry, 1, 0) == 0);
    check("F_SETPIPE_SZ rounds up to a page multiple", fcntl(p[1], F_SETPIPE_SZ, 100000) == 131072);
    close(p[0]);
    close(p[1]);
    pipe(p);
    pid_t big = fork();
    if (big == 0) { close(p[0]); static char data[200000]; memset(data, 'a', sizeof data); _exit(write(p[1], data, sizeof data) == sizeof data ? 0 : 1); }
    close(p[1]);
    size_t total = 0;
    while ((got = read(p[0], block, sizeof block)) > 0) total += got;
    check("a blocking write larger than the pipe completes", exit_code_of(big) == 0 && total == 200000);
    close(p[0]);

    // MAP_SHARED memory is one copy for parent and child; MAP_PRIVATE is not.
    int *both = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *own = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *both = 1;
    *own = 1;
    pid_t m = fork();
    if (m == 0) { *both = 2; *own = 2; _exit(0); }
    exit_code_of(m);
    check("MAP_SHARED writes of the child reach the parent", *both == 2);
    check("MAP_PRIVATE writes of the child do not", *own == 1);

    return 0;
}
