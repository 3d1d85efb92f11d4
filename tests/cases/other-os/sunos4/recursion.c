/* Deep recursion: each call's save takes a register window, so past the CPU's 8 windows every call
 * overflows into the kernel (a spill to the stack) and every return underflows (a fill), as SunOS's
 * window trap handlers do. The sum of 1..n is checked on the way back up; ta 3 (ST_FLUSH_WINDOWS)
 * writes every window to the stack, where the caller's saved %i0 can be read. */
#include "sys.h"
static long __attribute__((noinline)) sum(long n)
{
  if (n == 0) return 0;
  long below = sum(n - 1);
  return below + n;
}
static long __attribute__((noinline)) depth(long n, long *frames)
{
  if (n == 0) { __asm__ volatile("ta 3" ::: "memory"); return 0; }
  frames[0]++;
  return depth(n - 1, frames) + 1;
}
void _start(void)
{
  line("sum 1..10", sum(10));
  line("sum 1..1000", sum(1000));
  line("sum 1..20000", sum(20000));
  long frames = 0;
  line("depth after a flush", depth(500, &frames));
  line("frames", frames);
  leave(0);
}
