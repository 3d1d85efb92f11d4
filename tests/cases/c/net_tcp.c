/* TCP over loopback: listen, connect (blocking and non-blocking), accept4, data both ways,
   MSG_PEEK / MSG_DONTWAIT / MSG_WAITALL / MSG_NOSIGNAL, shutdown, options, timeouts, and a
   client in a child process. Ports are the kernel's choice (bind to port 0). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name(int e)
{
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EINPROGRESS: return "EINPROGRESS";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EPIPE: return "EPIPE";
    case ECONNRESET: return "ECONNRESET";
    case ENOTCONN: return "ENOTCONN";
    case EISCONN: return "EISCONN";
    case EADDRINUSE: return "EADDRINUSE";
    case EINVAL: return "EINVAL";
    case ENOTSOCK: return "ENOTSOCK";
    default: return strerror(e);
    }
}

static int listener(struct sockaddr_in *address)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(address, 0, sizeof *address);
    address->sin_family = AF_INET;
    address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)address, sizeof *address) != 0 || listen(fd, 8) != 0)
        perror("bind/listen");
    socklen_t length = sizeof *address;
    getsockname(fd, (struct sockaddr *)address, &length);
    return fd;
}

int main(void)
{
    struct sockaddr_in address, peer, local;
    int server = listener(&address);
    printf("bound: port %s, length ok\n", ntohs(address.sin_port) != 0 ? "chosen" : "zero");

    int client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    printf("connect: %s\n", name(connect(client, (struct sockaddr *)&address, sizeof address) == 0 ? 0 : errno));
    printf("connect again: %s\n", name(connect(client, (struct sockaddr *)&address, sizeof address) == 0 ? 0 : errno));
    socklen_t length = sizeof peer;
    int accepted = accept4(server, (struct sockaddr *)&peer, &length, SOCK_CLOEXEC);
    printf("accept4: %s, length %u, family %d\n", accepted >= 0 ? "ok" : name(errno), length, peer.sin_family);
    length = sizeof local;
    getsockname(client, (struct sockaddr *)&local, &length);
    printf("peer is the client: %s\n", local.sin_port == peer.sin_port && local.sin_addr.s_addr == peer.sin_addr.s_addr ? "yes" : "no");
    length = sizeof peer;
    getpeername(client, (struct sockaddr *)&peer, &length);
    printf("client's peer is the server: %s\n", peer.sin_port == address.sin_port ? "yes" : "no");

    char buffer[64] = {0};
    send(client, "hello", 5, 0);
    ssize_t n = recv(accepted, buffer, sizeof buffer, MSG_PEEK);
    printf("peek %zd '%.*s'\n", n, (int)n, buffer);
    n = recv(accepted, buffer, 2, 0);
    printf("recv %zd '%.*s'\n", n, (int)n, buffer);
    n = read(accepted, buffer, sizeof buffer);
    printf("read %zd '%.*s'\n", n, (int)n, buffer);
    n = recv(accepted, buffer, sizeof buffer, MSG_DONTWAIT);
    printf("dontwait %zd %s\n", n, name(n < 0 ? errno : 0));
    write(accepted, "back", 4);
    n = recv(client, buffer, 4, MSG_WAITALL);
    printf("waitall %zd '%.*s'\n", n, (int)n, buffer);

    int value = 0;
    length = sizeof value;
    getsockopt(client, SOL_SOCKET, SO_TYPE, &value, &length);
    printf("SO_TYPE %d length %u\n", value, length);
    value = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &value, sizeof value);
    value = 0;
    getsockopt(client, IPPROTO_TCP, TCP_NODELAY, &value, &length);
    printf("TCP_NODELAY %s\n", value ? "on" : "off");
    getsockopt(server, SOL_SOCKET, SO_ACCEPTCONN, &value, &length);
    printf("SO_ACCEPTCONN %d\n", value);
    struct timeval timeout = {0, 50000};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    n = recv(client, buffer, sizeof buffer, 0);
    printf("recv with SO_RCVTIMEO: %zd %s\n", n, name(n < 0 ? errno : 0));
    struct timeval back;
    length = sizeof back;
    getsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &back, &length);
    printf("SO_RCVTIMEO %ld.%06ld\n", (long)back.tv_sec, (long)back.tv_usec);
    printf("fcntl O_NONBLOCK %s\n", fcntl(client, F_GETFL) & O_NONBLOCK ? "set" : "clear");

    shutdown(client, SHUT_WR);
    n = recv(accepted, buffer, sizeof buffer, 0);
    printf("after shutdown: %zd\n", n);
    close(accepted);
    signal(SIGPIPE, SIG_IGN);
    int error = 0;
    for (int i = 0; i < 50 && error == 0; i++) {
        if (send(client, "x", 1, MSG_NOSIGNAL) < 0)
            error = errno;
        usleep(2000);
    }
    printf("send to a closed peer: %s\n", name(error));
    close(client);

    /* A non-blocking connect: EINPROGRESS, then writable, then SO_ERROR. */
    client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int result = connect(client, (struct sockaddr *)&address, sizeof address);
    printf("non-blocking connect: %s\n", name(result == 0 ? 0 : errno));
    struct pollfd poll_entry = {client, POLLOUT, 0};
    int ready = poll(&poll_entry, 1, 5000);
    printf("poll: %d %s\n", ready, poll_entry.revents & POLLOUT ? "POLLOUT" : "-");
    length = sizeof value;
    getsockopt(client, SOL_SOCKET, SO_ERROR, &value, &length);
    printf("SO_ERROR %s\n", name(value));
    accepted = accept(server, NULL, NULL);
    printf("accept without address: %s\n", accepted >= 0 ? "ok" : name(errno));
    close(accepted);
    close(client);
    fcntl(server, F_SETFL, O_NONBLOCK);
    accepted = accept(server, NULL, NULL);
    printf("accept on a non-blocking listener: %s\n", accepted >= 0 ? "ok" : name(errno));
    fcntl(server, F_SETFL, 0);

    /* Nobody listens on a closed listener's port. */
    struct sockaddr_in gone;
    int closed = listener(&gone);
    close(closed);
    client = socket(AF_INET, SOCK_STREAM, 0);
    printf("connect to a closed port: %s\n", name(connect(client, (struct sockaddr *)&gone, sizeof gone) == 0 ? 0 : errno));
    close(client);
    printf("getsockname on a pipe: %s\n", name(getsockname(0, (struct sockaddr *)&gone, &length) == 0 ? 0 : errno));

    /* A client in another process: it writes in pieces, the server waits for all of them. */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&address, sizeof address) != 0)
            _exit(1);
        for (int i = 0; i < 4; i++) {
            write(c, "abcd", 4);
            usleep(10000);
        }
        char reply[8];
        ssize_t got = read(c, reply, sizeof reply);
        _exit(got == 2 && memcmp(reply, "ok", 2) == 0 ? 0 : 2);
    }
    accepted = accept(server, NULL, NULL);
    n = recv(accepted, buffer, 16, MSG_WAITALL);
    printf("waitall from a child: %zd '%.*s'\n", n, (int)n, buffer);
    write(accepted, "ok", 2);
    int status;
    waitpid(child, &status, 0);
    printf("child exit %d\n", WEXITSTATUS(status));
    close(accepted);

    /* One 8 MiB write from another process, far more than the socket buffers hold: the host takes
       it in parts, and the blocking write returns only once all of it went. The reader reads small
       pieces and checks every byte. */
    fflush(stdout);
    child = fork();
    if (child == 0) {
        enum { Bulk = 8 << 20 };
        static unsigned char bulk[Bulk];
        for (int i = 0; i < Bulk; i++)
            bulk[i] = (unsigned char)(i * 7 + i / 4096);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&address, sizeof address) != 0)
            _exit(1);
        ssize_t wrote = write(c, bulk, Bulk);
        close(c);
        _exit(wrote == Bulk ? 0 : 3);
    }
    accepted = accept(server, NULL, NULL);
    long total = 0, wrong = 0;
    char piece[1000];
    while ((n = read(accepted, piece, sizeof piece)) > 0) {
        for (ssize_t i = 0; i < n; i++, total++)
            wrong += (unsigned char)piece[i] != (unsigned char)(total * 7 + total / 4096);
    }
    waitpid(child, &status, 0);
    printf("bulk: %ld bytes, %ld wrong, writer exit %d\n", total, wrong, WEXITSTATUS(status));
    close(accepted);
    close(server);
    return 0;
}
