// The in-kernel transfers (sendfile(2), copy_file_range(2), splice(2), tee(2), vmsplice(2)) between
// files, pipes, FIFOs and sockets: counts, file offsets and explicit offsets, the bytes that arrive,
// a blocking sendfile into a FIFO that waits for its reader in another process, and the errors
// Linux gives (EBADF, EINVAL, EISDIR, ESPIPE, EAGAIN).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

enum { Size = 200000 };
static char pattern[Size];

static void report(const char *what, long result)
{
    if (result < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld\n", what, result);
}

// Whether the descriptor's next bytes (or the file at offset) are pattern[from..from+length).
static int holds(int fd, long offset, long from, long length)
{
    static char buffer[Size];
    long got = offset < 0 ? read(fd, buffer, length) : pread(fd, buffer, length, offset);
    return got == length && memcmp(buffer, pattern + from, length) == 0;
}

static long position(int fd) { return lseek(fd, 0, SEEK_CUR); }

int main(int argc, char **argv)
{
    char directory[256], path[300];
    snprintf(directory, sizeof directory, "%s/trapeze-transfer-XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (!mkdtemp(directory)) return 1;
    for (int index = 0; index < Size; index++)
        pattern[index] = (char)('a' + (index * 7 + index / 251) % 26);
    snprintf(path, sizeof path, "%s/source", directory);
    int in = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (write(in, pattern, Size) != Size) return 2;
    lseek(in, 0, SEEK_SET);

    // sendfile between files: the file offsets move, or the offset pointer does and in_fd's stays.
    snprintf(path, sizeof path, "%s/copy", directory);
    int out = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    report("sendfile file->file", sendfile(out, in, NULL, 5000));
    printf("  offsets in %ld out %ld, bytes %d\n", position(in), position(out), holds(out, 0, 0, 5000));
    off_t offset = 100;
    report("sendfile with offset", sendfile(out, in, &offset, 3000));
    printf("  offset %ld in %ld out %ld, bytes %d\n", (long)offset, position(in), position(out), holds(out, 5000, 100, 3000));
    offset = Size - 10;
    report("sendfile past the end", sendfile(out, in, &offset, 100));
    printf("  offset %ld\n", (long)offset);
    report("sendfile at the end", sendfile(out, in, &offset, 100));
    report("sendfile of nothing", sendfile(out, in, NULL, 0));

    // Into a pipe: at most what fits; a full non-blocking pipe is EAGAIN.
    int pipe_ends[2];
    pipe(pipe_ends);
    offset = 1000;
    report("sendfile file->pipe", sendfile(pipe_ends[1], in, &offset, 1000));
    printf("  bytes %d\n", holds(pipe_ends[0], -1, 1000, 1000));
    offset = 0;
    report("sendfile more than the pipe holds", sendfile(pipe_ends[1], in, &offset, 100000));
    fcntl(pipe_ends[1], F_SETFL, O_NONBLOCK);
    report("sendfile into a full O_NONBLOCK pipe", sendfile(pipe_ends[1], in, &offset, 10));
    printf("  bytes %d\n", holds(pipe_ends[0], -1, 0, 65536));
    close(pipe_ends[0]);
    close(pipe_ends[1]);

    // Into a socket.
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    offset = 4242;
    report("sendfile file->socket", sendfile(pair[0], in, &offset, 2000));
    printf("  offset %ld bytes %d\n", (long)offset, holds(pair[1], -1, 4242, 2000));
    close(pair[0]);
    close(pair[1]);

    // From a socket (Linux 5.12 on) and from /proc, into /dev/null and a file.
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    write(pair[1], "from a socket", 13);
    report("sendfile socket->file", sendfile(out, pair[0], NULL, 100));
    write(pair[1], "spliced", 7);
    pipe(pipe_ends);
    report("splice socket->pipe", splice(pair[0], NULL, pipe_ends[1], NULL, 100, 0));
    char text[16] = {0};
    read(pipe_ends[0], text, sizeof text - 1);
    printf("  %s\n", text);
    write(pair[1], "sent", 4);
    report("sendfile socket->pipe", sendfile(pipe_ends[1], pair[0], NULL, 100));
    memset(text, 0, sizeof text);
    read(pipe_ends[0], text, sizeof text - 1);
    printf("  %s\n", text);
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    close(pair[0]);
    close(pair[1]);
    int ostype = open("/proc/sys/kernel/ostype", O_RDONLY);
    offset = 0;
    report("sendfile /proc->file", sendfile(out, ostype, &offset, 100));
    report("  then at the file offset", sendfile(out, ostype, NULL, 100));
    close(ostype);
    int null = open("/dev/null", O_WRONLY);
    report("sendfile file->/dev/null", sendfile(null, in, NULL, 100000));
    printf("  in %ld\n", position(in));
    close(null);

    // Into a FIFO another process reads: each call waits for room until the reader took some.
    snprintf(path, sizeof path, "%s/fifo", directory);
    mkfifo(path, 0600);
    pid_t child = fork();
    if (child == 0) {
        int reader = open(path, O_RDONLY);
        static char got[Size + 1];
        long total = 0, piece;
        while ((piece = read(reader, got + total, Size + 1 - total)) > 0)
            total += piece;
        _exit(total == Size && memcmp(got, pattern, Size) == 0 ? 0 : 3);
    }
    int writer = open(path, O_WRONLY);
    long sent = 0, piece = 0;
    offset = 0;
    while (sent < Size && (piece = sendfile(writer, in, &offset, Size - sent)) > 0)
        sent += piece;
    printf("sendfile into a fifo: %ld bytes, offset %ld, last %s\n", sent, (long)offset, piece < 0 ? strerror(errno) : "ok");
    close(writer);
    int status;
    waitpid(child, &status, 0);
    printf("  reader exited %d\n", WEXITSTATUS(status));
    unlink(path);

    // Into a pipe and a socket another process reads: the writer waits for room each time. The
    // socket already holds 150000 bytes, so a 64 KiB piece goes in part by part.
    enum { Filler = 150000 };
    static char filler[Filler];
    for (int kind = 0; kind < 2; kind++) {
        int ends[2];
        if (kind == 0) pipe(ends);
        else socketpair(AF_UNIX, SOCK_STREAM, 0, ends);
        int reading = kind == 0 ? ends[0] : ends[1], sending = kind == 0 ? ends[1] : ends[0];
        long before = kind == 0 ? 0 : Filler;
        pid_t peer = fork();
        if (peer == 0) {
            close(sending);
            static char got[Filler + Size + 1];
            long total = 0, part;
            while ((part = read(reading, got + total, sizeof got - total)) > 0)
                total += part;
            _exit(total == before + Size && memcmp(got + before, pattern, Size) == 0 ? 0 : 3);
        }
        close(reading);
        if (before) write(sending, filler, before);
        sent = 0;
        offset = 0;
        while (sent < Size && (piece = sendfile(sending, in, &offset, Size - sent)) > 0)
            sent += piece;
        printf("sendfile into a %s another process reads: %ld bytes, offset %ld\n", kind == 0 ? "pipe" : "socket", sent, (long)offset);
        close(sending);
        waitpid(peer, &status, 0);
        printf("  reader exited %d\n", WEXITSTATUS(status));
    }

    // copy_file_range with and without offsets.
    snprintf(path, sizeof path, "%s/range", directory);
    int range = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    loff_t from = 10, to = 0;
    report("copy_file_range with offsets", copy_file_range(in, &from, range, &to, 10000, 0));
    printf("  from %ld to %ld out %ld bytes %d\n", (long)from, (long)to, position(range), holds(range, 0, 10, 10000));
    lseek(in, 20, SEEK_SET);
    lseek(range, 10000, SEEK_SET);
    report("copy_file_range at the offsets", copy_file_range(in, NULL, range, NULL, 500, 0));
    printf("  in %ld out %ld bytes %d\n", position(in), position(range), holds(range, 10000, 20, 500));

    // splice from a file through a pipe into a file, then tee and vmsplice.
    snprintf(path, sizeof path, "%s/spliced", directory);
    int spliced = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    pipe(pipe_ends);
    loff_t at = 300;
    report("splice file->pipe", splice(in, &at, pipe_ends[1], NULL, 5000, 0));
    printf("  at %ld\n", (long)at);
    report("splice pipe->file", splice(pipe_ends[0], NULL, spliced, NULL, 8000, 0));
    printf("  out %ld bytes %d\n", position(spliced), holds(spliced, 0, 300, 5000));
    lseek(in, 700, SEEK_SET);
    report("splice file offset->pipe", splice(in, NULL, pipe_ends[1], NULL, 100, SPLICE_F_MOVE));
    loff_t into = 50000;
    report("splice pipe->file offset", splice(pipe_ends[0], NULL, spliced, &into, 100, 0));
    printf("  in %ld into %ld out %ld bytes %d\n", position(in), (long)into, position(spliced), holds(spliced, 50000, 700, 100));
    report("splice from an empty O_NONBLOCK pipe", splice(pipe_ends[0], NULL, spliced, NULL, 100, SPLICE_F_NONBLOCK));

    int other[2];
    pipe(other);
    write(pipe_ends[1], "hello tee", 9);
    report("tee", tee(pipe_ends[0], other[1], 100, 0));
    memset(text, 0, sizeof text);
    read(other[0], text, sizeof text - 1);
    printf("  copy %s", text);
    memset(text, 0, sizeof text);
    read(pipe_ends[0], text, sizeof text - 1);
    printf(", original %s\n", text);
    report("tee of an empty pipe, non-blocking", tee(pipe_ends[0], other[1], 100, SPLICE_F_NONBLOCK));
    write(pipe_ends[1], "through", 7);
    report("splice pipe->pipe", splice(pipe_ends[0], NULL, other[1], NULL, 100, 0));
    memset(text, 0, sizeof text);
    read(other[0], text, sizeof text - 1);
    printf("  %s\n", text);
    struct iovec pieces[2] = {{"vm", 2}, {"splice", 6}};
    report("vmsplice", vmsplice(pipe_ends[1], pieces, 2, 0));
    memset(text, 0, sizeof text);
    read(pipe_ends[0], text, sizeof text - 1);
    printf("  %s\n", text);

    // Errors.
    int directory_fd = open(directory, O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "%s/copy", directory);
    int read_only = open(path, O_RDONLY), write_only = open(path, O_WRONLY), append = open(path, O_WRONLY | O_APPEND);
    offset = 0;
    report("sendfile from a bad descriptor", sendfile(out, 999, NULL, 10));
    report("sendfile to a bad descriptor", sendfile(999, in, NULL, 10));
    report("sendfile to a read-only file", sendfile(read_only, in, &offset, 10));
    report("sendfile from a write-only file", sendfile(out, write_only, &offset, 10));
    report("sendfile from a directory", sendfile(out, directory_fd, NULL, 10));
    report("sendfile into O_APPEND", sendfile(append, in, &offset, 10));
    offset = -1;
    report("sendfile at a negative offset", sendfile(out, in, &offset, 10));
    offset = 0;
    report("sendfile from a pipe with an offset", sendfile(out, pipe_ends[0], &offset, 10));
    write(pipe_ends[1], "x", 1);
    report("sendfile from a pipe", sendfile(out, pipe_ends[0], NULL, 10));
    report("copy_file_range from a bad descriptor", copy_file_range(999, NULL, out, NULL, 10, 0));
    report("copy_file_range from a directory", copy_file_range(directory_fd, NULL, out, NULL, 10, 0));
    report("copy_file_range into O_APPEND", copy_file_range(in, NULL, append, NULL, 10, 0));
    report("copy_file_range into a pipe", copy_file_range(in, NULL, pipe_ends[1], NULL, 10, 0));
    report("copy_file_range with flags", copy_file_range(in, NULL, out, NULL, 10, 1));
    report("copy_file_range to a read-only file", copy_file_range(in, NULL, read_only, NULL, 10, 0));
    report("splice without a pipe", splice(in, NULL, out, NULL, 10, 0));
    at = 0;
    report("splice with an offset on the pipe", splice(pipe_ends[0], &at, out, NULL, 10, 0));
    report("splice with unknown flags", splice(pipe_ends[0], NULL, out, NULL, 10, 0x100));
    report("splice from a bad descriptor", splice(999, NULL, pipe_ends[1], NULL, 10, 0));
    report("splice into the read end", splice(in, NULL, pipe_ends[0], NULL, 10, 0));
    report("tee between files", tee(in, out, 10, 0));
    report("tee into the same pipe", tee(pipe_ends[0], pipe_ends[1], 10, 0));
    report("vmsplice on a file", vmsplice(out, pieces, 2, 0));
    close(pipe_ends[1]);
    report("splice from a pipe without writers", splice(pipe_ends[0], NULL, out, NULL, 10, 0));
    close(pipe_ends[0]);
    pipe(pipe_ends);
    close(pipe_ends[0]);
    signal(SIGPIPE, SIG_IGN);
    offset = 0;
    report("sendfile into a pipe without readers", sendfile(pipe_ends[1], in, &offset, 10));
    report("splice into a pipe without readers", splice(in, NULL, pipe_ends[1], NULL, 10, 0));

    close(pipe_ends[1]);
    close(other[0]);
    close(other[1]);
    close(directory_fd);
    close(read_only);
    close(write_only);
    close(append);
    close(in);
    close(out);
    close(range);
    close(spliced);
    const char *names[] = {"source", "copy", "range", "spliced"};
    for (int index = 0; index < 4; index++) {
        snprintf(path, sizeof path, "%s/%s", directory, names[index]);
        unlink(path);
    }
    rmdir(directory);
    return 0;
}
