// bench: title=Processes: 1-byte pipe ping-pong x 100k round trips
// bench: kind=process
// bench: args=100000
// bench: quick-args=1000
// bench: strace-args=10000
// bench: strace-scale=10
// Parent and child pass one byte back and forth through two pipes N times.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int there[2], back[2];
    if (pipe(there) || pipe(back))
        return 1;
    char byte = 'x';
    if (fork() == 0) {
        for (long i = 0; i < n; i++)
            if (read(there[0], &byte, 1) != 1 || write(back[1], &byte, 1) != 1)
                _exit(1);
        _exit(0);
    }
    for (long i = 0; i < n; i++)
        if (write(there[1], &byte, 1) != 1 || read(back[0], &byte, 1) != 1)
            return 1;
    int status;
    wait(&status);
    printf("%ld round trips\n", n);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
