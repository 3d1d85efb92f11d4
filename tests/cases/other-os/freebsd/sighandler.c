/* sigaction(2) and kill(2) to oneself: a SA_SIGINFO handler runs as handler(signo, siginfo_t *, ucontext_t *)
 * with si_signo, si_code SI_USER (0x10001) and si_pid the sender's; while it runs its signal is blocked
 * (unless SA_NODEFER), and uc_sigmask is the mask before it; sigreturn(2) through the kernel's trampoline
 * puts everything back. Without SA_SIGINFO the second argument is the si_code. SA_RESETHAND leaves
 * SIG_DFL behind. thr_kill(2) to the calling thread gives SI_LWP (0x10007). sigaltstack(2) with
 * SA_ONSTACK runs the handler on the alternate stack, where sigaltstack reports SS_ONSTACK. */
#include "signals.h"

static volatile long calls, last_signal, last_code, last_pid, blocked_inside, saved_mask_had_it, context_ok, on_stack, stack_flags;
static char alternate[65536] __attribute__((aligned(16)));

static void with_info(int signal, siginfo_t *info, ucontext_t *context)
{
  calls++;
  last_signal = info->si_signo == signal ? signal : -1;
  last_code = info->si_code;
  last_pid = info->si_pid;
  blocked_inside = blocked(signal);
  saved_mask_had_it = member(&context->uc_sigmask, signal);
  context_ok = context->uc_mcontext.mc_len == (sizeof(void *) == 8 ? 800 : 640);
}

static void plain(int signal, long code)
{
  calls++;
  last_signal = signal;
  last_code = code;
}

static void on_alternate(int signal)
{
  char here;
  calls++;
  on_stack = &here >= alternate && &here < alternate + sizeof alternate;
  stack_t now;
  call(SYS_sigaltstack, 0, &now, 0);
  stack_flags = now.ss_flags;
}

void ENTRY(void)
{
  struct sigaction old;
  line("sigaction", action(SIGUSR1, with_info, SA_SIGINFO, 0));
  line("kill", call(SYS_kill, self(), SIGUSR1, 0));
  line("handler ran", calls);
  line("si_signo", last_signal);
  line("si_code is SI_USER", last_code == SI_USER);
  line("si_pid is mine", last_pid == self());
  line("blocked while it runs", blocked_inside);
  line("uc_sigmask had it", saved_mask_had_it);
  line("mc_len is sizeof(mcontext_t)", context_ok);
  line("unblocked after sigreturn", blocked(SIGUSR1));
  action(SIGUSR1, with_info, SA_SIGINFO | SA_NODEFER, &old);
  line("old action: the handler", old.sa_handler == (void *)with_info);
  line("old action: SA_SIGINFO", old.sa_flags == SA_SIGINFO);
  call(SYS_kill, self(), SIGUSR1, 0);
  line("SA_NODEFER: not blocked inside", blocked_inside);

  calls = 0;
  action(SIGUSR2, plain, SA_RESETHAND, 0);
  call(SYS_kill, self(), SIGUSR2, 0);
  line("plain handler ran", calls);
  line("its signo", last_signal);
  line("its code is SI_USER", last_code == SI_USER);
  action(SIGUSR2, plain, 0, &old);
  line("SA_RESETHAND left SIG_DFL", old.sa_handler == 0);

  long tid = 0;
  call(SYS_thr_self, &tid, 0, 0);
  action(SIGUSR2, with_info, SA_SIGINFO, 0);
  line("thr_kill", call(SYS_thr_kill, tid, SIGUSR2, 0));
  line("si_code is SI_LWP", last_code == SI_LWP);

  stack_t stack = { alternate, sizeof alternate, 0 }, before;
  line("sigaltstack", call(SYS_sigaltstack, &stack, &before, 0));
  line("none before: SS_DISABLE", before.ss_flags == SS_DISABLE);
  action(SIGUSR1, on_alternate, SA_ONSTACK, 0);
  calls = 0;
  call(SYS_kill, self(), SIGUSR1, 0);
  line("ran on the alternate stack", calls == 1 && on_stack);
  line("sigaltstack inside: SS_ONSTACK", stack_flags == SS_ONSTACK);
  line("SIGKILL cannot be caught: EINVAL", -action(SIGKILL, plain, 0, 0));
  line("signal 0: EINVAL", -action(0, plain, 0, 0));
  leave(0);
}
