/* Path resolution and the rest of the file family a differential case did not cover yet:
   openat2(2) with struct open_how and each RESOLVE_* flag (EXDEV for a path leaving the directory,
   ELOOP for a symlink or magic link where none may be followed, EINVAL and E2BIG for a bad how),
   chroot(2) and "..", preadv2/pwritev2 with an explicit offset and with -1 (the file position),
   futimesat(2), /dev/full and /proc/self/fdinfo. argv[1]: scratch. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
enum { ResolveNoXdev = 0x01, ResolveNoMagiclinks = 0x02, ResolveNoSymlinks = 0x04, ResolveBeneath = 0x08, ResolveInRoot = 0x10 };

struct open_how_v0 { uint64_t flags, mode, resolve; };

/* musl has no preadv2/pwritev2 wrappers: the calls themselves (x86-64 passes the offset in pos_l). */
enum { RwfHipri = 1 };
static ssize_t preadv2_(int fd, struct iovec *v, int n, long offset, int flags) { return syscall(SYS_preadv2, fd, v, n, offset, 0, flags); }
static ssize_t pwritev2_(int fd, struct iovec *v, int n, long offset, int flags) { return syscall(SYS_pwritev2, fd, v, n, offset, 0, flags); }

static const char *outcome(long result)
{
    static char text[64];
    if (result >= 0) {
        if (result > 2) close((int)result);
        return "opened";
    }
    snprintf(text, sizeof text, "%s", strerror(errno));
    return text;
}

static long open2(int directory, const char *path, uint64_t flags, uint64_t resolve)
{
    struct open_how_v0 how = { .flags = flags, .resolve = resolve };
    return syscall(SYS_openat2, directory, path, &how, sizeof how);
}

#define TRY(what, call) printf("%-48s %s\n", what, outcome(call))

static void put(const char *path, const char *text)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(fd, text, strlen(text));
    close(fd);
}

