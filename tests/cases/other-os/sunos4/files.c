/* creat(2), write(2), lseek(2), read(2), fstat(2) and stat(2) with SunOS 4's struct stat (sys/stat.h:
 * short st_dev, unsigned long st_ino, unsigned short st_mode, short st_nlink, ..., long st_size at
 * byte 20), unlink(2); stat after unlink fails with ENOENT (2). */
#include "sys.h"
struct stat {
  short st_dev; unsigned long st_ino; unsigned short st_mode; short st_nlink; unsigned short st_uid, st_gid;
  short st_rdev; long st_size; long st_atime, st_spare1, st_mtime, st_spare2, st_ctime, st_spare3;
  long st_blksize, st_blocks, st_spare4[2];
};
void _start(void)
{
  const char *path = "/tmp/trapeze-sunos4-files.txt";
  long fd = call(SYS_creat, path, 0644, 0);
  line("creat", fd >= 0);
  line("wrote", call(SYS_write, fd, "written and read back\n", 22));
  line("close", call(SYS_close, fd, 0, 0));
  fd = call(SYS_open, path, O_RDWR, 0);
  struct stat status;
  line("fstat", call(SYS_fstat, fd, &status, 0));
  line("st_size", status.st_size);
  line("regular file (S_IFREG 0100000)", (status.st_mode & 0170000) == 0100000);
  line("mode 0644", (status.st_mode & 0777) == 0644);
  line("one link", status.st_nlink);
  line("lseek to 8", call(SYS_lseek, fd, 8, 0));
  char buffer[64];
  long got = call(SYS_read, fd, buffer, sizeof buffer);
  line("read", got);
  sc(SYS_write, 1, buffer, got);
  line("lseek from the end (-5)", call(SYS_lseek, fd, -5, 2));
  call(SYS_close, fd, 0, 0);
  line("stat", call(SYS_stat, path, &status, 0));
  line("same size", status.st_size);
  line("unlink", call(SYS_unlink, path, 0, 0));
  line("stat after unlink", call(SYS_stat, path, &status, 0));
  leave(0);
}
