/* Signals and processes: SIGCHLD with si_code and si_status, kill of a process group, sigsuspend, sigtimedwait, SA_RESTART. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static volatile int child_code, child_status, alarms;
static void on_child(int s, siginfo_t *si, void *uc) { child_code = si->si_code; child_status = si->si_status; }
static void on_alarm(int s) { alarms++; }
int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = on_child; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGCHLD, &sa, 0);
    sigset_t block, old; sigemptyset(&block); sigaddset(&block, SIGCHLD); sigprocmask(SIG_BLOCK, &block, &old);
    pid_t c = fork(); if (c == 0) _exit(5);
    sigsuspend(&old); printf("SIGCHLD code %d status %d\n", child_code, child_status); waitpid(c, 0, 0);
    c = fork(); if (c == 0) { pause(); _exit(0); }
    kill(c, SIGKILL); sigsuspend(&old); printf("killed child code %d status %d\n", child_code, child_status); waitpid(c, 0, 0);
    sigprocmask(SIG_SETMASK, &old, 0);
    signal(SIGCHLD, SIG_DFL);
    pid_t g = fork();
    if (g == 0) { setpgid(0, 0); if (fork() == 0) { pause(); _exit(1); } pause(); _exit(1); }
    setpgid(g, g); usleep(50000); kill(-g, SIGTERM); int status; waitpid(g, &status, 0);
    printf("group leader killed by %d\n", WTERMSIG(status));
    sigset_t usr; sigemptyset(&usr); sigaddset(&usr, SIGUSR1); sigprocmask(SIG_BLOCK, &usr, 0);
    kill(getpid(), SIGUSR1); siginfo_t info; memset(&info, 0, sizeof info); struct timespec patience = {1, 0};
    int got = sigtimedwait(&usr, &info, &patience); printf("sigtimedwait %d signo %d code %d\n", got, info.si_signo, info.si_code);
    struct timespec none = {0, 1000000}; errno = 0; printf("timeout %d EAGAIN %d\n", sigtimedwait(&usr, &info, &none), errno == EAGAIN);
    int p[2]; pipe(p); memset(&sa, 0, sizeof sa); sa.sa_handler = on_alarm; sa.sa_flags = SA_RESTART; sigaction(SIGALRM, &sa, 0);
    if (fork() == 0) { usleep(300000); write(p[1], "r", 1); _exit(0); }
    struct itimerval once = {{0, 0}, {0, 50000}}; setitimer(ITIMER_REAL, &once, 0);
    char ch = 0; ssize_t n = read(p[0], &ch, 1); printf("SA_RESTART read %zd %c after %d alarm\n", n, ch, alarms);
    sa.sa_flags = 0; sigaction(SIGALRM, &sa, 0); setitimer(ITIMER_REAL, &once, 0); errno = 0;
    n = read(p[0], &ch, 1); printf("without SA_RESTART %zd EINTR %d\n", n, errno == EINTR);
    wait(0);
    return 0;
}
