/* pipe(2): Darwin's pipe returns the read end in RAX and the write end in RDX; FreeBSD's pipe2 fills an array. */
#include "sys.h"
void ENTRY(void)
{
  int fds[2];
  line("pipe", make_pipe(fds));
  line("distinct ends", fds[0] != fds[1]);
  line("wrote", call(SYS_write, fds[1], "through the pipe\n", 17));
  char buffer[32];
  long got = call(SYS_read, fds[0], buffer, sizeof buffer);
  sc(SYS_write, 1, buffer, got);
  call(SYS_close, fds[1], 0, 0);
  line("end of file after close", call(SYS_read, fds[0], buffer, sizeof buffer));
  leave(0);
}
