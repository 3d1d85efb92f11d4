/* Opening and naming: open flags, the stat family, directories and getdents64, *at calls with
   dirfds, AT_EMPTY_PATH, O_PATH, errnos for bad paths, byte (non-UTF-8) names. argv[1]: scratch. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHECK(what, expr) printf("%-44s %s\n", what, (expr) ? "ok" : "FAILED")

static int compare(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

/* The names in a directory, sorted, as one line (hex for bytes that are not printable ASCII). */
static void list(const char *what, int dirfd) {
    char buffer[4096], *names[64];
    int count = 0;
    lseek(dirfd, 0, SEEK_SET);
    for (;;) {
        long n = syscall(SYS_getdents64, dirfd, buffer, sizeof buffer);
        if (n <= 0) break;
        for (long at = 0; at < n;) {
            unsigned short length = *(unsigned short *)(buffer + at + 16);
            char *name = buffer + at + 19;
            if (count < 64) names[count++] = strdup(name);
            at += length;
        }
    }
    qsort(names, count, sizeof *names, compare);
    printf("%s:", what);
    for (int i = 0; i < count; i++) {
        putchar(' ');
        for (unsigned char *c = (unsigned char *)names[i]; *c; c++)
            if (*c >= 0x21 && *c < 0x7f) putchar(*c); else printf("\\x%02x", *c);
        free(names[i]);
    }
    putchar('\n');
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || chdir(argv[1]) != 0) { perror("chdir"); return 2; }
    int fd = open("file", O_CREAT | O_WRONLY | O_EXCL, 0600);
    CHECK("O_CREAT | O_EXCL", fd >= 0 && write(fd, "0123456789", 10) == 10);
    close(fd);
    fd = open("file", O_WRONLY | O_APPEND);
    CHECK("O_APPEND writes at the end", lseek(fd, 0, SEEK_SET) == 0 && write(fd, "ab", 2) == 2 && lseek(fd, 0, SEEK_CUR) == 12);
    CHECK("F_GETFL has O_APPEND", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    close(fd);
    fd = open("file", O_RDWR | O_TRUNC);
    struct stat st;
    CHECK("O_TRUNC empties", fstat(fd, &st) == 0 && st.st_size == 0);
    close(fd);
    CHECK("O_CREAT on a directory EISDIR", open(".", O_CREAT | O_WRONLY, 0600) == -1 && errno == EISDIR);
    CHECK("O_DIRECTORY on a file ENOTDIR", open("file", O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR);
    CHECK("path through a file ENOTDIR", open("file/x", O_RDONLY) == -1 && errno == ENOTDIR);
    CHECK("trailing slash on a file ENOTDIR", open("file/", O_RDONLY) == -1 && errno == ENOTDIR);
    CHECK("O_CREAT with trailing slash EISDIR", open("new/", O_CREAT | O_WRONLY, 0600) == -1 && errno == EISDIR);
    CHECK("missing parent ENOENT", open("no/such", O_CREAT | O_WRONLY, 0600) == -1 && errno == ENOENT);
    CHECK("empty path ENOENT", open("", O_RDONLY) == -1 && errno == ENOENT);
    CHECK("bad path pointer EFAULT", open((char *)1, O_RDONLY) == -1 && errno == EFAULT);
    char name[300];
    memset(name, 'n', 256); name[256] = 0;
    CHECK("name of 256 bytes ENAMETOOLONG", open(name, O_CREAT | O_WRONLY, 0600) == -1 && errno == ENAMETOOLONG);
    char *path = malloc(PATH_MAX + 10);
    memset(path, 'a', PATH_MAX + 9); path[PATH_MAX + 9] = 0;
    for (int i = 1; i < PATH_MAX + 9; i += 2) path[i] = '/';
    CHECK("path of PATH_MAX+ bytes ENAMETOOLONG", stat(path, &st) == -1 && errno == ENAMETOOLONG);
    free(path);

    int tmp = open(".", O_WRONLY | O_TMPFILE, 0600);
    CHECK("O_TMPFILE", tmp >= 0 && write(tmp, "tmp", 3) == 3);
    CHECK("O_TMPFILE has no links", fstat(tmp, &st) == 0 && st.st_nlink == 0 && st.st_size == 3);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", tmp);
    CHECK("linkat names an O_TMPFILE", linkat(AT_FDCWD, proc, AT_FDCWD, "was-tmp", AT_SYMLINK_FOLLOW) == 0);
    CHECK("it has a link now", fstat(tmp, &st) == 0 && st.st_nlink == 1);
    close(tmp);
    CHECK("O_TMPFILE O_RDONLY EINVAL", open(".", O_RDONLY | O_TMPFILE, 0600) == -1 && errno == EINVAL);

    CHECK("mkdir d", mkdir("d", 0755) == 0 && mkdir("d/sub", 0700) == 0);
    int dir = open("d", O_RDONLY | O_DIRECTORY);
    CHECK("openat O_CREAT in a dirfd", (fd = openat(dir, "inner", O_CREAT | O_WRONLY, 0644)) >= 0);
    close(fd);
    CHECK("fstatat in a dirfd", fstatat(dir, "inner", &st, 0) == 0 && S_ISREG(st.st_mode));
    CHECK("fstatat dirfd not a directory ENOTDIR", ({ int f = open("file", O_RDONLY); int r = fstatat(f, "x", &st, 0) == -1 && errno == ENOTDIR; close(f); r; }));
    CHECK("fstatat bad dirfd EBADF", fstatat(77, "x", &st, 0) == -1 && errno == EBADF);
    CHECK("absolute path ignores the dirfd", ({ char cwd[4096]; getcwd(cwd, sizeof cwd); strcat(cwd, "/file"); fstatat(77, cwd, &st, 0) == 0; }));
    CHECK("AT_EMPTY_PATH on a dirfd", fstatat(dir, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode));
    CHECK("empty path without AT_EMPTY_PATH ENOENT", fstatat(dir, "", &st, 0) == -1 && errno == ENOENT);
    int opath = open("d/inner", O_PATH);
    CHECK("O_PATH opens", opath >= 0);
    CHECK("O_PATH read EBADF", read(opath, name, 1) == -1 && errno == EBADF);
    CHECK("O_PATH fstat", fstat(opath, &st) == 0 && S_ISREG(st.st_mode));
    CHECK("F_GETFL of O_PATH", (fcntl(opath, F_GETFL) & O_PATH) != 0);
    close(opath);
    symlink("inner", "d/link");
    opath = open("d/link", O_PATH | O_NOFOLLOW);
    CHECK("O_PATH | O_NOFOLLOW on a link", opath >= 0 && fstatat(opath, "", &st, AT_EMPTY_PATH) == 0 && S_ISLNK(st.st_mode));
    char target[32] = { 0 };
    CHECK("readlinkat AT_EMPTY_PATH style", readlinkat(opath, "", target, sizeof target) == 5 && strcmp(target, "inner") == 0);
    close(opath);
    CHECK("fstatat AT_SYMLINK_NOFOLLOW", fstatat(dir, "link", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) && st.st_size == 5);
    CHECK("fstatat follows", fstatat(dir, "link", &st, 0) == 0 && S_ISREG(st.st_mode));
    unsigned long long statx_buffer[32];
    CHECK("statx AT_SYMLINK_NOFOLLOW", syscall(SYS_statx, dir, "link", AT_SYMLINK_NOFOLLOW, 0xfff, statx_buffer) == 0 && (((unsigned short *)statx_buffer)[14] & S_IFMT) == S_IFLNK);

    list("d", dir);
    const char odd[] = "caf\xe9-\x01\x7f";
    CHECK("create a non-UTF-8 name", (fd = openat(dir, odd, O_CREAT | O_WRONLY, 0644)) >= 0);
    close(fd);
    list("d with a byte name", dir);
    CHECK("stat it by its bytes", fstatat(dir, odd, &st, 0) == 0);
    CHECK("rename it", renameat(dir, odd, dir, "\xff\xfe") == 0 && fstatat(dir, "\xff\xfe", &st, 0) == 0);
    char back[16] = { 0 };
    symlinkat("\xe9t\xe9", dir, "odd-link");
    CHECK("readlink gives the bytes back", readlinkat(dir, "odd-link", back, sizeof back) == 3 && memcmp(back, "\xe9t\xe9", 3) == 0);

    /* getdents64 keeps going while names are removed */
    char buffer[128];
    lseek(dir, 0, SEEK_SET);
    long n = syscall(SYS_getdents64, dir, buffer, sizeof buffer);
    unlinkat(dir, "inner", 0);
    unlinkat(dir, "odd-link", 0);
    long more;
    int rounds = 0;
    while ((more = syscall(SYS_getdents64, dir, buffer, sizeof buffer)) > 0) rounds++;
    CHECK("getdents64 after concurrent unlinks", n > 0 && more == 0 && rounds < 10);
    CHECK("getdents64 buffer too small EINVAL", ({ lseek(dir, 0, SEEK_SET); syscall(SYS_getdents64, dir, buffer, 8) == -1 && errno == EINVAL; }));
    CHECK("getdents64 on a file ENOTDIR", ({ int f = open("file", O_RDONLY); int r = syscall(SYS_getdents64, f, buffer, sizeof buffer) == -1 && errno == ENOTDIR; close(f); r; }));
    list("d after unlinks", dir);
    lseek(dir, 0, SEEK_SET);
    DIR *stream = fdopendir(dup(dir));
    int entries = 0;
    while (readdir(stream)) entries++;
    rewinddir(stream);
    int again = 0;
    while (readdir(stream)) again++;
    closedir(stream);
    CHECK("readdir, rewinddir, readdir", entries == again && entries == 5);

    CHECK("chdir into d", chdir("d") == 0);
    char cwd[4096];
    CHECK("getcwd ends in /d", getcwd(cwd, sizeof cwd) && strcmp(strrchr(cwd, '/'), "/d") == 0);
    CHECK("fchdir back up", ({ int up = open("..", O_RDONLY); int r = fchdir(up) == 0; close(up); r; }));
    CHECK("chdir to a file ENOTDIR", chdir("file") == -1 && errno == ENOTDIR);
    CHECK("rmdir non-empty ENOTEMPTY", rmdir("d") == -1 && errno == ENOTEMPTY);
    CHECK("rmdir a file ENOTDIR", rmdir("file") == -1 && errno == ENOTDIR);
    CHECK("rmdir . EINVAL", rmdir("d/sub/.") == -1 && errno == EINVAL);
    CHECK("unlink a directory EISDIR", unlink("d/sub") == -1 && errno == EISDIR);
    CHECK("unlinkat bad flag EINVAL", unlinkat(AT_FDCWD, "file", 0x1) == -1 && errno == EINVAL);
    CHECK("mkdir over a file EEXIST", mkdir("file", 0755) == -1 && errno == EEXIST);
    CHECK("mkdir with trailing slash", mkdir("e/", 0755) == 0 && rmdir("e/") == 0);
    /* leave only regular files behind, so the harness can compare them */
    unlinkat(dir, "\xff\xfe", 0);
    rmdir("d/sub");
    unlink("d/link");
    rmdir("d");
    close(dir);
    return 0;
}
