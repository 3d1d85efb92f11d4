/* The stat family in each system's own struct stat: FreeBSD's freebsd12+ layout (sys/stat.h: 64-bit
 * st_dev, st_ino and st_nlink, st_mode a 16-bit word at byte 24, st_size at 112; fstat 551, fstatat
 * 552 with AT_FDCWD -100 and AT_SYMLINK_NOFOLLOW 0x200; on i386 st_size at 96) and Darwin's struct stat64 (sys/stat.h,
 * __DARWIN_STRUCT_STAT64: 32-bit st_dev, 16-bit st_mode and st_nlink, 64-bit st_ino at byte 8,
 * st_size at 96; fstat64 339, stat64 338, lstat64 340). */
#include "sys.h"
#ifdef __APPLE__
struct stat { int st_dev; unsigned short st_mode, st_nlink; unsigned long st_ino; unsigned st_uid, st_gid; int st_rdev;
              long st_atime, st_atime_nsec, st_mtime, st_mtime_nsec, st_ctime, st_ctime_nsec, st_birthtime, st_birthtime_nsec;
              long st_size, st_blocks; int st_blksize; unsigned st_flags, st_gen; int st_lspare; long st_qspare[2]; };
enum { SYS_fstat_ = 339, SYS_stat_ = 338, SYS_lstat_ = 340, SYS_symlink = 57 };
#define stat_path(path, buffer) call(SYS_stat_, path, buffer, 0)
#define lstat_path(path, buffer) call(SYS_lstat_, path, buffer, 0)
#else
/* On i386 time_t is 32 bits and each timespec has a 32-bit extension word before it (st_atim_ext...). */
#ifdef __i386__
#define EXT(name) int name;
#else
#define EXT(name)
#endif
struct stat { unsigned long long st_dev, st_ino, st_nlink; unsigned short st_mode; short st_padding0; unsigned st_uid, st_gid;
              int st_padding1; unsigned long long st_rdev; EXT(st_atim_ext) long st_atime, st_atime_nsec; EXT(st_mtim_ext)
              long st_mtime, st_mtime_nsec; EXT(st_ctim_ext) long st_ctime, st_ctime_nsec; EXT(st_btim_ext) long st_birthtime,
              st_birthtime_nsec; long long st_size, st_blocks; int st_blksize; unsigned st_flags;
              unsigned long long st_gen, st_spare[10]; };
enum { SYS_fstat_ = 551, SYS_fstatat = 552, SYS_symlink = 57 };
#define stat_path(path, buffer) call4(SYS_fstatat, AT_FDCWD, path, buffer, 0)
#define lstat_path(path, buffer) call4(SYS_fstatat, AT_FDCWD, path, buffer, 0x200)
#endif
void ENTRY(void)
{
  const char *path = "/tmp/trapeze-other-os-stat.txt", *link = "/tmp/trapeze-other-os-stat.lnk";
  call(SYS_unlink, path, 0, 0);
  call(SYS_unlink, link, 0, 0);
  long fd = call(SYS_open, path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  call(SYS_write, fd, "twenty-two bytes long\n", 22);
  struct stat status;
  line("fstat", call(SYS_fstat_, fd, &status, 0));
  line("st_size", status.st_size);
  line("regular file", (status.st_mode & 0170000) == 0100000);
  line("one link", status.st_nlink);
  line("an inode", status.st_ino != 0);
  line("st_blksize positive", status.st_blksize > 0);
  line("modified after 2020", status.st_mtime > 1577836800L);
  call(SYS_close, fd, 0, 0);
  unsigned long long inode = status.st_ino;
  line("stat", stat_path(path, &status));
  line("same inode", status.st_ino == inode);
  line("symlink", call(SYS_symlink, path, link, 0));
  line("stat follows the link", stat_path(link, &status) == 0 && (status.st_mode & 0170000) == 0100000);
  line("lstat sees the link", lstat_path(link, &status) == 0 && (status.st_mode & 0170000) == 0120000);
  line("stat of a missing file: ENOENT", -stat_path("/nonexistent/file", &status));
  call(SYS_unlink, link, 0, 0);
  call(SYS_unlink, path, 0, 0);
  leave(0);
}
