// A tmpfs mounted with size=256k,nr_inodes=16 (argv[1]) fills up: what each call does then.
// Run natively in a real tmpfs and under `trapeze run --tmpfs DIR:size=256k,nr_inodes=16`: the outputs must match.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

static char directory[4096], big[400 * 1024];

static const char *in(const char *name) {
    static char path[2][4200]; static int which;
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/%s", directory, name);
    return path[which];
}

static const char *name_of(int error) {
    switch (error) {
    case ENOSPC: return "ENOSPC";
    case EEXIST: return "EEXIST";
    case EBADF: return "EBADF";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    default: return strerror(error);
    }
}

static void show(const char *what, long result) {
    if (result < 0) printf("%s: -1 %s\n", what, name_of(errno));
    else printf("%s: %ld\n", what, result);
}

static void space(const char *when) {
    struct statfs status;
    statfs(directory, &status);
    printf("%s: blocks %ld free %ld files %ld free files %ld\n", when, (long)status.f_blocks, (long)status.f_bfree, (long)status.f_files, (long)status.f_ffree);
}

static long size_of(int fd) { struct stat status; fstat(fd, &status); return (long)status.st_size; }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(directory, sizeof directory, "%s", argv[1]);
    memset(big, 'x', sizeof big);
    space("empty");
    int fd = open(in("a"), O_CREAT | O_RDWR, 0644);
    show("write 100000", write(fd, big, 100000));
    space("after 100000");
    show("write 200000 (fills it)", write(fd, big, 200000));
    show("size", size_of(fd));
    show("write 1 more", write(fd, big, 1));
    show("pwrite over existing bytes", pwrite(fd, big, 4096, 0));
    show("pwrite far out", pwrite(fd, big, 1, 10 << 20));
    struct iovec vectors[2] = { { big, 10 }, { big, 10 } };
    show("writev", writev(fd, vectors, 2));
    show("pwritev far out", pwritev(fd, vectors, 2, 20 << 20));
    space("full");
    int append = open(in("a"), O_WRONLY | O_APPEND);
    show("append", write(append, big, 1));
    close(append);
    show("ftruncate to 100M (sparse)", ftruncate(fd, 100 << 20));
    show("size", size_of(fd));
    show("pwrite into the hole", pwrite(fd, big, 1, 50 << 20));
    show("ftruncate to 50000", ftruncate(fd, 50000));
    space("after shrinking");
    int b = open(in("b"), O_CREAT | O_RDWR, 0644);
    show("fallocate 1M", fallocate(b, 0, 0, 1 << 20));
    show("size after failed fallocate", size_of(b));
    space("after failed fallocate");
    show("fallocate 8192", fallocate(b, 0, 0, 8192));
    show("fallocate keep size 8192 more", fallocate(b, FALLOC_FL_KEEP_SIZE, 8192, 8192));
    show("size", size_of(b));
    show("fill b", pwrite(b, big, sizeof big, 16384));
    space("full again");
    show("punch a hole", fallocate(b, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 16384, 16384));
    space("after the hole");
    show("write into the hole", pwrite(b, big, 16384, 16384));
    show("write past it", pwrite(b, big, 4096, 16384));
    int c = open(in("c"), O_CREAT | O_RDWR, 0644);
    show("new file in a full tmpfs", c);
    show("write to it", write(c, big, 1));
    show("mkdir in a full tmpfs", mkdir(in("d"), 0755));
    show("symlink in a full tmpfs", symlink("a", in("s")));
    show("unlink b while open", unlink(in("b")));
    space("b unlinked, still open");
    close(b);
    space("b closed");
    show("write to c now", write(c, big, 8192));
    show("truncate a to 0", truncate(in("a"), 0));
    space("a truncated");
    for (int i = 0; i < 20; i++) {
        char name[16]; snprintf(name, sizeof name, "n%d", i);
        int n = open(in(name), O_CREAT | O_WRONLY, 0644);
        if (n < 0) { printf("file %d: -1 %s\n", i, name_of(errno)); break; }
        close(n);
    }
    space("inodes used up");
    show("link with no inodes left", link(in("a"), in("a2")));
    show("mkdir with no inodes left", mkdir(in("e"), 0755));
    show("unlink n0", unlink(in("n0")));
    show("link now", link(in("a"), in("a2")));
    space("end");
    close(fd); close(c);
    return 0;
}
