/* Processes: a pipeline of two children joined by a pipe with dup2, EOF when writers close, EPIPE with SIGPIPE ignored. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int p[2], q[2]; pipe(p); pipe(q);
    if (fork() == 0) { dup2(p[1], 1); close(p[0]); close(p[1]); for (int i = 0; i < 100; i++) printf("line %d\n", i); return 0; }
    if (fork() == 0) {
        dup2(p[0], 0); close(p[0]); close(p[1]); close(q[0]);
        char buf[4096]; long bytes = 0, lines = 0; ssize_t n;
        while ((n = read(0, buf, sizeof buf)) > 0) { bytes += n; for (int i = 0; i < n; i++) lines += buf[i] == '\n'; }
        dprintf(q[1], "%ld bytes %ld lines", bytes, lines); _exit(0);
    }
    close(p[0]); close(p[1]); close(q[1]);
    char result[64] = {0}; read(q[0], result, sizeof result - 1); printf("counted %s\n", result);
    while (wait(0) > 0) {}
    signal(SIGPIPE, SIG_IGN);
    int r[2]; pipe(r); close(r[0]); errno = 0;
    printf("write to closed pipe %zd EPIPE %d\n", write(r[1], "x", 1), errno == EPIPE);
    return 0;
}
