/* sigprocmask(2), sigpending(2) and sigsuspend(2): a blocked signal stays pending (sigpending shows it)
 * and is delivered when unblocked, before sigprocmask returns; sigsuspend(2) replaces the mask until a
 * handler returns, then fails with EINTR and puts the old mask back. An unknown how is EINVAL. */
#include "signals.h"

static volatile long calls;
static void handler(int signal) { calls++; }

void ENTRY(void)
{
  action(SIGUSR1, handler, 0, 0);
  line("block SIGUSR1", mask(SIG_BLOCK, SIGUSR1));
  line("blocked", blocked(SIGUSR1));
  call(SYS_kill, self(), SIGUSR1, 0);
  line("not delivered while blocked", calls);
  sigset_t pending;
  line("sigpending", call(SYS_sigpending, &pending, 0, 0));
  line("SIGUSR1 pending", member(&pending, SIGUSR1));
  line("SIGUSR2 not pending", member(&pending, SIGUSR2));
  line("unblock", mask(SIG_UNBLOCK, SIGUSR1));
  line("delivered on unblocking", calls);
  call(SYS_sigpending, &pending, 0, 0);
  line("no longer pending", member(&pending, SIGUSR1));

  mask(SIG_BLOCK, SIGUSR1);
  call(SYS_kill, self(), SIGUSR1, 0);
  sigset_t none;
  empty(&none);
  line("sigsuspend: EINTR", -call(SYS_sigsuspend, &none, 0, 0));
  line("handler ran in sigsuspend", calls);
  line("old mask back", blocked(SIGUSR1));

  sigset_t set, old;
  empty(&set);
  add(&set, SIGUSR2);
  line("SIG_SETMASK", call(SYS_sigprocmask, SIG_SETMASK, &set, &old));
  line("old set had SIGUSR1", member(&old, SIGUSR1));
  line("now SIGUSR2 only", blocked(SIGUSR2) && !blocked(SIGUSR1));
  empty(&set);
  add(&set, SIGKILL);
  call(SYS_sigprocmask, SIG_BLOCK, &set, 0);
  line("SIGKILL cannot be blocked", blocked(SIGKILL));
  line("bad how: EINVAL", -call(SYS_sigprocmask, 7, &set, 0));
  leave(0);
}
