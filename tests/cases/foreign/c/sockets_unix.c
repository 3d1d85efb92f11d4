/* Sockets inside the machine: socketpair, an AF_UNIX stream server and client across fork, a datagram pair,
   SCM_RIGHTS passing a descriptor, shutdown and EOF, getsockname. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int pair[2]; printf("socketpair %d\n", socketpair(AF_UNIX, SOCK_STREAM, 0, pair));
    write(pair[0], "ping", 4); char buf[64] = {0}; printf("read %zd %s\n", read(pair[1], buf, sizeof buf), buf);
    shutdown(pair[0], SHUT_WR); printf("eof %zd\n", read(pair[1], buf, sizeof buf));
    char dir[] = "/tmp/trapeze-unix-XXXXXX"; mkdtemp(dir);
    struct sockaddr_un address = {.sun_family = AF_UNIX}; snprintf(address.sun_path, sizeof address.sun_path, "%s/socket", dir);
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    int bound = bind(server, (struct sockaddr *)&address, sizeof address); int listening = listen(server, 4);
    printf("bind %d listen %d\n", bound, listening);
    if (fork() == 0) {
        int client = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(client, (struct sockaddr *)&address, sizeof address) != 0) _exit(1);
        send(client, "hello server", 12, 0);
        char reply[32] = {0}; recv(client, reply, sizeof reply, 0);
        _exit(strcmp(reply, "hello client") == 0 ? 0 : 2);
    }
    int connection = accept(server, 0, 0); memset(buf, 0, sizeof buf);
    ssize_t got = recv(connection, buf, sizeof buf, 0);
    printf("accepted %d recv %zd %s\n", connection >= 0, got, buf);
    send(connection, "hello client", 12, 0);
    int status; wait(&status); printf("client exit %d\n", WEXITSTATUS(status));
    int dgram[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, dgram);
    send(dgram[0], "one", 3, 0); send(dgram[0], "three", 5, 0);
    ssize_t first_size = recv(dgram[1], buf, sizeof buf, 0); ssize_t second_size = recv(dgram[1], buf, sizeof buf, 0);
    printf("datagrams %zd %zd\n", first_size, second_size);
    int file = open("/etc/hostname", O_RDONLY); if (file < 0) file = open("/etc/passwd", O_RDONLY);
    char control[CMSG_SPACE(sizeof(int))] = {0}; struct iovec io = {.iov_base = "F", .iov_len = 1};
    struct msghdr message = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message); header->cmsg_level = SOL_SOCKET; header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int)); memcpy(CMSG_DATA(header), &file, sizeof(int));
    printf("sendmsg %zd\n", sendmsg(dgram[0], &message, 0));
    char data; struct iovec in = {.iov_base = &data, .iov_len = 1}; char space[CMSG_SPACE(sizeof(int))];
    struct msghdr incoming = {.msg_iov = &in, .msg_iovlen = 1, .msg_control = space, .msg_controllen = sizeof space};
    ssize_t message_size = recvmsg(dgram[1], &incoming, 0);
    printf("recvmsg %zd %c\n", message_size, data);
    int passed; memcpy(&passed, CMSG_DATA(CMSG_FIRSTHDR(&incoming)), sizeof(int));
    char first[4] = {0}; pread(file, first, 3, 0); char again[4] = {0}; pread(passed, again, 3, 0);
    printf("passed descriptor reads the same %d new number %d\n", strcmp(first, again) == 0, passed != file);
    struct sockaddr_un name; socklen_t length = sizeof name; getsockname(server, (struct sockaddr *)&name, &length);
    printf("getsockname matches %d\n", strcmp(name.sun_path, address.sun_path) == 0);
    unlink(address.sun_path); rmdir(dir);
    return 0;
}
