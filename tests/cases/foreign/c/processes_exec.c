/* Processes: execve of itself through /proc/self/exe with arguments and environment, vfork, exit status through exec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
    if (argc > 1) {
        printf("exec'd with %d args: %s %s env %s\n", argc, argv[1], argv[2], getenv("TRAPEZE_CASE"));
        return atoi(argv[2]);
    }
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *args[] = {argv[0], "again", "5", 0};
        char *env[] = {"TRAPEZE_CASE=set", 0};
        execve("/proc/self/exe", args, env);
        _exit(127);
    }
    int status; waitpid(child, &status, 0); printf("child exit %d\n", WEXITSTATUS(status));
    pid_t v = vfork();
    if (v == 0) _exit(9);
    waitpid(v, &status, 0); printf("vfork exit %d\n", WEXITSTATUS(status));
    printf("execve missing %d\n", execve("/nonexistent", argv, environ));
    return 0;
}
