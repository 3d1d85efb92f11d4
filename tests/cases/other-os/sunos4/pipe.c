/* pipe(2): SunOS 4 answers the read end in %o0 and the write end in %o1 (no array argument). */
#include "sys.h"
void _start(void)
{
  struct result ends = sc(SYS_pipe, 0, 0, 0);
  line("pipe failed", ends.failed);
  line("two descriptors", ends.value != ends.second);
  line("wrote", call(SYS_write, ends.second, "through the pipe\n", 17));
  char buffer[32];
  long got = call(SYS_read, ends.value, buffer, sizeof buffer);
  line("read", got);
  sc(SYS_write, 1, buffer, got);
  call(SYS_close, ends.second, 0, 0);
  line("end of file once the writer closed", call(SYS_read, ends.value, buffer, sizeof buffer));
  leave(0);
}
