// io_uring through liburing: writes and reads at offsets and at the file position, readv and
// writev, fsync, openat and close, a poll on a pipe completed by a later write, a read of an
// empty pipe completed once data comes, timeouts (one expiring, one satisfied by a count),
// IOSQE_CQE_SKIP_SUCCESS, and an opcode Trapeze lacks.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static struct io_uring ring;

static void show(const char *what)
{
    struct io_uring_cqe *cqe;
    int error = io_uring_wait_cqe(&ring, &cqe);
    if (error < 0)
    {
        printf("%s: wait failed %s\n", what, strerror(-error));
        return;
    }
    printf("%s: user_data %llu res %d%s%s\n", what, (unsigned long long)cqe->user_data, cqe->res, cqe->res < 0 ? " " : "",
           cqe->res < 0 ? strerror(-cqe->res) : "");
    io_uring_cqe_seen(&ring, cqe);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    int error = io_uring_queue_init(8, &ring, 0);
    if (error < 0)
    {
        printf("queue_init: %s\n", strerror(-error));
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/uring.txt", argv[1]);

    // openat through the ring.
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    sqe->user_data = 1;
    printf("submitted %d\n", io_uring_submit(&ring));
    struct io_uring_cqe *cqe;
    io_uring_wait_cqe(&ring, &cqe);
    int fd = cqe->res;
    printf("openat: %s\n", fd >= 0 ? "a descriptor" : strerror(-fd));
    io_uring_cqe_seen(&ring, cqe);

    // Two writes in one submission, then fsync.
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write(sqe, fd, "hello ", 6, 0);
    sqe->user_data = 2;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write(sqe, fd, "world\n", 6, 6);
    sqe->user_data = 3;
    printf("submitted %d\n", io_uring_submit_and_wait(&ring, 2));
    show("write 1");
    show("write 2");
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_fsync(sqe, fd, 0);
    sqe->user_data = 4;
    io_uring_submit(&ring);
    show("fsync");

    // readv at an offset; writev at the file position (offset -1).
    char first[6] = {0}, second[7] = {0};
    struct iovec vectors[2] = {{first, 5}, {second, 6}};
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_readv(sqe, fd, vectors, 2, 1);
    sqe->user_data = 5;
    io_uring_submit(&ring);
    show("readv");
    printf("  '%s' '%s'\n", first, second);
    struct iovec out[2] = {{"more ", 5}, {"text\n", 5}};
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_writev(sqe, fd, out, 2, -1);
    sqe->user_data = 6;
    io_uring_submit(&ring);
    show("writev at position");
    char all[64] = {0};
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, fd, all, sizeof all - 1, 0);
    sqe->user_data = 7;
    io_uring_submit(&ring);
    show("read");
    printf("  %s", all);

    // A poll and a read on an empty pipe wait until data comes.
    int p[2];
    pipe(p);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_poll_add(sqe, p[0], POLLIN);
    sqe->user_data = 8;
    char piped[8] = {0};
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, p[0], piped, sizeof piped - 1, -1);
    sqe->user_data = 9;
    io_uring_submit(&ring);
    struct __kernel_timespec brief = {0, 20 * 1000 * 1000};
    printf("nothing yet: %d\n", io_uring_wait_cqe_timeout(&ring, &cqe, &brief));
    write(p[1], "piped", 5);
    // Both complete; the order of their completions is the kernel's business.
    int results[2] = {0, 0};
    for (int i = 0; i < 2; i++)
    {
        io_uring_wait_cqe(&ring, &cqe);
        results[cqe->user_data == 9] = cqe->res;
        io_uring_cqe_seen(&ring, cqe);
    }
    printf("after the write: poll %d read %d\n", results[0], results[1]);
    printf("  %s\n", piped);

    // A timeout that expires, and one whose count is reached first.
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_timeout(sqe, &brief, 0, 0);
    sqe->user_data = 10;
    io_uring_submit(&ring);
    show("timeout");
    struct __kernel_timespec long_time = {100, 0};
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_timeout(sqe, &long_time, 1, 0);
    sqe->user_data = 11;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = 12;
    io_uring_submit(&ring);
    show("count 1");
    show("count 1");

    // A request whose success is not reported, then an opcode missing from the kernel's list.
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    sqe->user_data = 13;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->opcode = 200;
    sqe->user_data = 14;
    io_uring_submit(&ring);
    show("unknown opcode");

    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_close(sqe, fd);
    sqe->user_data = 15;
    io_uring_submit(&ring);
    show("close");
    printf("closed: %d\n", fcntl(fd, F_GETFD) < 0 && errno == EBADF);
    io_uring_queue_exit(&ring);
    return 0;
}