static void resolving(const char *root)
{
    char path[600];
    snprintf(path, sizeof path, "%s/sub", root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/sub/f", root);
    put(path, "inside\n");
    snprintf(path, sizeof path, "%s/abs", root);
    symlink("/etc", path);
    snprintf(path, sizeof path, "%s/rel", root);
    symlink("sub/f", path);
    snprintf(path, sizeof path, "%s/up", root);
    symlink("../..", path);
    int dir = open(root, O_PATH | O_DIRECTORY);

    TRY("plain sub/f", open2(dir, "sub/f", O_RDONLY, 0));
    TRY("BENEATH sub/f", open2(dir, "sub/f", O_RDONLY, ResolveBeneath));
    TRY("BENEATH rel (a relative symlink inside)", open2(dir, "rel", O_RDONLY, ResolveBeneath));
    TRY("BENEATH ../x", open2(dir, "../x", O_RDONLY, ResolveBeneath));
    TRY("BENEATH sub/../sub/f", open2(dir, "sub/../sub/f", O_RDONLY, ResolveBeneath));
    TRY("BENEATH /etc/passwd", open2(dir, "/etc/passwd", O_RDONLY, ResolveBeneath));
    TRY("BENEATH abs/passwd (an absolute symlink)", open2(dir, "abs/passwd", O_RDONLY, ResolveBeneath));
    TRY("BENEATH up/x (a symlink climbing out)", open2(dir, "up/x", O_RDONLY, ResolveBeneath));
    TRY("IN_ROOT /sub/f", open2(dir, "/sub/f", O_RDONLY, ResolveInRoot));
    TRY("IN_ROOT ../../../sub/f", open2(dir, "../../../sub/f", O_RDONLY, ResolveInRoot));
    TRY("IN_ROOT up/sub/f", open2(dir, "up/sub/f", O_RDONLY, ResolveInRoot));
    TRY("IN_ROOT abs/passwd (no /etc in the root)", open2(dir, "abs/passwd", O_RDONLY, ResolveInRoot));
    TRY("NO_SYMLINKS sub/f", open2(dir, "sub/f", O_RDONLY, ResolveNoSymlinks));
    TRY("NO_SYMLINKS rel", open2(dir, "rel", O_RDONLY, ResolveNoSymlinks));
    TRY("NO_SYMLINKS abs/passwd", open2(dir, "abs/passwd", O_RDONLY, ResolveNoSymlinks));
    TRY("NO_SYMLINKS rel with O_PATH|O_NOFOLLOW", open2(dir, "rel", O_PATH | O_NOFOLLOW, ResolveNoSymlinks));

    int file = openat(dir, "sub/f", O_RDONLY);
    char magic[64];
    snprintf(magic, sizeof magic, "/proc/self/fd/%d", file);
    TRY("/proc/self/fd/N", open2(AT_FDCWD, magic, O_RDONLY, 0));
    TRY("NO_MAGICLINKS /proc/self/fd/N", open2(AT_FDCWD, magic, O_RDONLY, ResolveNoMagiclinks));
    TRY("NO_SYMLINKS /proc/self/fd/N", open2(AT_FDCWD, magic, O_RDONLY, ResolveNoSymlinks));
    TRY("NO_XDEV /proc/self/status from /", open2(AT_FDCWD, "/proc/self/status", O_RDONLY, ResolveNoXdev));
    TRY("NO_XDEV sub/f", open2(dir, "sub/f", O_RDONLY, ResolveNoXdev));
    close(file);

    TRY("BENEATH|IN_ROOT", open2(dir, "sub/f", O_RDONLY, ResolveBeneath | ResolveInRoot));
    TRY("an unknown RESOLVE_ bit", open2(dir, "sub/f", O_RDONLY, 0x1000));
    TRY("an unknown open flag", open2(dir, "sub/f", O_RDONLY | 0x80000000u, 0));
    struct open_how_v0 how = { .flags = O_RDONLY, .mode = 0644 };
    TRY("a mode without O_CREAT", syscall(SYS_openat2, dir, "sub/f", &how, sizeof how));
    how.mode = 0;
    TRY("a how smaller than version 0", syscall(SYS_openat2, dir, "sub/f", &how, 16));
    struct { struct open_how_v0 how; uint64_t extra; } bigger = { { .flags = O_RDONLY }, 0 };
    TRY("a larger how, zero past version 0", syscall(SYS_openat2, dir, "sub/f", &bigger, sizeof bigger));
    bigger.extra = 1;
    TRY("a larger how, nonzero past version 0", syscall(SYS_openat2, dir, "sub/f", &bigger, sizeof bigger));
    TRY("a how at a bad address", syscall(SYS_openat2, dir, "sub/f", (void *)8, sizeof how));
    struct open_how_v0 create = { .flags = O_CREAT | O_WRONLY | O_EXCL, .mode = 0600, .resolve = ResolveBeneath };
    long made = syscall(SYS_openat2, dir, "sub/made", &create, sizeof create);
    struct stat st;
    fstatat(dir, "sub/made", &st, 0);
    printf("%-48s %s mode %o\n", "O_CREAT|O_EXCL 0600 beneath", outcome(made), (unsigned)(st.st_mode & 0777));
    TRY("O_CREAT|O_EXCL again", syscall(SYS_openat2, dir, "sub/made", &create, sizeof create));
    close(dir);
}

static void jailed(const char *root)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        printf("%-48s %d\n", "chroot", chroot(root));
        TRY("open /sub/f in the new root", open("/sub/f", O_RDONLY));
        TRY("open ../../../sub/f", open("../../../sub/f", O_RDONLY));
        TRY("open /abs/passwd (the symlink to /etc)", open("/abs/passwd", O_RDONLY));
        chdir("/");
        chdir("..");
        char where[256] = "";
        printf("%-48s %s\n", "getcwd after chdir ..", getcwd(where, sizeof where) ? where : strerror(errno));
        TRY("open up/sub/f", open("up/sub/f", O_RDONLY));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("%-48s %d\n", "chroot child exited", WEXITSTATUS(status));
}

