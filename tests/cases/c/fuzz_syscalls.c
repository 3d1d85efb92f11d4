/* A syscall fuzzer guest: calls a fixed list of syscalls with hostile arguments (bad pointers,
 * unmapped and read-only pages, huge lengths, invalid descriptors and flags) drawn from pools by
 * a seeded generator, and prints one line per call: the errno, and the result where it does not
 * depend on the machine (byte counts, offsets). Run natively and under Trapeze, the outputs must
 * be equal. Every call here is safe to run natively as root: paths are relative names inside the
 * scratch directory (the working directory), descriptors are the fuzzer's own, addresses given to
 * munmap/mprotect/mremap lie in a region it reserved, and nothing blocks, forks, signals or exits.
 * Usage: fuzz_syscalls SCRATCH [SEED [COUNT [all]]]; tests/fuzz/run runs many seeds.
 * Calls marked known (the last field) differ from Linux in a way already reported (see
 * KNOWN_DIFFERENCES below); they are drawn but skipped unless "all" is given. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

static uint64_t state;
static uint64_t next(void) { /* xorshift64*: the same sequence everywhere */
    state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
    return state * 2685821657736338717ULL;
}
#define PICK(pool) (pool)[next() % (sizeof(pool) / sizeof((pool)[0]))]

enum { REGION = 32 * 4096 };
static long file_fd, dir_fd, pipe_r, pipe_w;
static char *buffer, *edge, *readonly, *none, *region, *unmapped;
static struct iovec *iov_good, *iov_bad;
static char long_name[300], too_long[5000];

/* Not the pipe's write end: Linux fills a pipe a whole page at a time, so a write from a buffer
 * that faults mid-page moves less than Trapeze's host pipe does (a known difference). */
static long fd(void) { long pool[] = { -1, 1000, 0x7fffffff, -100, file_fd, dir_fd, pipe_r, file_fd, dir_fd }; return PICK(pool); }
static long dirfd(void) { long pool[] = { AT_FDCWD, AT_FDCWD, dir_fd, file_fd, -1, 1000 }; return PICK(pool); }
static long ptr(void) {
    long pool[] = { 0, 1, -1, (long)0xffff800000000000UL, (long)unmapped, (long)readonly, (long)none,
                    (long)buffer, (long)buffer, (long)edge, (long)(buffer + 4095) };
    return PICK(pool);
}
static long size(void) {
    long pool[] = { 0, 1, 8, 64, 100, 4096, 4097, 65536, 0x7fffffff, (long)0x80000000UL, -1, 1L << 40 };
    return PICK(pool);
}
static long path(void) {
    static const char *names[] = { "", "file", "dir", "missing", "dir/sub", "file/x", "link", "dangling", "new", "dir/new",
                                   ".", "dir/..", long_name, too_long };
    long pool[] = { 0, 1, -1, (long)unmapped, (long)PICK(names), (long)PICK(names), (long)PICK(names) };
    return PICK(pool);
}
static long flags(void) {
    long pool[] = { 0, 1, 2, -1, 0x7fffffff, (long)0x80000000UL, O_RDONLY, O_RDWR | O_CREAT, O_WRONLY | O_TRUNC,
                    O_DIRECTORY, O_RDONLY | O_NOFOLLOW, O_PATH, O_CREAT | O_EXCL | O_RDWR, O_TMPFILE | O_RDWR,
                    AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_REMOVEDIR, 0x1234, (long)(next() & 0xffffffff) };
    return PICK(pool);
}
static long mode(void) { long pool[] = { 0, 0644, 0777, 07777, -1, 0170000 }; return PICK(pool); }
static long offset(void) { long pool[] = { 0, 1, -1, 4096, 1L << 40, 0x7fffffffffffffffL, (long)0x8000000000000000UL }; return PICK(pool); }
static long whence(void) { long pool[] = { 0, 1, 2, 3, 4, 5, -1 }; return PICK(pool); }
static long iov(void) { long pool[] = { 0, 1, (long)unmapped, (long)iov_good, (long)iov_bad }; return PICK(pool); }
static long count(void) { long pool[] = { 0, 1, 2, 3, 1024, 1025, -1 }; return PICK(pool); }
static long address(void) {
    long pool[] = { (long)region, (long)(region + 4096), (long)(region + 1), (long)(region + 8 * 4096), 0, 1,
                    (long)0xfffffffffffff000UL, (long)0xffff800000000000UL };
    return PICK(pool);
}
static long length(void) { long pool[] = { 0, 1, 4096, 8192, 4 * 4096, -1, 1L << 47 }; return PICK(pool); }
static long protection(void) { long pool[] = { 0, 1, 3, 5, 7, 8, -1, PROT_GROWSDOWN | 3 }; return PICK(pool); }
/* Not 9 (MADV_REMOVE), 12-15 (KSM, huge pages): their answers depend on the mapping kind and the kernel's configuration. */
static long advice(void) { long pool[] = { 0, 1, 2, 3, 4, 8, 10, 11, 1000, -1 }; return PICK(pool); }
static long mapflags(void) {
    long pool[] = { 0, MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 3 };
    return PICK(pool);
}
static long ids(void) { long pool[] = { 0, -1, 1000, 65534 }; return PICK(pool); }
static long xname(void) {
    static const char *names[] = { "user.a", "user.b", "", "x", "trusted.t", "user.", long_name };
    long pool[] = { 0, 1, (long)unmapped, (long)PICK(names), (long)PICK(names) };
    return PICK(pool);
}
static long clock_id(void) { long pool[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, -1, 1000 }; return PICK(pool); }
static long resource(void) { long pool[] = { 0, 1, 3, 6, 7, 15, 16, -1, 1000 }; return PICK(pool); }
static long fcntl_cmd(void) { long pool[] = { F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD, F_DUPFD_CLOEXEC, F_GETLK, F_SETLK, -1, 1000 }; return PICK(pool); }
static long ioctl_req(void) { long pool[] = { TCGETS, TIOCGWINSZ, FIONREAD, TIOCGPGRP, 0, -1, 0x5401 + 100 }; return PICK(pool); }

