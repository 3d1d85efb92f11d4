// bench: title=Network: small HTTP server, 20000 requests from 4 keep-alive clients
// bench: kind=network
// bench: args=20000 4
// bench: quick-args=40 2
// bench: strace-args=2000 4
// bench: strace-scale=10
// A poll-based HTTP/1.1 server in a child process answers a bounded load generator: C client
// connections (keep-alive) that send N requests in all, each waiting for its response
// (requests/s = N / time). 20000 requests, as tcp_echo makes 20000 round trips: 2000 take about
// 50 ms natively, and Trapeze's fixed start-up and fork (about 45 ms) would then be most of what
// is timed, not requests/s.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MaxClients = 64 };
static const char response[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, bench\n";

static void serve(int listener, int clients)
{
    struct pollfd fds[MaxClients + 1] = {{listener, POLLIN, 0}};
    int open = 0, accepted = 0;
    for (int i = 1; i <= MaxClients; i++) fds[i].fd = -1;
    while (accepted < clients || open > 0) {
        if (poll(fds, MaxClients + 1, 10000) <= 0) _exit(1);
        if (fds[0].revents & POLLIN) {
            int c = accept(listener, NULL, NULL);
            for (int i = 1; i <= MaxClients; i++)
                if (fds[i].fd < 0) { fds[i] = (struct pollfd){c, POLLIN, 0}; break; }
            accepted++, open++;
        }
        for (int i = 1; i <= MaxClients; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
            char request[1024];
            ssize_t got = read(fds[i].fd, request, sizeof request);
            if (got <= 0) { close(fds[i].fd); fds[i].fd = -1; open--; continue; }
            // Requests are small and one at a time per connection: one read holds one request.
            write(fds[i].fd, response, sizeof response - 1);
        }
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    long requests = argc > 1 ? atol(argv[1]) : 2000;
    int clients = argc > 2 ? atoi(argv[2]) : 4;
    if (clients < 1 || clients > MaxClients) return 2;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 64) != 0) { perror("bind"); return 1; }
    getsockname(listener, (struct sockaddr *)&address, &length);
    pid_t server = fork();
    if (server == 0) serve(listener, clients);
    close(listener);
    int fds[MaxClients];
    for (int i = 0; i < clients; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[i], (struct sockaddr *)&address, sizeof address) != 0) { perror("connect"); return 1; }
    }
    static const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char buffer[512];
    for (long done = 0; done < requests; ) {
        int batch = 0;
        for (; batch < clients && done < requests; batch++, done++)
            write(fds[batch], request, sizeof request - 1);
        for (int i = 0; i < batch; i++) {
            size_t want = sizeof response - 1, got = 0;
            while (got < want) {
                ssize_t r = read(fds[i], buffer + got, want - got);
                if (r <= 0) { fprintf(stderr, "response failed\n"); return 1; }
                got += r;
            }
        }
    }
    for (int i = 0; i < clients; i++) close(fds[i]);
    int status;
    waitpid(server, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
