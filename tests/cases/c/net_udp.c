/* UDP round trips over IPv4 and IPv6 loopback: sendto/recvfrom with the sender's address,
   connected sockets, MSG_PEEK and MSG_TRUNC, recvmsg's msg_flags, sendmmsg/recvmmsg. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int bound(int family, struct sockaddr_storage *address, socklen_t *length)
{
    int fd = socket(family, SOCK_DGRAM, 0);
    memset(address, 0, sizeof *address);
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)address;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *length = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)address;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        *length = sizeof *in6;
    }
    if (bind(fd, (struct sockaddr *)address, *length) != 0)
        printf("bind: %s\n", strerror(errno));
    getsockname(fd, (struct sockaddr *)address, length);
    return fd;
}

static int same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static void round_trips(int family, const char *label)
{
    struct sockaddr_storage one, two, from;
    socklen_t one_length, two_length, from_length;
    int a = bound(family, &one, &one_length);
    int b = bound(family, &two, &two_length);
    printf("%s: lengths %u %u\n", label, one_length, two_length);

    char buffer[64];
    for (int i = 0; i < 3; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "ping %d", i);
        sendto(a, text, n, 0, (struct sockaddr *)&two, two_length);
        from_length = sizeof from;
        ssize_t got = recvfrom(b, buffer, sizeof buffer, 0, (struct sockaddr *)&from, &from_length);
        printf("%s: got '%.*s' from the sender: %s (length %u)\n", label, (int)got, buffer, same(&from, &one) ? "yes" : "no", from_length);
        sendto(b, "pong", 4, 0, (struct sockaddr *)&from, from_length);
        got = recv(a, buffer, sizeof buffer, 0);
        printf("%s: reply '%.*s'\n", label, (int)got, buffer);
    }

    connect(a, (struct sockaddr *)&two, two_length);
    send(a, "0123456789", 10, 0);
    ssize_t got = recv(b, buffer, 4, MSG_PEEK);
    printf("%s: peek %zd '%.*s'\n", label, got, (int)got, buffer);
    got = recv(b, buffer, 4, MSG_TRUNC);
    printf("%s: MSG_TRUNC returns the datagram's length %zd, copies '%.4s'\n", label, got, buffer);
    send(a, "abcdefgh", 8, 0);
    struct iovec vector = {buffer, 3};
    struct msghdr message = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &vector, .msg_iovlen = 1};
    got = recvmsg(b, &message, 0);
    printf("%s: recvmsg %zd '%.3s' truncated %s, from the sender %s\n", label, got, buffer, message.msg_flags & MSG_TRUNC ? "yes" : "no", same(&from, &one) ? "yes" : "no");
    got = recv(b, buffer, sizeof buffer, MSG_DONTWAIT);
    printf("%s: empty queue %zd %s\n", label, got, got < 0 && errno == EAGAIN ? "EAGAIN" : "?");

    struct mmsghdr messages[3];
    struct iovec vectors[3];
    char texts[3][8] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        vectors[i] = (struct iovec){texts[i], strlen(texts[i])};
        messages[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &vectors[i], .msg_iovlen = 1}};
    }
    printf("%s: sendmmsg %d\n", label, sendmmsg(a, messages, 3, 0));
    char received[3][8];
    for (int i = 0; i < 3; i++) {
        vectors[i] = (struct iovec){received[i], sizeof received[i]};
        messages[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &vectors[i], .msg_iovlen = 1}};
    }
    int count = recvmmsg(b, messages, 3, MSG_WAITFORONE, NULL);
    printf("%s: recvmmsg %d:", label, count);
    for (int i = 0; i < count; i++)
        printf(" '%.*s'", (int)messages[i].msg_len, received[i]);
    printf("\n");

    struct sockaddr_storage unspecified = {.ss_family = AF_UNSPEC};
    printf("%s: disconnect %d\n", label, connect(a, (struct sockaddr *)&unspecified, sizeof unspecified.ss_family));
    printf("%s: send without a peer: %s\n", label, send(a, "x", 1, 0) < 0 && errno == EDESTADDRREQ ? "EDESTADDRREQ" : "?");
    close(a);
    close(b);
}

int main(void)
{
    round_trips(AF_INET, "ipv4");
    round_trips(AF_INET6, "ipv6");

    /* A v6 socket reaches a v4 one's port only through a v4-mapped address. */
    struct sockaddr_storage four;
    socklen_t length;
    int v4 = bound(AF_INET, &four, &length);
    int v6 = socket(AF_INET6, SOCK_DGRAM, 0);
    int off = 0, value = -1;
    setsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    socklen_t value_length = sizeof value;
    getsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, &value, &value_length);
    printf("IPV6_V6ONLY %d\n", value);
    struct sockaddr_in6 mapped = {.sin6_family = AF_INET6, .sin6_port = ((struct sockaddr_in *)&four)->sin_port};
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
    sendto(v6, "mapped", 6, 0, (struct sockaddr *)&mapped, sizeof mapped);
    char buffer[16];
    ssize_t got = recv(v4, buffer, sizeof buffer, 0);
    printf("v4-mapped: '%.*s'\n", (int)got, buffer);
    return 0;
}