/* Argument kinds, one letter each. */
static long arg(char kind) {
    switch (kind) {
    case 'f': return fd();
    case 'd': return dirfd();
    case 'b': return ptr();
    case 's': return size();
    case 'p': return path();
    case 'i': return flags();
    case 'm': return mode();
    case 'o': return offset();
    case 'w': return whence();
    case 'v': return iov();
    case 'n': return count();
    case 'a': return address();
    case 'l': return length();
    case 'r': return protection();
    case 'A': return advice();
    case 'M': return mapflags();
    case 'u': return ids();
    case 'x': return xname();
    case 'c': return clock_id();
    case 'R': return resource();
    case 'C': return fcntl_cmd();
    case 'I': return ioctl_req();
    case '0': return 0;
    case 'N': return O_NONBLOCK | (next() & 1 ? O_APPEND : 0); /* F_SETFL keeps every descriptor non-blocking */
    }
    return 0;
}

/* Not here yet, each for a reason: wait4 (processes are being reshaped), times, getrusage,
 * getresuid, getgroups (Trapeze answers ENOSYS so far), and anything that blocks, forks, signals,
 * exits or changes the machine (mknod, mount, reboot, sethostname, kill, prctl, arch_prctl, brk).
 * kinds: the argument kinds; value: 1 if the result is the same on any machine and is printed. */
