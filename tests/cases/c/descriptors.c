/* Pipes within one process, socket-address calls on files, statfs, xattrs and copy_file_range. */
#define _GNU_SOURCE
#include <time.h>
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%-48s %s\n", what, ok ? "yes" : "no"); }

int main(int argc, char **argv) {
    int ends[2];
    check("pipe2(O_CLOEXEC)", pipe2(ends, O_CLOEXEC) == 0);
    check("both ends close-on-exec", (fcntl(ends[0], F_GETFD) & FD_CLOEXEC) && (fcntl(ends[1], F_GETFD) & FD_CLOEXEC));
    check("read end O_RDONLY, write end O_WRONLY",
          (fcntl(ends[0], F_GETFL) & O_ACCMODE) == O_RDONLY && (fcntl(ends[1], F_GETFL) & O_ACCMODE) == O_WRONLY);
    char buffer[16] = {0};
    check("write then read through the pipe", write(ends[1], "through", 7) == 7 && read(ends[0], buffer, sizeof buffer) == 7 && strcmp(buffer, "through") == 0);
    struct stat status;
    check("fstat: a FIFO", fstat(ends[0], &status) == 0 && S_ISFIFO(status.st_mode));
    char link[64], target[64] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", ends[1]);
    check("/proc/self/fd link names pipe:[inode]", readlink(link, target, sizeof target - 1) > 0 && strncmp(target, "pipe:[", 6) == 0);
    int nonblocking[2];
    check("pipe2(O_NONBLOCK): empty read is EAGAIN",
          pipe2(nonblocking, O_NONBLOCK) == 0 && read(nonblocking[0], buffer, 1) == -1 && errno == EAGAIN);
    struct pollfd waits[4] = {{ends[0], POLLIN, 0}, {ends[1], POLLOUT, 0}, {-1, POLLIN, 0}, {999, POLLIN, 0}};
    check("poll: empty pipe not readable, writable, bad fd POLLNVAL",
          poll(waits, 4, 0) == 2 && waits[0].revents == 0 && waits[1].revents == POLLOUT && waits[2].revents == 0 && waits[3].revents == POLLNVAL);
    write(ends[1], "x", 1);
    int proc_file = open("/proc/self/status", O_RDONLY);
    struct pollfd again[2] = {{ends[0], POLLIN, 0}, {proc_file, POLLIN | POLLOUT, 0}};
    struct timespec wait_time = {1, 0};
    check("ppoll: pipe with data readable, /proc file ready",
          ppoll(again, 2, &wait_time, NULL) == 2 && again[0].revents == POLLIN && again[1].revents == (POLLIN | POLLOUT));
    fd_set readable, writable;
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    FD_SET(ends[0], &readable);
    FD_SET(ends[1], &writable);
    struct timeval quarter = {0, 250000};
    check("select: pipe readable and writable, time left",
          select(ends[1] + 1, &readable, &writable, NULL, &quarter) == 2 && FD_ISSET(ends[0], &readable) && FD_ISSET(ends[1], &writable)
          && quarter.tv_sec == 0 && quarter.tv_usec > 0);
    FD_ZERO(&readable);
    FD_SET(40, &readable); /* below 64: inside every file table (select ignores descriptors beyond it) */
    struct timeval zero = {0, 0};
    check("select on a closed descriptor: EBADF", select(41, &readable, NULL, NULL, &zero) == -1 && errno == EBADF);
    read(ends[0], buffer, 1);
    FD_ZERO(&readable);
    FD_SET(ends[0], &readable);
    zero.tv_usec = 20000;
    check("select: empty pipe times out", select(ends[0] + 1, &readable, NULL, NULL, &zero) == 0 && !FD_ISSET(ends[0], &readable));
    close(proc_file);
    close(ends[1]);
    struct pollfd hangup = {ends[0], POLLIN, 0};
    check("poll: writer gone is POLLHUP", poll(&hangup, 1, 1000) == 1 && (hangup.revents & POLLHUP));
    check("read after the writer closed: end of file", read(ends[0], buffer, 1) == 0);
    check("pipe2 with a bad flag: EINVAL", pipe2(ends, O_APPEND) == -1 && errno == EINVAL);

    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    int file = open("/etc/hostname", O_RDONLY);
    check("getpeername on a file: ENOTSOCK", getpeername(file, (struct sockaddr *)&address, &length) == -1 && errno == ENOTSOCK);
    check("getsockname on a bad descriptor: EBADF", getsockname(999, (struct sockaddr *)&address, &length) == -1 && errno == EBADF);

    struct statfs root, proc, opened;
    check("statfs / and fstatfs agree", statfs("/", &root) == 0 && fstatfs(file, &opened) == 0 && statfs("/etc/hostname", &opened) == 0 && root.f_type == opened.f_type);
    check("statfs /proc is procfs", statfs("/proc/self", &proc) == 0 && proc.f_type == 0x9fa0);
    check("statfs of a missing path: ENOENT", statfs("/no/such/path", &root) == -1 && errno == ENOENT);

    char names[1024];
    check("listxattr on a file answers", listxattr("/etc/hostname", names, sizeof names) >= 0 || errno == ENOTSUP);
    check("getxattr of a missing attribute: ENODATA",
          getxattr("/etc/hostname", "user.trapeze.none", names, sizeof names) == -1 && (errno == ENODATA || errno == ENOTSUP));

    if (argc > 1) {
        char path[4096];
        snprintf(path, sizeof path, "%s/copy", argv[1]);
        int target_file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        loff_t from = 2;
        ssize_t copied = copy_file_range(file, &from, target_file, NULL, 100, 0);
        check("copy_file_range copies from an offset", copied > 0 && from == 2 + copied);
        close(target_file);
    }
    return 0;
}
