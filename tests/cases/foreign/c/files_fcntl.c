/* Descriptors: dup, dup2, dup3, fcntl flags (O_APPEND, O_NONBLOCK, FD_CLOEXEC), O_DIRECTORY, openat. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
    char dir[] = "/tmp/trapeze-fcntl-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    int fd = openat(dfd, "f", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    printf("cloexec %d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
    int flags = fcntl(fd, F_GETFL); printf("accmode rdwr %d append %d\n", (flags & O_ACCMODE) == O_RDWR, !!(flags & O_APPEND));
    fcntl(fd, F_SETFL, flags | O_APPEND | O_NONBLOCK);
    flags = fcntl(fd, F_GETFL); printf("append %d nonblock %d\n", !!(flags & O_APPEND), !!(flags & O_NONBLOCK));
    write(fd, "ab", 2); lseek(fd, 0, SEEK_SET); write(fd, "cd", 2);
    char buf[8] = {0}; pread(fd, buf, 4, 0); printf("content %s\n", buf);
    int copy = dup(fd); printf("dup shares offset %d\n", lseek(copy, 0, SEEK_CUR) == lseek(fd, 0, SEEK_CUR));
    printf("dup2 %d\n", dup2(fd, 20));
    printf("dup3 cloexec %d\n", fcntl(dup3(fd, 21, O_CLOEXEC), F_GETFD));
    errno = 0; printf("O_DIRECTORY on a file %d %d\n", openat(dfd, "f", O_RDONLY | O_DIRECTORY), errno == ENOTDIR);
    errno = 0; printf("bad fd %d %d\n", fcntl(99, F_GETFD), errno == EBADF);
    unlinkat(dfd, "f", 0); close(dfd); rmdir(dir);
    return 0;
}
