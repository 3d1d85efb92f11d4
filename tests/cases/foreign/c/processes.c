#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void) {
    int fds[2];
    if (pipe(fds) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        const char *text = "from the child";
        write(fds[1], text, strlen(text));
        _exit(42);
    }
    close(fds[1]);
    char buffer[64] = {0};
    ssize_t n = read(fds[0], buffer, sizeof buffer - 1);
    int status = 0;
    waitpid(child, &status, 0);
    printf("read %zd: %s\n", n, buffer);
    printf("child exited %d with %d\n", WIFEXITED(status), WEXITSTATUS(status));
    fflush(stdout);
    pid_t shell = fork();
    if (shell == 0) { execl("/bin/echo", "echo", "exec", "works", (char *)0); _exit(127); }
    waitpid(shell, &status, 0);
    printf("exec child %d\n", WEXITSTATUS(status));
    return 0;
}
