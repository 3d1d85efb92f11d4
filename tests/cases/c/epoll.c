// epoll over pipes and eventfds: level and edge triggering, EPOLLONESHOT, an epoll inside an
// epoll, the errors of epoll_ctl, timeouts, and a waiter woken by another thread.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static int wait_once(int ep, int timeout, const char *what)
{
    struct epoll_event events[8];
    int n = epoll_wait(ep, events, 8, timeout);
    printf("%s: %d", what, n);
    // Sort by data so the order of the ready list does not matter.
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (events[j].data.u64 < events[i].data.u64)
            {
                struct epoll_event t = events[i];
                events[i] = events[j];
                events[j] = t;
            }
    for (int i = 0; i < n; i++)
        printf(" [%llu:%s%s%s%s]", (unsigned long long)events[i].data.u64, events[i].events & EPOLLIN ? "IN" : "",
               events[i].events & EPOLLOUT ? "OUT" : "", events[i].events & EPOLLHUP ? "HUP" : "", events[i].events & EPOLLERR ? "ERR" : "");
    printf("\n");
    return n;
}

#define SHOW(what, call) \
    do \
    { \
        int result_ = (call); \
        printf("%s: %d %s\n", what, result_, result_ < 0 ? strerror(errno) : ""); \
    } while (0)

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        printf("add %llu: %s\n", (unsigned long long)data, strerror(errno));
}

static void level(void)
{
    int p[2];
    pipe(p);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    add(ep, p[0], EPOLLIN, 1);
    add(ep, p[1], EPOLLOUT, 2);
    wait_once(ep, 0, "level empty");
    write(p[1], "ab", 2);
    wait_once(ep, 0, "level data");
    wait_once(ep, 0, "level data again");
    char c;
    read(p[0], &c, 1);
    wait_once(ep, 0, "level after one byte");
    read(p[0], &c, 1);
    wait_once(ep, 0, "level drained");
    close(p[1]);
    wait_once(ep, 0, "level writer closed");
    close(p[0]);
    wait_once(ep, 0, "level all closed");
    close(ep);
}

static void edge(void)
{
    int p[2];
    pipe2(p, O_NONBLOCK);
    int ep = epoll_create1(0);
    add(ep, p[0], EPOLLIN | EPOLLET, 1);
    wait_once(ep, 0, "edge empty");
    write(p[1], "x", 1);
    wait_once(ep, 0, "edge first write");
    wait_once(ep, 0, "edge no new data");
    write(p[1], "y", 1);
    wait_once(ep, 0, "edge second write");
    char buffer[8];
    while (read(p[0], buffer, sizeof buffer) > 0)
        ;
    wait_once(ep, 0, "edge drained");
    write(p[1], "z", 1);
    wait_once(ep, 0, "edge after drain");
    close(p[1]);
    wait_once(ep, 0, "edge hang-up");
    close(p[0]);
    close(ep);
}

static void oneshot(void)
{
    int efd = eventfd(0, EFD_NONBLOCK);
    int ep = epoll_create1(0);
    add(ep, efd, EPOLLIN | EPOLLONESHOT, 7);
    uint64_t one = 1;
    write(efd, &one, 8);
    wait_once(ep, 0, "oneshot first");
    wait_once(ep, 0, "oneshot disabled");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 8};
    epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev);
    wait_once(ep, 0, "oneshot rearmed");
    wait_once(ep, 0, "oneshot disabled again");
    close(efd);
    close(ep);
}

static void nested(void)
{
    int efd = eventfd(0, 0);
    int inner = epoll_create1(0), outer = epoll_create1(0);
    add(inner, efd, EPOLLIN, 1);
    add(outer, inner, EPOLLIN, 2);
    wait_once(outer, 0, "nested idle");
    uint64_t one = 1;
    write(efd, &one, 8);
    wait_once(outer, 0, "nested outer");
    wait_once(inner, 0, "nested inner");
    read(efd, &one, 8);
    wait_once(outer, 0, "nested drained");
    add(inner, outer, EPOLLIN, 3); // a loop
    struct epoll_event ev = {.events = EPOLLIN};
    SHOW("self", epoll_ctl(outer, EPOLL_CTL_ADD, outer, &ev));
    close(efd);
    close(inner);
    close(outer);
}

static void errors(void)
{
    int ep = epoll_create1(0);
    int efd = eventfd(0, 0);
    struct epoll_event ev = {.events = EPOLLIN};
    SHOW("create(0)", epoll_create(0));
    SHOW("create1(bad)", epoll_create1(1));
    SHOW("add", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev));
    SHOW("add again", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev));
    SHOW("del", epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL));
    SHOW("del again", epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL));
    SHOW("mod missing", epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev));
    SHOW("bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev));
    SHOW("not epoll", epoll_ctl(efd, EPOLL_CTL_ADD, ep, &ev));
    int file = open("/proc/self/exe", O_RDONLY);
    SHOW("regular file", epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    SHOW("exclusive oneshot", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    SHOW("exclusive", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev));
    SHOW("exclusive mod", epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev));
    struct epoll_event out[1];
    SHOW("wait maxevents 0", epoll_wait(ep, out, 0, 0));
    SHOW("wait not epoll", epoll_wait(efd, out, 1, 0));
    SHOW("timeout", epoll_wait(ep, out, 1, 20));
    // Closing the last descriptor of a watched file takes it off the interest list.
    uint64_t one = 1;
    write(efd, &one, 8);
    int copy = dup(efd);
    close(efd);
    wait_once(ep, 0, "after close of one copy");
    close(copy);
    wait_once(ep, 0, "after close of the last copy");
    close(file);
    close(ep);
}

static int shared_pipe[2];

static void *writer(void *arg)
{
    (void)arg;
    usleep(50000);
    write(shared_pipe[1], "w", 1);
    return NULL;
}

static void threads(void)
{
    pipe(shared_pipe);
    int ep = epoll_create1(0);
    add(ep, shared_pipe[0], EPOLLIN, 5);
    pthread_t thread;
    pthread_create(&thread, NULL, writer, NULL);
    wait_once(ep, 5000, "woken by a thread");
    pthread_join(thread, NULL);
    close(ep);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    level();
    edge();
    oneshot();
    nested();
    errors();
    threads();
    return 0;
}
