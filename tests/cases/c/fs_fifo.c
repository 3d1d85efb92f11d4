// FIFOs in a host directory (fifo(7)): a blocking open waits for the other end while other
// processes run, a signal interrupts that wait (EINTR without SA_RESTART), O_NONBLOCK opens for
// reading at once and for writing fail with ENXIO while nobody reads; reads and writes between
// processes wait for each other, and a write with no reader left raises SIGPIPE.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_alarm(int signal) { (void)signal; }

int main(int argc, char **argv)
{
    char directory[256];
    snprintf(directory, sizeof directory, "%s/trapeze-fifo-XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (!mkdtemp(directory)) return 1;
    char path[300];
    snprintf(path, sizeof path, "%s/fifo", directory);
    printf("mkfifo %d\n", mkfifo(path, 0600));

    int writer = open(path, O_WRONLY | O_NONBLOCK);
    printf("write end without a reader: %d %s\n", writer, writer < 0 ? strerror(errno) : "");
    int reader = open(path, O_RDONLY | O_NONBLOCK);
    printf("read end without blocking: %d\n", reader >= 0);
    close(reader);

    // Across processes with blocking ends: the reader waits for data, and a write larger than the
    // pipe waits for room until all of it went.
    enum { Big = 200000 };
    pid_t child = fork();
    if (child == 0) {
        int out = open(path, O_WRONLY); // waits for the parent's reader
        write(out, "through the fifo", 16);
        static char bulk[Big];
        memset(bulk, 'x', sizeof bulk);
        ssize_t wrote = write(out, bulk, sizeof bulk);
        close(out);
        _exit(wrote == Big ? 0 : 3);
    }
    int in = open(path, O_RDONLY); // waits for the child's writer
    printf("reader O_NONBLOCK: %d\n", (fcntl(in, F_GETFL) & O_NONBLOCK) != 0);
    char buffer[32] = {0};
    ssize_t got = read(in, buffer, 16);
    printf("read %zd: %s\n", got, buffer);
    long total = 0;
    char chunk[4096];
    while ((got = read(in, chunk, sizeof chunk)) > 0)
        total += got;
    printf("then %ld bytes, last read %zd\n", total, got);
    close(in);
    int status;
    waitpid(child, &status, 0);
    printf("writer exited %d\n", WEXITSTATUS(status));

    // A write with no reader left: EPIPE once SIGPIPE is ignored.
    int lone_reader = open(path, O_RDONLY | O_NONBLOCK);
    int lone_writer = open(path, O_WRONLY);
    close(lone_reader);
    signal(SIGPIPE, SIG_IGN);
    ssize_t broken = write(lone_writer, "x", 1);
    printf("write without reader: %zd %s\n", broken, broken < 0 ? strerror(errno) : "");
    close(lone_writer);
    signal(SIGPIPE, SIG_DFL);

    int both = open(path, O_RDWR); // both ends at once: never waits
    struct stat details;
    fstat(both, &details);
    write(both, "self", 4);
    char echo[8] = {0};
    read(both, echo, 4);
    printf("O_RDWR: %d fifo %d read back %s\n", both >= 0, S_ISFIFO(details.st_mode), echo);
    close(both);

    struct sigaction action = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &action, NULL);
    alarm(1);
    int lonely = open(path, O_RDONLY); // nobody writes: the alarm ends the wait
    printf("open interrupted: %d %s\n", lonely, lonely < 0 ? strerror(errno) : "");
    unlink(path);
    rmdir(directory);
    return 0;
}
