/* mmap(2) of /dev/zero, MAP_PRIVATE with _MAP_NEW (sys/mman.h: SunOS 4 has no MAP_ANON; private
 * zero-filled memory is a private mapping of /dev/zero): zero-filled, writable; munmap(2);
 * getpagesize(2). */
#include "sys.h"
void _start(void)
{
  long page = call(SYS_getpagesize, 0, 0, 0);
  line("getpagesize", page);
  long zero = call(SYS_open, "/dev/zero", O_RDWR, 0);
  line("open /dev/zero", zero >= 0);
  struct result r = sc6(SYS_mmap, 0, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | _MAP_NEW, zero, 0);
  line("mmap failed", r.failed);
  call(SYS_close, zero, 0, 0);
  volatile unsigned char *p = (volatile unsigned char *)r.value;
  long zeros = 1;
  for (long i = 0; i < 4 * page; i++) if (p[i]) zeros = 0;
  line("zero filled", zeros);
  for (long i = 0; i < 4 * page; i++) p[i] = (unsigned char)i;
  long sum = 0;
  for (long i = 0; i < 4 * page; i++) sum += p[i];
  line("sum", sum);
  line("munmap", call(SYS_munmap, p, 4 * page, 0));
  line("mmap of a bad descriptor: EBADF", sc6(SYS_mmap, 0, page, PROT_READ, MAP_PRIVATE | _MAP_NEW, 99, 0).value);
  leave(0);
}
