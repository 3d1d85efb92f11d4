/* Processes: fork, exit codes, waitpid with WNOHANG, a child killed by a signal, getppid, process groups. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    pid_t me = getpid();
    pid_t a = fork();
    if (a == 0) _exit(getppid() == me ? 7 : 1);
    int status; waitpid(a, &status, 0); printf("exit %d code %d\n", WIFEXITED(status), WEXITSTATUS(status));
    int p[2]; pipe(p);
    pid_t b = fork();
    if (b == 0) { char c; read(p[0], &c, 1); _exit(0); }
    printf("WNOHANG %d\n", waitpid(b, &status, WNOHANG));
    kill(b, SIGTERM); waitpid(b, &status, 0);
    printf("signaled %d by %d\n", WIFSIGNALED(status), WTERMSIG(status));
    pid_t c = fork();
    if (c == 0) { setpgid(0, 0); _exit(getpgrp() == getpid() ? 3 : 4); }
    waitpid(c, &status, 0); printf("own group %d\n", WEXITSTATUS(status));
    printf("no children %d\n", wait(&status));
    int total = 0;
    for (int i = 0; i < 5; i++) if (fork() == 0) _exit(i);
    for (int i = 0; i < 5; i++) { wait(&status); total += WEXITSTATUS(status); }
    printf("five children sum %d\n", total);
    return 0;
}
