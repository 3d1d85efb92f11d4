// A fork bomb: every process forks until fork fails, then waits for its children and exits.
// Under `trapeze run --max-processes 50` it must end, with every process reaped. With the argument
// "nproc" it first sets RLIMIT_NPROC to 30 and becomes an unprivileged user, whom that limit stops.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "nproc") == 0) {
        struct rlimit limit = { 30, 30 };
        if (setrlimit(RLIMIT_NPROC, &limit) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
            perror("setrlimit/setuid");
            return 2;
        }
    }
    int refused = 0;
    pid_t top = getpid();
    for (;;) {
        pid_t child = fork();
        if (child < 0) {
            refused = errno == EAGAIN;
            break;
        }
        if (child > 0)
            break; // the parent waits; the child forks on
    }
    int status;
    int ok = refused;
    while (wait(&status) > 0)
        ok |= WIFEXITED(status) && WEXITSTATUS(status) == 1;
    if (getpid() != top)
        _exit(ok ? 1 : 0);
    printf("fork refused with EAGAIN: %s\n", ok ? "yes" : "no");
    return 0;
}
