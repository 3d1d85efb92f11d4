/* Signals from timers: alarm, setitimer, timer_create with SIGEV_SIGNAL and its value, nanosleep interrupted (EINTR). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
static volatile int ticks, value;
static void tick(int s, siginfo_t *si, void *uc) { ticks++; if (si->si_code == SI_TIMER) value = si->si_value.sival_int; }
static void plain(int s) { ticks++; }
int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = tick; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGALRM, &sa, 0); sigaction(SIGRTMIN, &sa, 0);
    alarm(1); printf("alarm left %u\n", alarm(1)); pause(); printf("alarm ticks %d\n", ticks);
    struct itimerval it = {{0, 10000}, {0, 10000}}; ticks = 0; setitimer(ITIMER_REAL, &it, 0);
    while (ticks < 3) pause();
    struct itimerval now; getitimer(ITIMER_REAL, &now); printf("itimer interval %ld\n", (long)now.it_interval.tv_usec);
    memset(&it, 0, sizeof it); setitimer(ITIMER_REAL, &it, 0); printf("itimer ticked 3\n");
    timer_t timer; struct sigevent ev; memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL; ev.sigev_signo = SIGRTMIN; ev.sigev_value.sival_int = 42;
    printf("timer_create %d\n", timer_create(CLOCK_MONOTONIC, &ev, &timer));
    struct itimerspec spec = {{0, 5000000}, {0, 5000000}}; ticks = 0;
    printf("timer_settime %d\n", timer_settime(timer, 0, &spec, 0));
    while (ticks < 4) pause();
    struct itimerspec left; timer_gettime(timer, &left); printf("timer interval %ld value %d\n", left.it_interval.tv_nsec, value);
    timer_delete(timer);
    sa.sa_handler = plain; sa.sa_flags = 0; sigaction(SIGALRM, &sa, 0);
    struct itimerval once = {{0, 0}, {0, 20000}}; setitimer(ITIMER_REAL, &once, 0);
    struct timespec req = {2, 0}, rem = {0, 0}; errno = 0;
    int r = nanosleep(&req, &rem); printf("nanosleep %d EINTR %d remaining between 1 and 2 s %d\n", r, errno == EINTR, rem.tv_sec == 1);
    return 0;
}
