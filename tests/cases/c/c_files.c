/* File and directory syscalls through libc, in a scratch directory (argv[1]). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(what, expr) printf("%-32s %s\n", what, (expr) ? "ok" : "FAILED")

static int compare(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || chdir(argv[1]) != 0) { perror("chdir"); return 2; }
    char cwd[4096];
    CHECK("getcwd after chdir", getcwd(cwd, sizeof cwd) && strcmp(cwd, argv[1]) == 0);
    CHECK("getcwd small buffer ERANGE", getcwd(cwd, 2) == NULL && errno == ERANGE);

    int fd = open("data.txt", O_CREAT | O_WRONLY | O_TRUNC, 0640);
    CHECK("open O_CREAT", fd >= 0);
    CHECK("write", write(fd, "hello, world\n", 13) == 13);
    struct iovec parts[3] = { { "one ", 4 }, { "two ", 4 }, { "three\n", 6 } };
    CHECK("writev", writev(fd, parts, 3) == 14);
    CHECK("pwrite", pwrite(fd, "HELLO", 5, 0) == 5);
    CHECK("lseek SEEK_CUR", lseek(fd, 0, SEEK_CUR) == 27);
    CHECK("lseek SEEK_END", lseek(fd, 0, SEEK_END) == 27);
    CHECK("read on O_WRONLY EBADF", read(fd, cwd, 1) == -1 && errno == EBADF);
    CHECK("close", close(fd) == 0);

    fd = open("data.txt", O_RDONLY);
    char buffer[64] = { 0 };
    CHECK("read", read(fd, buffer, sizeof buffer) == 27);
    printf("content: %s", buffer);
    CHECK("read at EOF", read(fd, buffer, sizeof buffer) == 0);
    char a[6] = { 0 }, b[7] = { 0 };
    struct iovec in[2] = { { a, 5 }, { b, 6 } };
    CHECK("preadv", preadv(fd, in, 2, 14) == 11);
    printf("preadv: [%s] [%s]\n", a, b);
    CHECK("pread", pread(fd, a, 5, 7) == 5 && memcmp(a, "world", 5) == 0);
    CHECK("lseek SEEK_SET", lseek(fd, 3, SEEK_SET) == 3);
    CHECK("lseek negative EINVAL", lseek(fd, -100, SEEK_SET) == -1 && errno == EINVAL);

    struct stat st, st2;
    CHECK("fstat", fstat(fd, &st) == 0 && st.st_size == 27 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == (0640 & ~022));
    CHECK("stat", stat("data.txt", &st2) == 0 && st2.st_ino == st.st_ino);
    CHECK("fstatat AT_EMPTY_PATH", fstatat(fd, "", &st2, AT_EMPTY_PATH) == 0 && st2.st_ino == st.st_ino);
    unsigned long long statx_buffer[32]; /* struct statx: stx_size is the 64-bit word at offset 40 */
    CHECK("statx", syscall(SYS_statx, AT_FDCWD, "data.txt", 0, 0x200, statx_buffer) == 0 && statx_buffer[5] == 27);

    int copy = dup(fd);
    CHECK("dup shares the offset", copy > fd && lseek(copy, 0, SEEK_CUR) == 3);
    CHECK("dup2", dup2(fd, 20) == 20 && fcntl(20, F_GETFD) == 0);
    CHECK("dup3 O_CLOEXEC", dup3(fd, 21, O_CLOEXEC) == 21 && fcntl(21, F_GETFD) == FD_CLOEXEC);
    CHECK("dup3 same fd EINVAL", dup3(fd, fd, 0) == -1 && errno == EINVAL);
    CHECK("F_DUPFD above 30", fcntl(fd, F_DUPFD, 30) == 30);
    CHECK("F_DUPFD_CLOEXEC", fcntl(fd, F_DUPFD_CLOEXEC, 0) > 0);
    CHECK("F_SETFD/F_GETFD", fcntl(copy, F_SETFD, FD_CLOEXEC) == 0 && fcntl(copy, F_GETFD) == FD_CLOEXEC);
    CHECK("F_GETFL access mode", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    CHECK("F_SETFL O_NONBLOCK", fcntl(fd, F_SETFL, O_NONBLOCK) == 0 && (fcntl(copy, F_GETFL) & O_NONBLOCK));
    CHECK("fcntl bad fd", fcntl(999, F_GETFD) == -1 && errno == EBADF);
    close(copy);
    close(20);
    close(21);
    close(30);

    CHECK("access R_OK", access("data.txt", R_OK) == 0);
    CHECK("access missing ENOENT", access("missing", F_OK) == -1 && errno == ENOENT);
    CHECK("faccessat", faccessat(AT_FDCWD, "data.txt", W_OK, 0) == 0);
    CHECK("open missing ENOENT", open("missing", O_RDONLY) == -1 && errno == ENOENT);
    CHECK("open O_EXCL EEXIST", open("data.txt", O_CREAT | O_EXCL | O_WRONLY, 0600) == -1 && errno == EEXIST);
    CHECK("open dir O_WRONLY EISDIR", open(".", O_WRONLY) == -1 && errno == EISDIR);

    CHECK("mkdir", mkdir("sub", 0755) == 0);
    CHECK("mkdir again EEXIST", mkdir("sub", 0755) == -1 && errno == EEXIST);
    CHECK("rename", rename("data.txt", "sub/moved.txt") == 0);
    CHECK("symlink", symlink("sub/moved.txt", "link") == 0);
    char target[64] = { 0 };
    CHECK("readlink", readlink("link", target, sizeof target) == 13 && strcmp(target, "sub/moved.txt") == 0);
    CHECK("lstat sees the link", lstat("link", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK("link", link("sub/moved.txt", "hard") == 0 && stat("hard", &st) == 0 && st.st_nlink == 2);
    CHECK("chmod", chmod("hard", 0600) == 0 && stat("hard", &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK("truncate", truncate("hard", 5) == 0 && stat("sub/moved.txt", &st) == 0 && st.st_size == 5);
    int dir = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK("openat relative to dirfd", (fd = openat(dir, "moved.txt", O_RDONLY)) >= 0);
    CHECK("ftruncate on O_RDONLY EINVAL", ftruncate(fd, 0) == -1 && errno == EINVAL);
    close(fd);
    CHECK("mkdirat", mkdirat(dir, "deeper", 0700) == 0);
    CHECK("unlinkat AT_REMOVEDIR", unlinkat(dir, "deeper", AT_REMOVEDIR) == 0);
    CHECK("fchdir", fchdir(dir) == 0 && getcwd(cwd, sizeof cwd) && strstr(cwd, "/sub") != NULL);
    CHECK("chdir ..", chdir("..") == 0);
    close(dir);

    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "sub/file%02d", i);
        close(open(name, O_CREAT | O_WRONLY, 0644));
    }
    DIR *listing = opendir("sub");
    char *names[64];
    int count = 0;
    for (struct dirent *entry; (entry = readdir(listing)) != NULL;)
        if (entry->d_name[0] != '.') names[count++] = strdup(entry->d_name);
    closedir(listing);
    qsort(names, count, sizeof names[0], compare);
    printf("listing: %d entries, first %s, last %s\n", count, names[0], names[count - 1]);

    CHECK("unlink", unlink("link") == 0 && unlink("hard") == 0);
    CHECK("unlink missing ENOENT", unlink("link") == -1 && errno == ENOENT);
    CHECK("rmdir non-empty ENOTEMPTY", rmdir("sub") == -1 && errno == ENOTEMPTY);
    CHECK("creat", (fd = creat("created", 0644)) >= 0 && write(fd, "x", 1) == 1 && close(fd) == 0);
    return 0;
}
