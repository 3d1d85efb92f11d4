// eventfd (counter and semaphore), timerfd (relative, absolute, interval ticks, gettime),
// signalfd (records, mask changes, signals taken from the pending sets), pidfd_send_signal.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHOW(what, call) \
    do \
    { \
        long result_ = (call); \
        printf("%s: %ld %s\n", what, result_, result_ < 0 ? strerror(errno) : ""); \
    } while (0)

static void eventfds(void)
{
    int efd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
    uint64_t value = 0;
    SHOW("read", read(efd, &value, 8));
    printf("value %llu\n", (unsigned long long)value);
    SHOW("read empty", read(efd, &value, 8));
    SHOW("short read", read(efd, &value, 4));
    value = 0xffffffffffffffffULL;
    SHOW("write max", write(efd, &value, 8));
    value = 0xfffffffffffffffeULL;
    SHOW("write most", write(efd, &value, 8));
    value = 1;
    SHOW("write overflow", write(efd, &value, 8));
    struct pollfd p = {.fd = efd, .events = POLLIN | POLLOUT};
    SHOW("poll full", poll(&p, 1, 0));
    printf("revents %s%s\n", p.revents & POLLIN ? "IN" : "", p.revents & POLLOUT ? "OUT" : "");
    close(efd);

    int semaphore = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    for (int i = 0; i < 3; i++)
    {
        value = 0;
        long n = read(semaphore, &value, 8);
        printf("semaphore read %d: %ld value %llu\n", i, n, (unsigned long long)value);
    }
    SHOW("bad flags", eventfd(0, 0x4000));
    close(semaphore);

    // A blocked reader in a child wakes when the parent writes.
    int shared = eventfd(0, EFD_SEMAPHORE);
    pid_t child = fork();
    if (child == 0)
    {
        uint64_t got = 0;
        read(shared, &got, 8);
        read(shared, &got, 8);
        printf("child took two tokens: %llu\n", (unsigned long long)got);
        _exit(0);
    }
    value = 2;
    write(shared, &value, 8);
    int status;
    waitpid(child, &status, 0);
    close(shared);
}

static void timerfds(void)
{
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec spec = {.it_value = {0, 20 * 1000 * 1000}, .it_interval = {0, 10 * 1000 * 1000}};
    SHOW("settime", timerfd_settime(tfd, 0, &spec, NULL));
    struct itimerspec now;
    timerfd_gettime(tfd, &now);
    printf("armed: interval %ld ns, value within first period %d\n", now.it_interval.tv_nsec, now.it_value.tv_sec == 0 && now.it_value.tv_nsec > 0 && now.it_value.tv_nsec <= 20000000);
    uint64_t ticks = 0, total = 0;
    while (total < 5)
    {
        if (read(tfd, &ticks, 8) != 8)
            break;
        total += ticks;
    }
    printf("at least five ticks: %d\n", total >= 5);
    struct itimerspec old, off = {0};
    timerfd_settime(tfd, 0, &off, &old);
    printf("old interval %ld ns\n", old.it_interval.tv_nsec);
    timerfd_gettime(tfd, &now);
    printf("disarmed: %ld %ld\n", (long)now.it_value.tv_sec, now.it_value.tv_nsec);
    close(tfd);

    // Absolute on the realtime clock, in the past: expires at once.
    int real = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    struct itimerspec past = {.it_value = {t.tv_sec - 10, 0}};
    SHOW("absolute past", timerfd_settime(real, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &past, NULL));
    struct pollfd p = {.fd = real, .events = POLLIN};
    SHOW("poll", poll(&p, 1, 1000));
    SHOW("read", read(real, &ticks, 8));
    printf("ticks %llu\n", (unsigned long long)ticks);
    SHOW("read again", read(real, &ticks, 8));
    struct itimerspec future = {.it_value = {t.tv_sec + 3600, 0}};
    timerfd_settime(real, TFD_TIMER_ABSTIME, &future, NULL);
    timerfd_gettime(real, &now);
    printf("an hour away: %d\n", now.it_value.tv_sec > 3500 && now.it_value.tv_sec <= 3600);
    SHOW("bad clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
    SHOW("bad flags", timerfd_settime(real, 8, &future, NULL));
    SHOW("not a timer", timerfd_settime(0, 0, &future, NULL));
    close(real);
}

static void signalfds(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sigset_t only1;
    sigemptyset(&only1);
    sigaddset(&only1, SIGUSR1);
    int sfd = signalfd(-1, &only1, SFD_NONBLOCK | SFD_CLOEXEC);
    struct signalfd_siginfo info;
    SHOW("empty", read(sfd, &info, sizeof info));
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR2);
    struct pollfd p = {.fd = sfd, .events = POLLIN};
    SHOW("poll", poll(&p, 1, 0));
    SHOW("read", read(sfd, &info, sizeof info));
    printf("signo %u code %d pid ok %d\n", info.ssi_signo, info.ssi_code, info.ssi_pid == (uint32_t)getpid());
    sigset_t pending;
    sigpending(&pending);
    printf("pending USR1 %d USR2 %d\n", sigismember(&pending, SIGUSR1), sigismember(&pending, SIGUSR2));
    SHOW("USR2 not in mask", read(sfd, &info, sizeof info));
    // The mask of an existing descriptor changes.
    SHOW("change mask", signalfd(sfd, &mask, 0) == sfd);
    SHOW("read USR2", read(sfd, &info, sizeof info));
    printf("signo %u\n", info.ssi_signo);
    union sigval value = {.sival_int = 42};
    sigqueue(getpid(), SIGUSR1, value);
    SHOW("read queued", read(sfd, &info, sizeof info));
    printf("signo %u code %d int %d\n", info.ssi_signo, info.ssi_code, info.ssi_int);
    SHOW("short", read(sfd, &info, 10));
    SHOW("not a signalfd", signalfd(0, &mask, 0));

    // A blocking read wakes when a child signals the parent.
    int blocking = signalfd(-1, &mask, 0);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0)
    {
        usleep(20000);
        kill(parent, SIGUSR2);
        _exit(0);
    }
    SHOW("blocking read", read(blocking, &info, sizeof info));
    printf("from child %d signo %u\n", info.ssi_pid == (uint32_t)child, info.ssi_signo);
    waitpid(child, NULL, 0);

    // pidfd_send_signal reaches the process the pidfd names.
    int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
    SHOW("pidfd_send_signal", syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0));
    SHOW("read", read(sfd, &info, sizeof info));
    printf("signo %u code %d\n", info.ssi_signo, info.ssi_code);
    SHOW("bad flags", syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 8));
    SHOW("not a pidfd", syscall(SYS_pidfd_send_signal, sfd, SIGUSR1, NULL, 0));
    close(pidfd);
    close(blocking);
    close(sfd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    eventfds();
    timerfds();
    signalfds();
    return 0;
}
