/* RLIMIT_CPU as Linux holds a process to it: at the soft limit SIGXCPU (si_code SI_KERNEL), and the
 * soft limit grows by one second; at the hard limit SIGKILL, handled or not; SIGXCPU left at its
 * default kills; a child inherits the limit and counts its own CPU time from zero. Each child
 * spins for at most two CPU seconds. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int signals, signal_code;
static volatile unsigned long soft_after;

static void on_xcpu(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    struct rlimit now;
    getrlimit(RLIMIT_CPU, &now);
    soft_after = now.rlim_cur;
    signal_code = info->si_code;
    signals++;
}

static void spin(void) {
    int reported = 0;
    for (volatile unsigned long i = 0;; i++) {
        if (signals > reported) {
            reported = signals;
            printf("SIGXCPU %d: si_code %d, soft limit now %lu\n", signals, signal_code, soft_after);
        }
    }
}

static void wait_for(pid_t child, const char *what) {
    int status;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
    else
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit limit = { 1, 2 };
    pid_t child = fork();
    if (child == 0) {
        struct sigaction action = { .sa_sigaction = on_xcpu, .sa_flags = SA_SIGINFO };
        sigaction(SIGXCPU, &action, NULL);
        printf("soft 1, hard 2: setrlimit %d\n", setrlimit(RLIMIT_CPU, &limit));
        spin();
    }
    wait_for(child, "handled SIGXCPU, then the hard limit");

    struct rlimit inherited = { 1, RLIM_INFINITY }, none = { RLIM_INFINITY, RLIM_INFINITY };
    setrlimit(RLIMIT_CPU, &inherited);
    child = fork();
    if (child == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        getrlimit(RLIMIT_CPU, &limit);
        printf("child's soft limit %lu\n", (unsigned long)limit.rlim_cur);
        spin();
    }
    setrlimit(RLIMIT_CPU, &none);
    wait_for(child, "inherited soft 1, SIGXCPU at its default");
    return 0;
}
