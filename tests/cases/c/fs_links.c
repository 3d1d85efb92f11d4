/* Links and renames: link/linkat, symlink/readlink, unlink, rename/renameat/renameat2 with
   RENAME_NOREPLACE, RENAME_EXCHANGE and RENAME_WHITEOUT, and the link counts they leave. argv[1]: scratch. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE /* musl declares them only in newer releases */
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

#define CHECK(what, expr) printf("%-44s %s\n", what, (expr) ? "ok" : "FAILED")

static long links_of(const char *path) { struct stat st; return lstat(path, &st) == 0 ? (long)st.st_nlink : -1; }
static int rename2(const char *from, const char *to, unsigned flags) { return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags); }
static void put(const char *path, const char *text) { int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644); write(fd, text, strlen(text)); close(fd); }
static int holds(const char *path, const char *text) {
    char buffer[64] = { 0 };
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    read(fd, buffer, sizeof buffer - 1);
    close(fd);
    return strcmp(buffer, text) == 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || chdir(argv[1]) != 0) { perror("chdir"); return 2; }
    put("a", "first");
    CHECK("link", link("a", "b") == 0 && links_of("a") == 2 && links_of("b") == 2);
    struct stat sa, sb;
    CHECK("both names are one inode", stat("a", &sa) == 0 && stat("b", &sb) == 0 && sa.st_ino == sb.st_ino);
    CHECK("link to an existing name EEXIST", link("a", "b") == -1 && errno == EEXIST);
    CHECK("link a missing file ENOENT", link("missing", "c") == -1 && errno == ENOENT);
    mkdir("dir", 0755);
    CHECK("link a directory EPERM", link("dir", "dir2") == -1 && errno == EPERM);
    CHECK("directory link count", links_of("dir") == 2 && mkdir("dir/sub", 0755) == 0 && links_of("dir") == 3);
    CHECK("unlink one name", unlink("b") == 0 && links_of("a") == 1 && holds("a", "first"));

    CHECK("symlink", symlink("a", "s") == 0);
    char target[64] = { 0 };
    CHECK("readlink", readlink("s", target, sizeof target) == 1 && target[0] == 'a');
    CHECK("readlinkat of size 0 EINVAL", syscall(SYS_readlinkat, AT_FDCWD, "s", target, 0) == -1 && errno == EINVAL);
    CHECK("readlink truncates silently", readlink("dir", target, 1) == -1 && errno == EINVAL && symlink("long-target", "long") == 0 && readlink("long", target, 4) == 4 && unlink("long") == 0);
    CHECK("readlink of a file EINVAL", readlink("a", target, sizeof target) == -1 && errno == EINVAL);
    CHECK("symlink to an existing name EEXIST", symlink("x", "a") == -1 && errno == EEXIST);
    CHECK("empty symlink target ENOENT", symlink("", "empty") == -1 && errno == ENOENT);
    CHECK("dangling symlink", symlink("nowhere", "dangling") == 0 && access("dangling", F_OK) == -1 && errno == ENOENT);
    CHECK("open O_CREAT through a dangling link", ({ int fd = open("dangling", O_CREAT | O_WRONLY, 0644); int r = fd >= 0; close(fd); r && access("nowhere", F_OK) == 0; }));
    CHECK("O_CREAT | O_EXCL on a link EEXIST", open("s", O_CREAT | O_EXCL | O_WRONLY, 0644) == -1 && errno == EEXIST);
    CHECK("linkat without AT_SYMLINK_FOLLOW links the link", linkat(AT_FDCWD, "s", AT_FDCWD, "s2", 0) == 0 && ({ struct stat st; lstat("s2", &st) == 0 && S_ISLNK(st.st_mode); }));
    CHECK("linkat AT_SYMLINK_FOLLOW links the file", linkat(AT_FDCWD, "s", AT_FDCWD, "a2", AT_SYMLINK_FOLLOW) == 0 && links_of("a") == 2);
    CHECK("linkat bad flag EINVAL", linkat(AT_FDCWD, "a", AT_FDCWD, "a3", 0x8) == -1 && errno == EINVAL);
    symlink("loop2", "loop1"); symlink("loop1", "loop2");
    CHECK("a symlink loop ELOOP", open("loop1", O_RDONLY) == -1 && errno == ELOOP);
    symlink("dir/sub", "to-sub");
    CHECK("a link to a directory in the middle", mkdir("to-sub/deep", 0700) == 0 && access("dir/sub/deep", F_OK) == 0);
    CHECK("rmdir through a link to a dir ENOTDIR", rmdir("to-sub") == -1 && errno == ENOTDIR);

    put("x", "ex"); put("y", "why");
    CHECK("rename over a file", rename("x", "y") == 0 && holds("y", "ex") && access("x", F_OK) == -1);
    CHECK("rename to itself", rename("y", "y") == 0 && holds("y", "ex"));
    CHECK("rename between two links of one file", rename("a", "a2") == 0 && access("a", F_OK) == 0);
    CHECK("rename a missing name ENOENT", rename("missing", "z") == -1 && errno == ENOENT);
    CHECK("rename a file over a directory EISDIR", rename("y", "dir") == -1 && errno == EISDIR);
    mkdir("empty", 0755);
    CHECK("rename a directory over a file ENOTDIR", rename("empty", "y") == -1 && errno == ENOTDIR);
    CHECK("rename a dir over a non-empty dir ENOTEMPTY", rename("empty", "dir") == -1 && (errno == ENOTEMPTY || errno == EEXIST));
    CHECK("rename a directory into itself EINVAL", rename("dir", "dir/sub/inside") == -1 && errno == EINVAL);
    CHECK("rename a directory over an empty one", mkdir("empty2", 0755) == 0 && rename("empty", "empty2") == 0 && access("empty", F_OK) == -1);
    CHECK("rename moves a directory", rename("empty2", "dir/moved") == 0 && links_of("dir") == 4);
    CHECK("rename . EBUSY or EINVAL", rename(".", "dot") == -1 && (errno == EBUSY || errno == EINVAL));
    put("p", "pea"); put("q", "queue");
    CHECK("RENAME_NOREPLACE refuses EEXIST", rename2("p", "q", RENAME_NOREPLACE) == -1 && errno == EEXIST && holds("q", "queue"));
    CHECK("RENAME_NOREPLACE to a new name", rename2("p", "p2", RENAME_NOREPLACE) == 0 && holds("p2", "pea"));
    CHECK("RENAME_EXCHANGE swaps", rename2("p2", "q", RENAME_EXCHANGE) == 0 && holds("p2", "queue") && holds("q", "pea"));
    CHECK("RENAME_EXCHANGE a file and a dir", rename2("q", "dir/moved", RENAME_EXCHANGE) == 0 && ({ struct stat st; stat("q", &st) == 0 && S_ISDIR(st.st_mode); }) && holds("dir/moved", "pea"));
    rename2("q", "dir/moved", RENAME_EXCHANGE);
    CHECK("RENAME_EXCHANGE with a missing name ENOENT", rename2("p2", "none", RENAME_EXCHANGE) == -1 && errno == ENOENT);
    CHECK("RENAME_NOREPLACE | RENAME_EXCHANGE EINVAL", rename2("p2", "q", RENAME_NOREPLACE | RENAME_EXCHANGE) == -1 && errno == EINVAL);
    CHECK("renameat2 bad flag EINVAL", rename2("p2", "q", 0x100) == -1 && errno == EINVAL);
    int d = open("dir", O_RDONLY | O_DIRECTORY);
    CHECK("renameat between dirfds", renameat(AT_FDCWD, "p2", d, "p3") == 0 && holds("dir/p3", "queue"));
    CHECK("unlinkat in a dirfd", unlinkat(d, "p3", 0) == 0 && access("dir/p3", F_OK) == -1);
    close(d);
    CHECK("an open file outlives its last name", ({ int fd = open("q", O_RDONLY); unlink("q"); char b[4] = { 0 }; int r = read(fd, b, 3) == 3 && strcmp(b, "pea") == 0; struct stat st; r = r && fstat(fd, &st) == 0 && st.st_nlink == 0; close(fd); r; }));
    /* leave regular files only */
    unlink("dir/moved"); rmdir("dir/sub/deep"); rmdir("dir/sub"); rmdir("dir");
    unlink("s"); unlink("s2"); unlink("dangling"); unlink("loop1"); unlink("loop2"); unlink("to-sub");
    return 0;
}
