/* getpid(2)/getppid(2): positive ids, and different (Trapeze's first process has the host's parent). */
#include "sys.h"
void ENTRY(void)
{
  long pid = call(SYS_getpid, 0, 0, 0), parent = call(SYS_getppid, 0, 0, 0);
  line("pid positive", pid > 0);
  line("parent positive", parent > 0);
  line("distinct", pid != parent);
  leave(0);
}
