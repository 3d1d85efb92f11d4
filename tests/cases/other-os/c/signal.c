/* kill(2) with SIGUSR1 (30 on both systems, sys/signal.h; Linux: 10): the default action ends the
 * process, and wait4's WTERMSIG (status & 0x7f) names the signal in the system's own numbering. */
#include "sys.h"
void ENTRY(void)
{
  long pid = do_fork();
  if (pid == 0) { call(SYS_kill, call(SYS_getpid, 0, 0, 0), SIGUSR1, 0); leave(1); }
  int status = 0;
  call4(SYS_wait4, pid, &status, 0, 0);
  line("killed by signal", status & 0x7f);
  line("kill with signal 0 checks the pid", call(SYS_kill, call(SYS_getpid, 0, 0, 0), 0, 0));
  line("bad signal: EINVAL", -call(SYS_kill, call(SYS_getpid, 0, 0, 0), 200, 0));
  leave(0);
}
