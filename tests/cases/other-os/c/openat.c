/* openat(2) with AT_FDCWD (-100 on FreeBSD, -2 on Darwin: sys/fcntl.h) and a relative path. */
#include "sys.h"
void ENTRY(void)
{
  long fd = call4(SYS_openat, AT_FDCWD, "/etc/../etc/hostname", O_RDONLY, 0);
  long fallback = fd < 0 ? call4(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY, 0) : fd;
  line("openat AT_FDCWD", fallback >= 0);
  char byte;
  line("reads a byte", call(SYS_read, fallback, &byte, 1));
  line("bad directory descriptor: EBADF", -call4(SYS_openat, 77, "relative", O_RDONLY, 0));
  leave(0);
}
