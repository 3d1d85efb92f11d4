/* fork(2) (the child sees 1 in %o1) and wait4(2): WEXITSTATUS is status >> 8 & 0xff (sys/wait.h);
 * a second wait4 fails with ECHILD (10). */
#include "sys.h"
void _start(void)
{
  long pid = do_fork();
  if (pid == 0) { put("child runs\n"); leave(7); }
  int status = 0;
  long waited = call4(SYS_wait4, pid, &status, 0, 0);
  line("waited for the child", waited == pid);
  line("exited normally", (status & 0x7f) == 0);
  line("exit status", (status >> 8) & 0xff);
  line("no more children (ECHILD 10)", -call4(SYS_wait4, -1, &status, 0, 0));
  leave(0);
}
