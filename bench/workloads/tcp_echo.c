// bench: title=Network: loopback TCP echo, 1-byte messages x 20000 round trips
// bench: kind=network
// bench: args=20000
// bench: quick-args=200
// bench: strace-args=2000
// bench: strace-scale=10
// A child echoes every byte back over a loopback TCP connection; the parent sends N one-byte
// messages, each after the previous reply (round trips/s = N / time).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 1) != 0) { perror("bind"); return 1; }
    getsockname(listener, (struct sockaddr *)&address, &length);
    pid_t child = fork();
    if (child == 0) {
        int connection = accept(listener, NULL, NULL);
        int one = 1;
        setsockopt(connection, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char byte;
        while (read(connection, &byte, 1) == 1)
            write(connection, &byte, 1);
        _exit(0);
    }
    close(listener);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client, (struct sockaddr *)&address, sizeof address) != 0) { perror("connect"); return 1; }
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (long i = 0; i < n; i++) {
        char byte = (char)i, back;
        if (write(client, &byte, 1) != 1 || read(client, &back, 1) != 1 || back != byte) { fprintf(stderr, "echo failed at %ld\n", i); return 1; }
    }
    close(client);
    waitpid(child, NULL, 0);
    return 0;
}
