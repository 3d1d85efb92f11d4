/* fork: the child runs child_work(), the parent waits for it. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int child_work(int value)
{
    printf("child working on %d\n", value);
    return value * 2;
}

int main(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        return child_work(21) == 42 ? 0 : 1;
    int status = 0;
    waitpid(pid, &status, 0);
    printf("child exited with %d\n", WEXITSTATUS(status));
    return 0;
}
