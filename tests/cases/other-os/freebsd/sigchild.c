/* Signals to a child and wait4(2)'s status: a child that catches SIGUSR1 and exits 5 from the handler
 * (WIFEXITED, WEXITSTATUS 5), one killed by SIGTERM's default action (WIFSIGNALED, WTERMSIG 15);
 * the parent's SA_SIGINFO SIGCHLD handler, kept blocked until wait4 has reaped the child, gets si_code
 * CLD_EXITED (1), si_pid the child's and si_status its exit code. */
#include "signals.h"

static volatile long child_code, child_pid, child_status, chld_calls;
static void exit_five(int signal) { leave(5); }
static void on_child(int signal, siginfo_t *info, void *context)
{
  chld_calls++;
  child_code = info->si_code;
  child_pid = info->si_pid;
  child_status = info->si_status;
}

static void wait_forever(void)
{
  sigset_t none;
  empty(&none);
  for (;;)
    call(SYS_sigsuspend, &none, 0, 0);
}

void ENTRY(void)
{
  action(SIGUSR1, exit_five, 0, 0);
  action(SIGCHLD, on_child, SA_SIGINFO, 0);
  mask(SIG_BLOCK, SIGCHLD);
  long pid = do_fork();
  if (pid == 0)
    wait_forever();
  line("kill the child with SIGUSR1", call(SYS_kill, pid, SIGUSR1, 0));
  int status = 0;
  line("wait4", call4(SYS_wait4, pid, &status, 0, 0) == pid);
  line("WIFEXITED", (status & 0x7f) == 0);
  line("WEXITSTATUS", (status >> 8) & 0xff);
  line("SIGCHLD held while blocked", chld_calls);
  mask(SIG_UNBLOCK, SIGCHLD);
  line("SIGCHLD handler ran", chld_calls);
  line("si_code CLD_EXITED", child_code == CLD_EXITED);
  line("si_pid the child's", child_pid == pid);
  line("si_status", child_status);

  action(SIGCHLD, 0, 0, 0);
  pid = do_fork();
  if (pid == 0)
    wait_forever();
  line("kill the child with SIGTERM", call(SYS_kill, pid, SIGTERM, 0));
  call4(SYS_wait4, pid, &status, 0, 0);
  line("WIFSIGNALED", (status & 0x7f) != 0 && (status & 0x7f) != 0x7f);
  line("WTERMSIG", status & 0x7f);
  line("no such process now: ESRCH", -call(SYS_kill, pid, SIGTERM, 0));
  leave(0);
}
