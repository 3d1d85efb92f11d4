/* gettimeofday(2): struct timeval of two 32-bit longs (sys/time.h), seconds since 1970, after 2020. */
#include "sys.h"
struct timeval { long seconds, microseconds; };
struct timezone { int minuteswest, dsttime; };
void _start(void)
{
  struct timeval now, later;
  struct timezone zone;
  line("gettimeofday", call(SYS_gettimeofday, &now, &zone, 0));
  line("after 2020", now.seconds > 1577836800L);
  line("microseconds in range", now.microseconds >= 0 && now.microseconds < 1000000);
  call(SYS_gettimeofday, &later, 0, 0);
  line("time goes forward", later.seconds > now.seconds || (later.seconds == now.seconds && later.microseconds >= now.microseconds));
  line("bad pointer: EFAULT", -call(SYS_gettimeofday, 16, 0, 0));
  leave(0);
}
