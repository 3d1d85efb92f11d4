// A fork bomb: every process forks until fork fails, then waits for its children and exits.
// Under `trapeze run --max-processes 50` it must end, with every process reaped.
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
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
