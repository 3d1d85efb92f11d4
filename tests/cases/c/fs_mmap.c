/* mmap over files (reference 04's quadrants): MAP_SHARED writes reach read() and other processes,
   msync, MAP_PRIVATE copy-on-write, partial munmap and mprotect splits. argv[1]: scratch directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(what, expr) printf("%-44s %s\n", what, (expr) ? "ok" : "FAILED")

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || chdir(argv[1]) != 0) { perror("chdir"); return 2; }
    long page = sysconf(_SC_PAGESIZE);
    int fd = open("mapped", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK("ftruncate to three pages", ftruncate(fd, 3 * page) == 0);
    char *shared = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("mmap MAP_SHARED", shared != MAP_FAILED);
    memcpy(shared, "shared write", 12);
    char buffer[32] = { 0 };
    CHECK("shared write seen by pread", pread(fd, buffer, 12, 0) == 12 && memcmp(buffer, "shared write", 12) == 0);
    CHECK("pwrite seen through the mapping", pwrite(fd, "PWRITE", 6, page) == 6 && memcmp(shared + page, "PWRITE", 6) == 0);
    CHECK("msync MS_SYNC", msync(shared, 3 * page, MS_SYNC) == 0);
    CHECK("msync MS_ASYNC", msync(shared + page, page, MS_ASYNC) == 0);
    CHECK("msync both flags EINVAL", msync(shared, page, MS_SYNC | MS_ASYNC) == -1 && errno == EINVAL);
    CHECK("msync unaligned EINVAL", msync(shared + 1, page, MS_SYNC) == -1 && errno == EINVAL);

    pid_t child = fork();
    if (child == 0) {
        memcpy(shared + 2 * page, "from the child", 14);
        _exit(shared[0] == 's' ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK("child sees the parent's write", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("parent sees the child's write", memcmp(shared + 2 * page, "from the child", 14) == 0);

    int other = open("mapped", O_RDWR);
    char *second = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, other, 0);
    second[100] = 'X';
    CHECK("two mappings of one file agree", shared[100] == 'X');
    munmap(second, page);
    close(other);

    char *private = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK("MAP_PRIVATE sees the file", private != MAP_FAILED && memcmp(private, "shared write", 12) == 0);
    private[0] = 'P';
    CHECK("private write stays private", shared[0] == 's' && pread(fd, buffer, 1, 0) == 1 && buffer[0] == 's');

    CHECK("munmap the middle page", munmap(shared + page, page) == 0);
    CHECK("the pages around it stay", shared[0] == 's' && memcmp(shared + 2 * page, "from the child", 14) == 0);
    CHECK("mprotect one page read-only", mprotect(shared, page, PROT_READ) == 0);
    CHECK("read-only page still reads the file", shared[100] == 'X');
    munmap(shared, 3 * page);
    munmap(private, 2 * page);

    int reader = open("mapped", O_RDONLY);
    CHECK("MAP_SHARED writable of O_RDONLY EACCES", mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, reader, 0) == MAP_FAILED && errno == EACCES);
    char *view = mmap(NULL, page, PROT_READ, MAP_SHARED, reader, 0);
    CHECK("MAP_SHARED read-only of O_RDONLY", view != MAP_FAILED && view[0] == 's');
    CHECK("mprotect it writable EACCES", mprotect(view, page, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
    CHECK("MAP_PRIVATE writable of O_RDONLY", mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, reader, 0) != MAP_FAILED);
    int writer = open("mapped", O_WRONLY);
    CHECK("mmap of O_WRONLY EACCES", mmap(NULL, page, PROT_WRITE, MAP_SHARED, writer, 0) == MAP_FAILED && errno == EACCES);
    CHECK("mmap of a bad fd EBADF", mmap(NULL, page, PROT_READ, MAP_SHARED, 99, 0) == MAP_FAILED && errno == EBADF);
    CHECK("mmap unaligned offset EINVAL", mmap(NULL, page, PROT_READ, MAP_SHARED, reader, 1) == MAP_FAILED && errno == EINVAL);
    CHECK("ftruncate to the content", ftruncate(fd, 2 * page + 14) == 0);
    close(fd); close(reader); close(writer);
    unlink("mapped");
    return 0;
}
