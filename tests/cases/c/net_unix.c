/* AF_UNIX inside one machine: descriptors passed with SCM_RIGHTS between two processes (a file,
   a pipe, a socket), SO_PEERCRED, SCM_CREDENTIALS, path and abstract names, datagrams,
   seqpacket records, SIGPIPE/EPIPE, MSG_PEEK. Argument: a scratch directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int send_fds(int socket, const int *fds, int count, const char *text)
{
    char control[CMSG_SPACE(sizeof(int) * 4)] = {0};
    struct iovec vector = {(void *)text, strlen(text)};
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = control, .msg_controllen = CMSG_SPACE(sizeof(int) * count)};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
    return sendmsg(socket, &message, 0);
}

static int receive_fds(int socket, int *fds, int most, char *text, size_t size, int *flags)
{
    char control[CMSG_SPACE(sizeof(int) * 4)];
    struct iovec vector = {text, size - 1};
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = control, .msg_controllen = CMSG_SPACE(sizeof(int) * most)};
    ssize_t n = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return -1;
    text[n] = 0;
    *flags = message.msg_flags;
    int count = 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
            count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds, CMSG_DATA(header), sizeof(int) * count);
        }
    }
    return count;
}

static void passing(const char *scratch)
{
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(pair[0]);
        char path[4096];
        snprintf(path, sizeof path, "%s/passed.txt", scratch);
        int file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        write(file, "contents of a file", 18);
        lseek(file, 0, SEEK_SET);
        int pipe_ends[2];
        pipe(pipe_ends);
        write(pipe_ends[1], "through a pipe", 14);
        close(pipe_ends[1]);
        int inner[2];
        socketpair(AF_UNIX, SOCK_DGRAM, 0, inner);
        send(inner[1], "a socket's datagram", 19, 0);
        int fds[3] = {file, pipe_ends[0], inner[0]};
        if (send_fds(pair[1], fds, 3, "three") != 5)
            _exit(1);
        close(file);
        close(pipe_ends[0]);
        close(inner[0]);
        /* The receiver closes what it got; our end of the inner pair learns it through the passed one. */
        char done[8];
        read(pair[1], done, sizeof done);
        _exit(0);
    }
    close(pair[1]);
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    getsockopt(pair[0], SOL_SOCKET, SO_PEERCRED, &credentials, &length);
    printf("SO_PEERCRED of a socketpair: pid is mine %s, uid %s\n", credentials.pid == getpid() ? "yes" : "no", credentials.uid == getuid() ? "mine" : "other");
    int fds[4] = {-1, -1, -1, -1}, flags;
    char text[64];
    int count = receive_fds(pair[0], fds, 4, text, sizeof text, &flags);
    printf("received '%s' with %d descriptors, flags %d\n", text, count, flags);
    char buffer[64];
    for (int i = 0; i < count; i++) {
        ssize_t n = read(fds[i], buffer, sizeof buffer);
        struct stat status;
        fstat(fds[i], &status);
        printf("  descriptor %d: %s, close-on-exec %s, read '%.*s'\n", i,
            S_ISREG(status.st_mode) ? "file" : S_ISFIFO(status.st_mode) ? "pipe" : S_ISSOCK(status.st_mode) ? "socket" : "?",
            fcntl(fds[i], F_GETFD) & FD_CLOEXEC ? "yes" : "no", (int)(n < 0 ? 0 : n), buffer);
        close(fds[i]);
    }
    write(pair[0], "done", 4);
    int status;
    waitpid(child, &status, 0);
    printf("child exit %d\n", WEXITSTATUS(status));
    close(pair[0]);
}

