/* open(2) O_CREAT|O_TRUNC, write(2), read(2), close(2), unlink(2); open after unlink fails with ENOENT (2 on both systems). */
#include "sys.h"
void ENTRY(void)
{
  const char *path = "/tmp/trapeze-other-os-files.txt";
  long fd = call(SYS_open, path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  line("open for writing", fd >= 0);
  line("wrote", call(SYS_write, fd, "written and read back\n", 22));
  line("close", call(SYS_close, fd, 0, 0));
  fd = call(SYS_open, path, O_RDONLY, 0);
  char buffer[64];
  long got = call(SYS_read, fd, buffer, sizeof buffer);
  line("read", got);
  sc(SYS_write, 1, buffer, got);
  line("second read (end of file)", call(SYS_read, fd, buffer, sizeof buffer));
  call(SYS_close, fd, 0, 0);
  line("unlink", call(SYS_unlink, path, 0, 0));
  line("open after unlink", call(SYS_open, path, O_RDONLY, 0));
  leave(0);
}
