/* memfd_create and sealing: F_ADD_SEALS, F_GET_SEALS and what each seal forbids. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHECK(what, expr) printf("%-44s %s\n", what, (expr) ? "ok" : "FAILED")

static int create(const char *name, unsigned flags) { return (int)syscall(SYS_memfd_create, name, flags); }

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fd = create("trapeze", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    CHECK("memfd_create", fd >= 0);
    CHECK("close-on-exec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    char link[64] = { 0 }, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    CHECK("readlink shows /memfd:NAME (deleted)", readlink(path, link, sizeof link - 1) > 0 && strcmp(link, "/memfd:trapeze (deleted)") == 0);
    struct stat st;
    CHECK("fstat: an empty regular file", fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0 && st.st_nlink == 0);
    CHECK("write", write(fd, "memory file", 11) == 11);
    CHECK("F_GET_SEALS none", fcntl(fd, F_GET_SEALS) == 0);
    CHECK("F_ADD_SEALS F_SEAL_SHRINK", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
    CHECK("shrinking EPERM", ftruncate(fd, 2) == -1 && errno == EPERM);
    CHECK("growing is fine", ftruncate(fd, 4096) == 0);
    CHECK("F_ADD_SEALS F_SEAL_GROW", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0);
    CHECK("growing EPERM", ftruncate(fd, 8192) == -1 && errno == EPERM);
    CHECK("writing past the end EPERM", pwrite(fd, "x", 1, 4096) == -1 && errno == EPERM);
    char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("mmap MAP_SHARED", map != MAP_FAILED && memcmp(map, "memory file", 11) == 0);
    CHECK("F_SEAL_WRITE while mapped writable EBUSY", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == -1 && errno == EBUSY);
    munmap(map, 4096);
    CHECK("F_SEAL_WRITE", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0);
    CHECK("write EPERM", write(fd, "x", 1) == -1 && errno == EPERM);
    CHECK("mmap shared writable EPERM", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EPERM);
    char back[12] = { 0 };
    CHECK("still readable", pread(fd, back, 11, 0) == 11 && strcmp(back, "memory file") == 0);
    CHECK("F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == 0);
    CHECK("no more seals EPERM", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == -1 && errno == EPERM);
    printf("seals: %#x\n", fcntl(fd, F_GET_SEALS));
    close(fd);

    int plain = create("plain", 0);
    CHECK("without MFD_ALLOW_SEALING: F_SEAL_SEAL set", fcntl(plain, F_GET_SEALS) == F_SEAL_SEAL);
    CHECK("and F_ADD_SEALS EPERM", fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE) == -1 && errno == EPERM);
    CHECK("no close-on-exec", fcntl(plain, F_GETFD) == 0);
    close(plain);
    char long_name[300];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    CHECK("name too long EINVAL", create(long_name, 0) == -1 && errno == EINVAL);
    CHECK("unknown flag EINVAL", create("x", 0x100) == -1 && errno == EINVAL);
    CHECK("bad name pointer EFAULT", syscall(SYS_memfd_create, (char *)1, 0) == -1 && errno == EFAULT);
    CHECK("F_GET_SEALS on a pipe EINVAL", ({ int p[2]; pipe(p); fcntl(p[0], F_GET_SEALS) == -1 && errno == EINVAL; }));
    return 0;
}