static void vectors(const char *scratch)
{
    char path[600];
    snprintf(path, sizeof path, "%s/vectors", scratch);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    struct iovec out[2] = { { "hello ", 6 }, { "vectors", 7 } };
    printf("%-48s %zd\n", "pwritev2 at 0", pwritev2_(fd, out, 2, 0, 0));
    printf("%-48s %ld\n", "file position after it", (long)lseek(fd, 0, SEEK_CUR));
    printf("%-48s %zd\n", "pwritev2 at -1 (the position)", pwritev2_(fd, out, 1, -1, 0));
    printf("%-48s %ld\n", "file position after that", (long)lseek(fd, 0, SEEK_CUR));
    char first[4] = "", second[8] = "";
    struct iovec in[2] = { { first, 3 }, { second, 7 } };
    ssize_t got = preadv2_(fd, in, 2, 3, 0);
    printf("%-48s %zd [%.3s|%.*s]\n", "preadv2 at 3", got, first, (int)(got > 3 ? got - 3 : 0), second);
    lseek(fd, 6, SEEK_SET);
    got = preadv2_(fd, in, 2, -1, RwfHipri);
    printf("%-48s %zd [%.3s|%.*s] then at %ld\n", "preadv2 at -1 with RWF_HIPRI", got, first, (int)(got > 3 ? got - 3 : 0), second, (long)lseek(fd, 0, SEEK_CUR));
    printf("%-48s %s\n", "preadv2 at -2", preadv2_(fd, in, 2, -2, 0) < 0 ? strerror(errno) : "read");
    close(fd);

    struct timeval times[2] = { { 1000000000, 0 }, { 1200000000, 500000 } };
    int dir = open(scratch, O_PATH | O_DIRECTORY);
    printf("%-48s %d\n", "futimesat", (int)syscall(SYS_futimesat, dir, "vectors", times));
    struct stat st;
    stat(path, &st);
    printf("%-48s %ld %ld.%09ld\n", "atime, mtime", (long)st.st_atime, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    times[0].tv_usec = 1000000;
    printf("%-48s %s\n", "futimesat with tv_usec 1000000", syscall(SYS_futimesat, dir, "vectors", times) < 0 ? strerror(errno) : "set");
    close(dir);
}

static void devices(const char *scratch)
{
    int full = open("/dev/full", O_RDWR);
    printf("%-48s %s\n", "write /dev/full", write(full, "x", 1) < 0 ? strerror(errno) : "wrote");
    char zeros[4] = "abc";
    ssize_t got = read(full, zeros, 3);
    printf("%-48s %zd %d%d%d\n", "read /dev/full", got, zeros[0], zeros[1], zeros[2]);
    close(full);

    char path[600];
    snprintf(path, sizeof path, "%s/vectors", scratch);
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    lseek(fd, 4, SEEK_SET);
    char info[64], text[512] = "";
    snprintf(info, sizeof info, "/proc/self/fdinfo/%d", fd);
    int reader = open(info, O_RDONLY);
    read(reader, text, sizeof text - 1);
    close(reader);
    // pos and flags (octal, with the O_LARGEFILE a 64-bit kernel adds); mnt_id and ino are the host's.
    char *line = strtok(text, "\n");
    for (; line; line = strtok(NULL, "\n"))
        if (!strncmp(line, "pos:", 4) || !strncmp(line, "flags:", 6))
            printf("fdinfo %s\n", line);
    close(fd);
}

int main(int argc, char **argv)
{
    char root[512];
    snprintf(root, sizeof root, "%s/root", argc > 1 ? argv[1] : "/tmp");
    mkdir(root, 0755);
    resolving(root);
    jailed(root);
    vectors(argc > 1 ? argv[1] : "/tmp");
    devices(argc > 1 ? argv[1] : "/tmp");
    // The links point out of the scratch directory: gone, so nothing walks out through them later.
    const char *links[] = { "abs", "rel", "up" };
    for (int i = 0; i < 3; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", root, links[i]);
        unlink(path);
    }
    return 0;
}
