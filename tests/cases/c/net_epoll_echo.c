/* An edge-triggered epoll echo server on loopback with 50 concurrent clients: the clients (one
   child process, 50 sockets) all connect first, then send in rounds; the server reads each
   ready socket until EAGAIN, as edge-triggered epoll requires, and echoes what it read. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS 50
#define ROUNDS 4

static int clients(const struct sockaddr_in *address)
{
    int fds[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[i], (const struct sockaddr *)address, sizeof *address) != 0)
            return 1;
    }
    int wrong = 0;
    for (int round = 0; round < ROUNDS; round++) {
        char text[64];
        for (int i = 0; i < CLIENTS; i++) {
            int n = snprintf(text, sizeof text, "client %d round %d|", i, round);
            write(fds[i], text, n);
        }
        for (int i = 0; i < CLIENTS; i++) {
            int n = snprintf(text, sizeof text, "client %d round %d|", i, round);
            char reply[64];
            int got = 0;
            while (got < n) {
                ssize_t r = read(fds[i], reply + got, n - got);
                if (r <= 0)
                    return 2;
                got += r;
            }
            wrong += memcmp(reply, text, n) != 0;
        }
    }
    for (int i = 0; i < CLIENTS; i++)
        close(fds[i]);
    return wrong ? 3 : 0;
}

int main(void)
{
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    bind(listener, (struct sockaddr *)&address, sizeof address);
    listen(listener, 64);
    getsockname(listener, (struct sockaddr *)&address, &length);

    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
        _exit(clients(&address));

    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN | EPOLLET, .data.fd = listener};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    int accepted = 0, closed = 0;
    long echoed = 0;
    while (closed < CLIENTS) {
        struct epoll_event events[64];
        int ready = epoll_wait(epoll, events, 64, 10000);
        if (ready <= 0) {
            printf("epoll_wait: %d (%s)\n", ready, ready < 0 ? strerror(errno) : "timeout");
            break;
        }
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                int connection;
                while ((connection = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event watch = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = connection};
                    epoll_ctl(epoll, EPOLL_CTL_ADD, connection, &watch);
                    accepted++;
                }
                continue;
            }
            char buffer[256];
            ssize_t n;
            while ((n = read(fd, buffer, sizeof buffer)) > 0) {
                write(fd, buffer, n);
                echoed += n;
            }
            if (n == 0) {
                epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                closed++;
            } else if (errno != EAGAIN) {
                printf("read: %s\n", strerror(errno));
            }
        }
    }
    int status;
    waitpid(child, &status, 0);
    printf("accepted %d, closed %d, echoed %ld bytes\n", accepted, closed, echoed);
    printf("clients exit %d\n", WEXITSTATUS(status));
    return 0;
}