static const struct { long number; const char *name, *kinds; int value, known; } calls[] = {
    { SYS_read, "read", "fbs", 1, 0 }, { SYS_write, "write", "fbs", 1, 0 }, { SYS_pread64, "pread64", "fbso", 1, 0 },
    { SYS_pwrite64, "pwrite64", "fbso", 1, 0 }, { SYS_readv, "readv", "fvn", 1, 1 }, { SYS_writev, "writev", "fvn", 1, 1 },
    { SYS_preadv, "preadv", "fvno", 1, 1 }, { SYS_pwritev, "pwritev", "fvno", 1, 1 }, { SYS_lseek, "lseek", "fow", 1, 0 },
    { SYS_fstat, "fstat", "fb", 0, 0 }, { SYS_stat, "stat", "pb", 0, 0 }, { SYS_lstat, "lstat", "pb", 0, 0 },
    { SYS_newfstatat, "newfstatat", "dpbi", 0, 1 }, { SYS_statx, "statx", "dpiib", 0, 1 }, { SYS_access, "access", "pi", 0, 0 },
    { SYS_faccessat, "faccessat", "dpi", 0, 0 }, { SYS_faccessat2, "faccessat2", "dpii", 0, 0 },
    { SYS_readlink, "readlink", "pbs", 1, 0 }, { SYS_readlinkat, "readlinkat", "dpbs", 1, 1 }, { SYS_getcwd, "getcwd", "bs", 0, 0 },
    { SYS_getdents64, "getdents64", "fbs", 0, 1 }, { SYS_fcntl, "fcntl", "fCN", 0, 1 }, { SYS_ioctl, "ioctl", "fIb", 0, 0 },
    { SYS_dup, "dup", "f", 0, 0 }, { SYS_close, "close", "0", 0, 0 }, { SYS_open, "open", "pim", 0, 1 },
    { SYS_openat, "openat", "dpim", 0, 1 }, { SYS_creat, "creat", "pm", 0, 0 }, { SYS_mkdir, "mkdir", "pm", 0, 0 },
    { SYS_mkdirat, "mkdirat", "dpm", 0, 0 }, { SYS_rmdir, "rmdir", "p", 0, 0 }, { SYS_unlink, "unlink", "p", 0, 0 },
    { SYS_unlinkat, "unlinkat", "dpi", 0, 0 }, { SYS_rename, "rename", "pp", 0, 1 }, { SYS_renameat, "renameat", "dpdp", 0, 1 },
    { SYS_renameat2, "renameat2", "dpdpi", 0, 1 }, { SYS_link, "link", "pp", 0, 1 }, { SYS_linkat, "linkat", "dpdpi", 0, 1 },
    { SYS_symlink, "symlink", "pp", 0, 1 }, { SYS_symlinkat, "symlinkat", "pdp", 0, 1 }, { SYS_chmod, "chmod", "pm", 0, 0 },
    { SYS_fchmod, "fchmod", "fm", 0, 1 }, { SYS_fchmodat, "fchmodat", "dpm", 0, 0 }, { SYS_chown, "chown", "puu", 0, 0 },
    { SYS_lchown, "lchown", "puu", 0, 0 }, { SYS_fchown, "fchown", "fuu", 0, 1 }, { SYS_fchownat, "fchownat", "dpuui", 0, 0 },
    { SYS_truncate, "truncate", "po", 0, 0 }, { SYS_ftruncate, "ftruncate", "fo", 0, 0 }, { SYS_utimensat, "utimensat", "dpbi", 0, 1 },
    { SYS_fsync, "fsync", "f", 0, 0 }, { SYS_fdatasync, "fdatasync", "f", 0, 0 }, { SYS_statfs, "statfs", "pb", 0, 1 },
    { SYS_fstatfs, "fstatfs", "fb", 0, 1 }, { SYS_getxattr, "getxattr", "pxbs", 1, 1 }, { SYS_lgetxattr, "lgetxattr", "pxbs", 1, 1 },
    { SYS_fgetxattr, "fgetxattr", "fxbs", 1, 1 }, { SYS_setxattr, "setxattr", "pxbsi", 0, 1 }, { SYS_fsetxattr, "fsetxattr", "fxbsi", 0, 1 },
    { SYS_removexattr, "removexattr", "px", 0, 1 }, { SYS_listxattr, "listxattr", "pbs", 0, 0 }, { SYS_flistxattr, "flistxattr", "fbs", 0, 0 },
    { SYS_getrandom, "getrandom", "bsi", 1, 0 }, { SYS_uname, "uname", "b", 0, 0 }, { SYS_sysinfo, "sysinfo", "b", 0, 0 },
{ SYS_gettimeofday, "gettimeofday", "bb", 0, 0 }, { SYS_clock_gettime, "clock_gettime", "cb", 0, 1 },
    { SYS_clock_getres, "clock_getres", "cb", 0, 1 }, { SYS_getrlimit, "getrlimit", "Rb", 0, 1 }, { SYS_prlimit64, "prlimit64", "0R0b", 0, 1 },
{ SYS_umask, "umask", "m", 0, 0 }, { SYS_sched_getaffinity, "sched_getaffinity", "0sb", 0, 1 },
    { SYS_getpid, "getpid", "", 0, 0 }, { SYS_getuid, "getuid", "", 0, 0 },
    { SYS_mprotect, "mprotect", "alr", 0, 1 }, { SYS_munmap, "munmap", "al", 0, 0 },
    { SYS_madvise, "madvise", "alA", 0, 1 }, { SYS_mincore, "mincore", "alb", 0, 1 }, { SYS_msync, "msync", "ali", 0, 1 },
    { SYS_mmap, "mmap", "alrMfo", 0, 1 }, { SYS_pipe2, "pipe2", "bi", 0, 0 }, { SYS_poll, "poll", "bn0", 0, 1 },
};

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *walk) {
    (void)st; (void)type;
    return walk->level == 0 ? 0 : remove(path);
}

