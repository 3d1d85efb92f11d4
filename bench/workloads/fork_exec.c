// bench: title=Processes: fork+exec+wait of a static program x 2000
// bench: kind=process
// bench: args=2000
// bench: quick-args=20
// bench: strace-args=200
// bench: strace-scale=10
// Forks N children that each exec this program (as "child", which exits at once) and waits for each.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return 0;
    long n = argc > 1 ? atol(argv[1]) : 2000;
    for (long i = 0; i < n; i++) {
        pid_t child = fork();
        if (child == 0) {
            execl(argv[0], argv[0], "child", (char *)0);
            _exit(127);
        }
        int status;
        if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 1;
    }
    printf("%ld children\n", n);
    return 0;
}
