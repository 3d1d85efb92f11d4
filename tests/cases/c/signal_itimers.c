// setitimer's CPU-time timers: ITIMER_VIRTUAL (user time, SIGVTALRM) and ITIMER_PROF (user and
// system time, SIGPROF) tick while the process spins and not while it sleeps. Only what is stable
// from run to run is printed.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks[NSIG];
static volatile int codes[NSIG];

static void tick(int sig, siginfo_t *info, void *context)
{
    (void)context;
    ticks[sig]++;
    codes[sig] = info->si_code;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static const char *name(int which) { return which == ITIMER_VIRTUAL ? "ITIMER_VIRTUAL" : "ITIMER_PROF"; }

// Spins (user time only) until the timer has ticked five times, or ten seconds pass.
static void spinning(int which, int sig)
{
    struct itimerval every = { .it_interval = { 0, 10000 }, .it_value = { 0, 10000 } }, left;
    ticks[sig] = 0;
    setitimer(which, &every, NULL);
    double start = now();
    volatile unsigned long work = 0;
    while (ticks[sig] < 5 && now() - start < 10)
        for (int i = 0; i < 100000; i++)
            work += i;
    getitimer(which, &left);
    struct itimerval off = { 0 };
    setitimer(which, &off, NULL);
    printf("%s spinning: five ticks %d, si_code %s, interval %ld.%06ld, left in (0, 10ms] %d\n", name(which), ticks[sig] >= 5,
           codes[sig] == SI_KERNEL ? "SI_KERNEL" : "other", (long)left.it_interval.tv_sec, (long)left.it_interval.tv_usec,
           left.it_value.tv_sec == 0 && left.it_value.tv_usec > 0 && left.it_value.tv_usec <= 10000);
}

// Sleeps with 50ms of CPU time on the timer: it neither fires nor runs down much.
static void sleeping(int which, int sig)
{
    struct itimerval once = { .it_value = { 0, 50000 } }, left, old;
    ticks[sig] = 0;
    // A short sleep first, unmeasured: the first nanosleep and getitimer are where a runtime that
    // compiles its code on first use (Trapeze's test build) spends its few milliseconds of CPU.
    struct timespec warm = { 0, 1000000 };
    nanosleep(&warm, NULL);
    getitimer(which, &left);
    setitimer(which, &once, NULL);
    struct timespec pause = { 0, 300000000 };
    nanosleep(&pause, NULL);
    getitimer(which, &left);
    struct itimerval off = { 0 };
    setitimer(which, &off, &old);
    getitimer(which, &off);
    printf("%s sleeping: ticks %d, left over 40ms %d, old value given back %d, disarmed %d\n", name(which), ticks[sig],
           left.it_value.tv_sec == 0 && left.it_value.tv_usec > 40000, old.it_value.tv_usec > 40000,
           off.it_value.tv_sec == 0 && off.it_value.tv_usec == 0 && off.it_interval.tv_usec == 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction action = { .sa_sigaction = tick, .sa_flags = SA_SIGINFO | SA_RESTART };
    sigemptyset(&action.sa_mask);
    sigaction(SIGVTALRM, &action, NULL);
    sigaction(SIGPROF, &action, NULL);

    spinning(ITIMER_VIRTUAL, SIGVTALRM);
    spinning(ITIMER_PROF, SIGPROF);
    sleeping(ITIMER_VIRTUAL, SIGVTALRM);
    sleeping(ITIMER_PROF, SIGPROF);

    struct itimerval value = { 0 };
    int result = setitimer(3, &value, NULL);
    printf("setitimer(3): %d %s\n", result, strerror(errno));
    result = getitimer(-1, &value);
    printf("getitimer(-1): %d %s\n", result, strerror(errno));

    // A child does not inherit CPU-time timers; a one-shot ends in one signal whose default action kills.
    struct itimerval long_one = { .it_value = { 100, 0 } };
    setitimer(ITIMER_VIRTUAL, &long_one, NULL);
    pid_t child = fork();
    if (child == 0)
    {
        struct itimerval inherited;
        getitimer(ITIMER_VIRTUAL, &inherited);
        printf("child's ITIMER_VIRTUAL armed %d\n", inherited.it_value.tv_sec != 0 || inherited.it_value.tv_usec != 0);
        signal(SIGPROF, SIG_DFL);
        struct itimerval soon = { .it_value = { 0, 20000 } };
        setitimer(ITIMER_PROF, &soon, NULL);
        double start = now();
        volatile unsigned long work = 0;
        while (now() - start < 10)
            work++;
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child: %s\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGPROF ? "killed by SIGPROF" : "other");
    return 0;
}