static void setup(void) {
    for (size_t i = 0; i < sizeof long_name - 1; i++) long_name[i] = 'n';
    for (size_t i = 0; i < sizeof too_long - 1; i++) too_long[i] = (i % 100 == 99) ? '/' : 'l';
    mkdir("dir", 0755);
    file_fd = open("file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(file_fd, "some file contents\n", 19);
    symlink("file", "link");
    symlink("missing", "dangling");
    dir_fd = open("dir", O_RDONLY | O_DIRECTORY);
    int ends[2];
    pipe2(ends, O_NONBLOCK);
    pipe_r = ends[0], pipe_w = ends[1];
    /* Fixed addresses, far from the top of user space: whether buffer + a huge length passes the
     * top must not depend on where ASLR (natively) or Trapeze happened to place the pages. */
    char *pages = mmap((void *)0x10000000, 6 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    buffer = pages;                     /* two writable pages */
    edge = pages + 2 * 4096 - 16;       /* 16 bytes before an unmapped page */
    unmapped = pages + 2 * 4096;
    munmap(unmapped, 4096);
    readonly = pages + 3 * 4096;
    mprotect(readonly, 4096, PROT_READ);
    none = pages + 4 * 4096;
    mprotect(none, 4096, PROT_NONE);
    iov_good = (struct iovec *)(pages + 5 * 4096);
    iov_good[0] = (struct iovec){ buffer, 10 };
    iov_good[1] = (struct iovec){ buffer + 100, 20 };
    iov_bad = iov_good + 2;
    iov_bad[0] = (struct iovec){ buffer, 10 };
    iov_bad[1] = (struct iovec){ unmapped, 20 };
    iov_bad[2] = (struct iovec){ buffer, (size_t)-1 };
    region = mmap((void *)0x20000000, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: fuzz_syscalls SCRATCH [SEED [COUNT]]\n");
        return 2;
    }
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    long total = argc > 3 ? strtol(argv[3], NULL, 0) : 300;
    state = seed * 0x9e3779b97f4a7c15ULL + 1;
    int verbose = getenv("FUZZ_VERBOSE") != NULL;
    int all = argc > 4 && strcmp(argv[4], "all") == 0;
    setup();
    for (long i = 0; i < total; i++) {
        int which = next() % (sizeof calls / sizeof calls[0]);
        if (calls[which].known && !all)
            continue; /* skipped: a known difference */
        long a[6] = { 0 };
        for (int k = 0; calls[which].kinds[k]; k++)
            a[k] = arg(calls[which].kinds[k]);
        if (calls[which].number == SYS_close)
            a[0] = PICK(((long[]){ -1, 1000, 0x7fffffff })); /* only descriptors that are not open */
        if (verbose) /* addresses differ between runs, so they go to stderr, which is not compared */
            fprintf(stderr, "%ld %s(%lx, %lx, %lx, %lx, %lx, %lx) buffer=%p\n", i, calls[which].name, a[0], a[1], a[2], a[3], a[4], a[5], (void *)buffer);
        long result = syscall(calls[which].number, a[0], a[1], a[2], a[3], a[4], a[5]);
        int error = result < 0 && result > -4096 ? errno : 0;
        if (result == -1)
            printf("%ld %s = %s%d\n", i, calls[which].name, "errno ", error);
        else if (calls[which].value)
            printf("%ld %s = %ld\n", i, calls[which].name, result);
        else
            printf("%ld %s = ok\n", i, calls[which].name);
        fflush(stdout);
        /* Keep the descriptor table and the address space as they were: close what was opened,
         * unmap what mmap placed outside the region. */
        long number = calls[which].number;
        if (result >= 0 && (number == SYS_open || number == SYS_openat || number == SYS_creat || number == SYS_dup
                            || (number == SYS_fcntl && (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC))))
            close(result);
        if (result >= 0 && number == SYS_pipe2 && a[0] == (long)buffer) {
            close(((int *)buffer)[0]);
            close(((int *)buffer)[1]);
        }
        if (result != -1 && number == SYS_mmap && (result < (long)region || result >= (long)region + REGION))
            munmap((void *)result, a[1]);
    }
    nftw(".", remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
