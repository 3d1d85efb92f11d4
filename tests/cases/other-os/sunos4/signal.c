/* kill(2) and the 4.2BSD signal masks: sigblock(2) holds SIGUSR1 (30 in SunOS's sys/signal.h; Linux:
 * 10) pending, sigsetmask(2) lets it through, and its default action ends
 * the process; wait4's WTERMSIG (status & 0x7f) names SIGUSR1 and SIGTERM (15) in SunOS's numbering. */
#include "sys.h"
void _start(void)
{
  long pid = do_fork();
  if (pid == 0)
  {
    call(SYS_sigblock, sigmask(SIGUSR1), 0, 0);
    call(SYS_kill, call(SYS_getpid, 0, 0, 0), SIGUSR1, 0);
    put("blocked SIGUSR1 is held\n");
    /* Unblocked, the pending SIGUSR1 ends the process before sigsetmask returns. */
    call(SYS_sigsetmask, 0, 0, 0);
    put("not reached\n");
    leave(1);
  }
  int status = 0;
  call4(SYS_wait4, pid, &status, 0, 0);
  line("killed by signal", status & 0x7f);
  pid = do_fork();
  if (pid == 0) { for (;;) sc(SYS_getpid, 0, 0, 0); }
  line("kill SIGTERM", call(SYS_kill, pid, SIGTERM, 0));
  call4(SYS_wait4, pid, &status, 0, 0);
  line("killed by signal", status & 0x7f);
  line("kill with signal 0 checks the pid", call(SYS_kill, call(SYS_getpid, 0, 0, 0), 0, 0));
  line("no such process: ESRCH", -call(SYS_kill, 99999, 0, 0));
  leave(0);
}
