/* Permissions, ownership and times: chmod family, chown family, umask, access/faccessat2,
   utimensat/futimens/utimes, truncate/ftruncate/fallocate, SEEK_DATA/SEEK_HOLE, flock and record
   locks, fsync, statfs. argv[1]: scratch. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHECK(what, expr) printf("%-44s %s\n", what, (expr) ? "ok" : "FAILED")

static unsigned mode_of(const char *path) { struct stat st; return lstat(path, &st) == 0 ? st.st_mode & 07777 : 0xffff; }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || chdir(argv[1]) != 0) { perror("chdir"); return 2; }
    mode_t old = umask(027);
    int fd = open("f", O_CREAT | O_RDWR, 0777);
    printf("umask 027 on 0777: %o\n", mode_of("f"));
    CHECK("umask returns the old mask", umask(old) == 027);
    mkdir("d", 0777);
    printf("mkdir 0777 under umask %03o: %o\n", old, mode_of("d"));
    CHECK("chmod", chmod("f", 0640) == 0 && mode_of("f") == 0640);
    CHECK("fchmod", fchmod(fd, 0604) == 0 && mode_of("f") == 0604);
    CHECK("fchmodat", fchmodat(AT_FDCWD, "f", 0755, 0) == 0 && mode_of("f") == 0755);
    CHECK("chmod keeps the special bits", chmod("f", 07755) == 0 && mode_of("f") == 07755);
    CHECK("chmod a missing file ENOENT", chmod("missing", 0644) == -1 && errno == ENOENT);
    symlink("f", "link");
    CHECK("fchmodat AT_SYMLINK_NOFOLLOW on a link", fchmodat(AT_FDCWD, "link", 0644, AT_SYMLINK_NOFOLLOW) == -1 && (errno == EOPNOTSUPP || errno == ENOTSUP));
    CHECK("chown (root may give files away)", chown("f", 1234, 5678) == 0 && ({ struct stat st; stat("f", &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678; }));
    printf("mode after chown of 07755: %o\n", mode_of("f"));
    CHECK("fchown -1 -1 changes nothing", fchown(fd, -1, -1) == 0 && ({ struct stat st; fstat(fd, &st) == 0 && st.st_uid == 1234; }));
    CHECK("lchown changes the link", lchown("link", 4321, 8765) == 0 && ({ struct stat st; lstat("link", &st) == 0 && st.st_uid == 4321; }) && ({ struct stat st; stat("link", &st) == 0 && st.st_uid == 1234; }));
    CHECK("fchownat AT_SYMLINK_NOFOLLOW", fchownat(AT_FDCWD, "link", 0, 0, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK("fchownat bad flag EINVAL", fchownat(AT_FDCWD, "f", 0, 0, 0x1) == -1 && errno == EINVAL);
    chown("f", 0, 0);

    chmod("f", 0);
    CHECK("access on mode 0 as root: read, write", access("f", R_OK | W_OK) == 0);
    CHECK("access on mode 0 as root: no execute", access("f", X_OK) == -1 && errno == EACCES);
    chmod("f", 0100);
    CHECK("one execute bit is enough for root", access("f", X_OK) == 0);
    CHECK("faccessat2 AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, "f", X_OK, AT_EACCESS) == 0);
    CHECK("faccessat2 bad flag EINVAL", syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, 0x1) == -1 && errno == EINVAL);
    CHECK("access bad mode EINVAL", access("f", 8) == -1 && errno == EINVAL);
    CHECK("access F_OK on a missing file ENOENT", access("missing", F_OK) == -1 && errno == ENOENT);
    chmod("f", 0644);

    struct timespec times[2] = { { 1000000000, 123456789 }, { 1100000000, 987654321 } };
    struct stat st;
    CHECK("utimensat", utimensat(AT_FDCWD, "f", times, 0) == 0 && stat("f", &st) == 0);
    printf("atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec omit[2] = { { 0, UTIME_OMIT }, { 1200000000, 0 } };
    CHECK("futimens with UTIME_OMIT", futimens(fd, omit) == 0 && fstat(fd, &st) == 0 && st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 1200000000);
    struct timeval tv[2] = { { 900000000, 5 }, { 950000000, 7 } };
    CHECK("utimes (microseconds)", utimes("f", tv) == 0 && stat("f", &st) == 0 && st.st_atim.tv_nsec == 5000 && st.st_mtim.tv_sec == 950000000);
    time_t before = time(NULL);
    CHECK("utimensat NULL is now", utimensat(AT_FDCWD, "f", NULL, 0) == 0 && stat("f", &st) == 0 && st.st_mtim.tv_sec >= before - 1);
    struct timespec bad[2] = { { 0, 2000000000 }, { 0, 0 } };
    CHECK("utimensat bad nanoseconds EINVAL", utimensat(AT_FDCWD, "f", bad, 0) == -1 && errno == EINVAL);
    CHECK("utimensat on a directory", utimensat(AT_FDCWD, "d", times, 0) == 0 && stat("d", &st) == 0 && st.st_mtim.tv_sec == 1100000000);
    CHECK("ctime follows changes", ({ struct stat a; stat("f", &a); chmod("f", 0600); stat("f", &st); st.st_ctim.tv_sec >= a.st_ctim.tv_sec; }));

    CHECK("ftruncate grows", ftruncate(fd, 10000) == 0 && fstat(fd, &st) == 0 && st.st_size == 10000);
    CHECK("truncate shrinks", truncate("f", 100) == 0 && stat("f", &st) == 0 && st.st_size == 100);
    CHECK("truncate negative EINVAL", truncate("f", -1) == -1 && errno == EINVAL);
    CHECK("truncate a directory EISDIR", truncate("d", 0) == -1 && errno == EISDIR);
    CHECK("fallocate extends", fallocate(fd, 0, 0, 8192) == 0 && fstat(fd, &st) == 0 && st.st_size == 8192);
    CHECK("fallocate FALLOC_FL_KEEP_SIZE", fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 4096) == 0 && fstat(fd, &st) == 0 && st.st_size == 8192);
    CHECK("fallocate bad length EINVAL", fallocate(fd, 0, 0, 0) == -1 && errno == EINVAL);
    ftruncate(fd, 0);
    pwrite(fd, "data", 4, 0);
    CHECK("SEEK_DATA at the start", lseek(fd, 0, SEEK_DATA) == 0);
    CHECK("SEEK_HOLE at the end", lseek(fd, 0, SEEK_HOLE) == 4);
    CHECK("SEEK_DATA past the end ENXIO", lseek(fd, 10, SEEK_DATA) == -1 && errno == ENXIO);
    CHECK("fsync", fsync(fd) == 0 && fdatasync(fd) == 0);
    CHECK("sync_file_range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0);

    int other = open("f", O_RDWR);
    CHECK("flock LOCK_EX", flock(fd, LOCK_EX) == 0);
    CHECK("flock on another open file EWOULDBLOCK", flock(other, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK);
    CHECK("flock LOCK_UN then it can", flock(fd, LOCK_UN) == 0 && flock(other, LOCK_SH | LOCK_NB) == 0 && flock(other, LOCK_UN) == 0);
    CHECK("flock bad operation EINVAL", flock(fd, 0) == -1 && errno == EINVAL);
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 2 };
    CHECK("F_SETLK", fcntl(fd, F_SETLK, &lock) == 0);
    struct flock probe = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    CHECK("F_GETLK: the process's own lock never conflicts", fcntl(other, F_GETLK, &probe) == 0 && probe.l_type == F_UNLCK);
    CHECK("F_SETLK again through another descriptor", fcntl(other, F_SETLK, &lock) == 0);
    struct flock unlock = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    CHECK("F_SETLK F_UNLCK", fcntl(fd, F_SETLK, &unlock) == 0);
    struct flock badlock = { .l_type = 99, .l_whence = SEEK_SET };
    CHECK("F_SETLK bad type EINVAL", fcntl(fd, F_SETLK, &badlock) == -1 && errno == EINVAL);
    struct flock ofd = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 5 };
    CHECK("F_OFD_SETLK", fcntl(fd, F_OFD_SETLK, &ofd) == 0);
    struct flock ask = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 12, .l_len = 1 };
    CHECK("F_OFD_GETLK from another open file", fcntl(other, F_OFD_GETLK, &ask) == 0 && ask.l_type == F_WRLCK && ask.l_pid == -1);
    close(other);

    struct statfs by_path, by_fd;
    CHECK("statfs and fstatfs agree", statfs(".", &by_path) == 0 && fstatfs(fd, &by_fd) == 0 && by_path.f_type == by_fd.f_type && by_path.f_bsize == by_fd.f_bsize);
    CHECK("statfs: names up to 255 bytes", by_path.f_namelen == 255);
    CHECK("statfs: free no more than total", by_path.f_bfree <= by_path.f_blocks && by_path.f_bavail <= by_path.f_bfree);
    CHECK("statfs missing ENOENT", statfs("missing", &by_path) == -1 && errno == ENOENT);
    CHECK("fstatfs bad fd EBADF", fstatfs(99, &by_fd) == -1 && errno == EBADF);
    close(fd);
    unlink("link");
    rmdir("d");
    return 0;
}
