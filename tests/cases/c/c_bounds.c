/* Sizes from the guest that reach past its buffer, or are absurd: Linux moves data up to the first
 * faulting page, caps what it allocates, and ignores an impossible mmap hint. Each line prints the
 * result and errno, so native and Trapeze must agree exactly. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

static void show(const char *what, long result) {
    printf("%s: %ld %s\n", what, result, result < 0 ? strerror(errno) : "");
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[4096], link[4096];
    snprintf(path, sizeof path, "%s/data", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char text[8192];
    memset(text, 'x', sizeof text);
    write(fd, text, sizeof text);

    /* Two pages, the second one unmapped: transfers stop at the boundary. */
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    show("pread past the buffer", pread(fd, page + 4000, 1000, 0));
    show("pwrite past the buffer", pwrite(fd, page + 4000, 1000, 0));
    lseek(fd, 0, SEEK_SET);
    show("read past the buffer", read(fd, page + 4000, 1000));
    show("write past the buffer", write(fd, page + 4000, 1000));
    show("read into nothing", read(fd, page + 4096, 10));
    show("getrandom past the buffer", getrandom(page + 4000, 1000, 0));
    show("getrandom into nothing", getrandom(page + 4096, 10, 0));

    /* Absurd sizes must not become host allocations. */
    symlink("target-of-the-link", link);
    static char big[64];
    volatile size_t huge = 0x7fffffff; /* hidden from the compiler, which would warn about it */
    show("readlink with 0x7fffffff", readlink(link, big, huge));
    show("readlink with 0", readlink(link, big, 0));
    show("readlink of an empty path", readlink("", big, sizeof big)); /* ENOENT, not EINVAL: found by the syscall fuzzer */
    show("getxattr with 0x7fffffff", getxattr(path, "user.none", big, huge));
    show("listxattr with huge size", listxattr(path, big, huge) >= 0 ? 0 : -1);
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    long entries = syscall(SYS_getdents64, d, page, huge);
    show("getdents64 with 0x7fffffff", entries > 0 ? 1 : entries);
    show("getrandom with huge count", getrandom(page, huge, 0) == 4096 ? 4096 : -2);

    /* mmap's hint (void*)-1 without MAP_FIXED is only a hint: Linux places the mapping elsewhere. */
    char *hinted = mmap((void *)-1, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mmap hint -1 lands in user space", hinted != MAP_FAILED && (unsigned long)hinted < 0x800000000000UL);
    show("mmap fixed at -1", mmap((void *)-4096, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ? -1 : 0);
    unlink(link); /* the test harness compares the files left behind; a dangling link has no content */
    return 0;
}