static void names(const char *scratch)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof address.sun_path, "%s/server.sock", scratch);
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind a path: %d\n", bind(server, (struct sockaddr *)&address, sizeof address));
    struct stat status;
    printf("the path is a socket: %s\n", stat(address.sun_path, &status) == 0 && S_ISSOCK(status.st_mode) ? "yes" : "no");
    int again = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind it again: %s\n", bind(again, (struct sockaddr *)&address, sizeof address) < 0 && errno == EADDRINUSE ? "EADDRINUSE" : "?");
    close(again);
    listen(server, 4);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connect: %d\n", connect(client, (struct sockaddr *)&address, sizeof address));
    struct sockaddr_un peer;
    socklen_t length = sizeof peer;
    int accepted = accept(server, (struct sockaddr *)&peer, &length);
    printf("accepted, the client is unnamed: %s (length %u)\n", length == sizeof(sa_family_t) ? "yes" : "no", length);
    length = sizeof peer;
    getpeername(client, (struct sockaddr *)&peer, &length);
    printf("the client's peer is the path: %s\n", strcmp(peer.sun_path, address.sun_path) == 0 && length == offsetof(struct sockaddr_un, sun_path) + strlen(address.sun_path) + 1 ? "yes" : "no");
    struct ucred credentials;
    length = sizeof credentials;
    getsockopt(accepted, SOL_SOCKET, SO_PEERCRED, &credentials, &length);
    printf("SO_PEERCRED of the client: %s\n", credentials.pid == getpid() ? "me" : "other");
    send(client, "stream ", 7, 0);
    send(client, "bytes", 5, 0);
    char buffer[64];
    ssize_t n = recv(accepted, buffer, sizeof buffer, MSG_PEEK);
    n = recv(accepted, buffer, sizeof buffer, MSG_WAITALL | MSG_DONTWAIT);
    printf("stream reads across writes: '%.*s'\n", (int)n, buffer);
    close(accepted);
    n = recv(client, buffer, sizeof buffer, 0);
    printf("read after the peer closed: %zd\n", n);
    printf("send with MSG_NOSIGNAL: %s\n", send(client, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE ? "EPIPE" : "?");
    signal(SIGPIPE, SIG_IGN);
    printf("write with SIGPIPE ignored: %s\n", write(client, "x", 1) < 0 && errno == EPIPE ? "EPIPE" : "?");
    close(client);
    close(server);
    printf("connect after the listener closed: %s\n", (client = socket(AF_UNIX, SOCK_STREAM, 0), connect(client, (struct sockaddr *)&address, sizeof address)) < 0 && errno == ECONNREFUSED ? "ECONNREFUSED" : "?");
    close(client);
    unlink(address.sun_path);
    printf("connect to a missing path: %s\n", (client = socket(AF_UNIX, SOCK_STREAM, 0), connect(client, (struct sockaddr *)&address, sizeof address)) < 0 && errno == ENOENT ? "ENOENT" : "?");
    close(client);

    /* Abstract datagram sockets, with the sender's name and credentials. */
    struct sockaddr_un first = {.sun_family = AF_UNIX}, second = {.sun_family = AF_UNIX};
    memcpy(first.sun_path, "\0trapeze-net-test-1", 20);
    memcpy(second.sun_path, "\0trapeze-net-test-2", 20);
    socklen_t first_length = offsetof(struct sockaddr_un, sun_path) + 20, second_length = first_length;
    int a = socket(AF_UNIX, SOCK_DGRAM, 0), b = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(a, (struct sockaddr *)&first, first_length);
    bind(b, (struct sockaddr *)&second, second_length);
    int on = 1;
    setsockopt(b, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    sendto(a, "datagram", 8, 0, (struct sockaddr *)&second, second_length);
    struct sockaddr_un from;
    char control[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec vector = {buffer, sizeof buffer};
    struct msghdr message = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &vector, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    n = recvmsg(b, &message, 0);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    int got_credentials = header && header->cmsg_type == SCM_CREDENTIALS && ((struct ucred *)CMSG_DATA(header))->pid == getpid();
    printf("datagram '%.*s' from '%s' (length %u), credentials %s\n", (int)n, buffer, from.sun_path + 1, message.msg_namelen, got_credentials ? "mine" : "missing");
    sendto(a, "0123456789", 10, 0, (struct sockaddr *)&second, second_length);
    n = recv(b, buffer, 4, 0);
    printf("a short read truncates a datagram: %zd, next: %s\n", n, recv(b, buffer, 4, MSG_DONTWAIT) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    close(a);
    printf("send to a closed name: %s\n", sendto(b, "x", 1, 0, (struct sockaddr *)&first, first_length) < 0 && errno == ECONNREFUSED ? "ECONNREFUSED" : "?");
    close(b);

    /* Seqpacket keeps records. */
    int records[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, records);
    send(records[0], "first", 5, 0);
    send(records[0], "second", 6, 0);
    n = recv(records[1], buffer, sizeof buffer, 0);
    printf("seqpacket: '%.*s'", (int)n, buffer);
    n = recv(records[1], buffer, sizeof buffer, 0);
    printf(" '%.*s'\n", (int)n, buffer);
    shutdown(records[0], SHUT_WR);
    printf("seqpacket after shutdown: %zd\n", recv(records[1], buffer, sizeof buffer, 0));
    close(records[0]);
    close(records[1]);
}

int main(int argc, char **argv)
{
    const char *scratch = argc > 1 ? argv[1] : "/tmp";
    passing(scratch);
    names(scratch);
    return 0;
}
