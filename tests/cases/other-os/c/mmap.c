/* mmap(2) MAP_ANON|MAP_PRIVATE (MAP_ANON is 0x1000 on both systems; Linux: 0x20): zero-filled, writable; munmap(2). */
#include "sys.h"
void ENTRY(void)
{
  struct result r = sc6(SYS_mmap, 0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
  line("mmap failed", r.failed);
  volatile char *p = (volatile char *)r.value;
  long zero = 1;
  for (int i = 0; i < 4 * 4096; i++) if (p[i]) zero = 0;
  line("zero filled", zero);
  for (int i = 0; i < 4 * 4096; i++) p[i] = (char)i;
  long sum = 0;
  for (int i = 0; i < 4 * 4096; i++) sum += (unsigned char)p[i];
  line("sum", sum);
  line("munmap", call(SYS_munmap, p, 4 * 4096, 0));
  leave(0);
}
