// poll, ppoll, select, pselect and epoll_pwait with signals: the mask is applied for the wait
// alone, a handler makes the call fail with EINTR (even with SA_RESTART), and the time left is
// written back.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SHOW(what, call) \
    do \
    { \
        long result_ = (call); \
        printf("%s: %ld %s\n", what, result_, result_ < 0 ? strerror(errno) : ""); \
    } while (0)

static volatile sig_atomic_t caught;

static void handler(int signal)
{
    (void)signal;
    caught++;
}

static int blocked(int signal)
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, signal);
}

static void report(const char *what)
{
    printf("  %s: handler ran %d, USR1 blocked after %d\n", what, (int)caught, blocked(SIGUSR1));
    caught = 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction action = {.sa_handler = handler};
    sigaction(SIGUSR1, &action, NULL);
    action.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &action, NULL);
    int p[2];
    pipe(p);

    sigset_t block, empty;
    sigemptyset(&empty);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);

    // A pending signal the wait's mask unblocks interrupts it at once.
    raise(SIGUSR1);
    struct pollfd fds = {.fd = p[0], .events = POLLIN};
    SHOW("ppoll unblocking", ppoll(&fds, 1, NULL, &empty));
    report("ppoll");
    raise(SIGUSR1);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(p[0], &readable);
    SHOW("pselect unblocking", pselect(p[0] + 1, &readable, NULL, NULL, NULL, &empty));
    report("pselect");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    raise(SIGUSR1);
    SHOW("epoll_pwait unblocking", epoll_pwait(ep, &out, 1, -1, &empty));
    report("epoll_pwait");

    // A mask that keeps the signal blocked: the ready descriptor is reported, the signal waits.
    write(p[1], "x", 1);
    raise(SIGUSR1);
    SHOW("ppoll ready, signal still blocked", ppoll(&fds, 1, NULL, &block));
    report("ppoll ready");
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    report("after unblocking");
    sigprocmask(SIG_BLOCK, &block, NULL);
    char c;
    read(p[0], &c, 1);

    // poll and select are never restarted after a handler, even with SA_RESTART.
    struct itimerval timer = {.it_value = {0, 20000}};
    setitimer(ITIMER_REAL, &timer, NULL);
    SHOW("poll with alarm", poll(&fds, 1, -1));
    printf("  alarm handler ran %d\n", (int)caught);
    caught = 0;
    setitimer(ITIMER_REAL, &timer, NULL);
    FD_ZERO(&readable);
    FD_SET(p[0], &readable);
    SHOW("select with alarm", select(p[0] + 1, &readable, NULL, NULL, NULL));
    caught = 0;
    setitimer(ITIMER_REAL, &timer, NULL);
    SHOW("epoll_wait with alarm", epoll_wait(ep, &out, 1, -1));
    caught = 0;

    // The kernel writes the time left back: all of it used after a timeout.
    struct timeval tv = {0, 10000};
    FD_ZERO(&readable);
    FD_SET(p[0], &readable);
    SHOW("select timeout", syscall(SYS_select, p[0] + 1, &readable, NULL, NULL, &tv));
    printf("  left %ld.%06ld, bit %d\n", (long)tv.tv_sec, (long)tv.tv_usec, FD_ISSET(p[0], &readable));
    struct timespec ts = {0, 10000000};
    SHOW("ppoll timeout", syscall(SYS_ppoll, &fds, 1, &ts, NULL, 8));
    printf("  left %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
    ts.tv_sec = 100;
    write(p[1], "y", 1);
    SHOW("ppoll ready", syscall(SYS_ppoll, &fds, 1, &ts, NULL, 8));
    printf("  most left %d\n", ts.tv_sec >= 99 && ts.tv_sec <= 100);

    // select's bitmaps and poll's answers.
    fd_set write_set;
    FD_ZERO(&readable);
    FD_ZERO(&write_set);
    FD_SET(p[0], &readable);
    FD_SET(p[1], &readable);
    FD_SET(p[1], &write_set);
    struct timeval zero = {0, 0};
    SHOW("select", select(p[1] + 1, &readable, &write_set, NULL, &zero));
    printf("  read %d %d write %d\n", FD_ISSET(p[0], &readable), FD_ISSET(p[1], &readable), FD_ISSET(p[1], &write_set));
    struct pollfd many[3] = {{.fd = p[0], .events = POLLIN}, {.fd = 99, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    SHOW("poll", poll(many, 3, 0));
    printf("  revents %#x %#x %#x\n", many[0].revents, many[1].revents, many[2].revents);
    close(p[1]);
    read(p[0], &c, 1);
    SHOW("poll hang-up", poll(many, 1, 0));
    printf("  revents %#x\n", many[0].revents);
    SHOW("ppoll bad mask size", syscall(SYS_ppoll, many, 1, NULL, &empty, 4));
    SHOW("select bad count", select(-1, NULL, NULL, NULL, &zero));
    return 0;
}
