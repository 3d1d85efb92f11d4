/* Sockets over loopback: TCP listen/connect/accept across a thread, getsockname's port, UDP sendto/recvfrom,
   setsockopt/getsockopt, poll on a socket, connection refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
static struct sockaddr_in server_address;
static void *client(void *arg) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&server_address, sizeof server_address) != 0) return (void *)1;
    const char *text = "GET / over loopback";
    write(fd, text, strlen(text));
    char reply[32] = {0}; read(fd, reply, sizeof reply - 1);
    close(fd);
    return (void *)(long)(strcmp(reply, "200 ok") == 0 ? 0 : 2);
}
int main(void) {
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1; printf("SO_REUSEADDR %d\n", setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    int value = 0; socklen_t size = sizeof value; getsockopt(server, SOL_SOCKET, SO_REUSEADDR, &value, &size); printf("reads back %d\n", value != 0);
    server_address.sin_family = AF_INET; server_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK); server_address.sin_port = 0;
    int bound = bind(server, (struct sockaddr *)&server_address, sizeof server_address); int listening = listen(server, 4);
    printf("bind %d listen %d\n", bound, listening);
    socklen_t length = sizeof server_address; getsockname(server, (struct sockaddr *)&server_address, &length);
    printf("port chosen %d\n", ntohs(server_address.sin_port) > 0);
    pthread_t thread; pthread_create(&thread, 0, client, 0);
    struct pollfd wait = {.fd = server, .events = POLLIN}; printf("poll %d\n", poll(&wait, 1, 5000));
    struct sockaddr_in peer; socklen_t peer_length = sizeof peer;
    int connection = accept(server, (struct sockaddr *)&peer, &peer_length);
    printf("peer is loopback %d\n", peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    char buf[64] = {0}; ssize_t n = read(connection, buf, sizeof buf - 1); printf("server read %zd '%s'\n", n, buf);
    write(connection, "200 ok", 6);
    void *result; pthread_join(thread, &result); printf("client result %ld\n", (long)result);
    close(connection); close(server);
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(b, (struct sockaddr *)&to, sizeof to); length = sizeof to; getsockname(b, (struct sockaddr *)&to, &length);
    printf("sendto %zd\n", sendto(a, "datagram", 8, 0, (struct sockaddr *)&to, sizeof to));
    struct sockaddr_in from; socklen_t from_length = sizeof from; memset(buf, 0, sizeof buf);
    ssize_t got = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_length);
    printf("recvfrom %zd '%s' from loopback %d\n", got, buf, from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    int refused = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in nowhere = to; errno = 0;
    close(b); int refusal = connect(refused, (struct sockaddr *)&nowhere, sizeof nowhere);
    printf("connect to a closed port %d ECONNREFUSED %d\n", refusal, errno == ECONNREFUSED);
    return 0;
}
