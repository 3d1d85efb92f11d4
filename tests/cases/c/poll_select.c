// Waiting for descriptors in one process, each answer known in advance: poll, ppoll, select and
// pselect6 over pipes that are ready, not ready, or hung up, with zero and NULL timeouts.
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    int quiet[2], ready[2], closed[2];
    if (pipe(quiet) || pipe(ready) || pipe(closed)) return 1;
    write(ready[1], "x", 1);
    close(closed[1]);
    struct pollfd fds[] = {{quiet[0], POLLIN, 0}, {ready[0], POLLIN, 0}, {closed[0], POLLIN, 0}, {ready[1], POLLOUT, 0}, {-1, POLLIN, 0}};
    printf("poll none ready: %d\n", poll(fds, 1, 0));
    int n = poll(fds, 5, 0);
    printf("poll: %d revents %#x %#x %#x %#x %#x\n", n, fds[0].revents, fds[1].revents, fds[2].revents, fds[3].revents, fds[4].revents);
    n = poll(fds + 1, 1, -1);
    printf("poll forever on a ready pipe: %d\n", n);
    struct timespec zero = {0, 0};
    sigset_t mask;
    sigemptyset(&mask);
    printf("ppoll none ready: %d\n", ppoll(fds, 1, &zero, &mask));
    n = ppoll(fds, 4, &zero, NULL);
    printf("ppoll: %d left %ld %ld\n", n, (long)zero.tv_sec, zero.tv_nsec);
    n = ppoll(fds + 1, 1, NULL, NULL);
    printf("ppoll without a timeout: %d\n", n);

    fd_set in, out;
    FD_ZERO(&in);
    FD_ZERO(&out);
    FD_SET(quiet[0], &in);
    struct timeval none = {0, 0};
    printf("select none ready: %d\n", select(quiet[0] + 1, &in, NULL, NULL, &none));
    FD_SET(quiet[0], &in);
    FD_SET(ready[0], &in);
    FD_SET(closed[0], &in);
    FD_SET(ready[1], &out);
    int top = ready[1] > closed[0] ? ready[1] : closed[0];
    n = select(top + 1, &in, &out, NULL, &none);
    printf("select: %d in %d %d %d out %d\n", n, FD_ISSET(quiet[0], &in), FD_ISSET(ready[0], &in), FD_ISSET(closed[0], &in), FD_ISSET(ready[1], &out));
    FD_ZERO(&in);
    FD_SET(ready[0], &in);
    n = pselect(ready[0] + 1, &in, NULL, NULL, &zero, &mask);
    printf("pselect: %d\n", n);
    FD_ZERO(&in);
    FD_SET(quiet[0], &in);
    printf("pselect none ready: %d\n", pselect(quiet[0] + 1, &in, NULL, NULL, &zero, NULL));
    FD_ZERO(&in);
    FD_SET(ready[0], &in);
    printf("select without a timeout: %d\n", select(ready[0] + 1, &in, NULL, NULL, NULL));
    return 0;
}
