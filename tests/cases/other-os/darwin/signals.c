/* Signal handlers on Darwin (sigaction(2), sigprocmask(2), sigsuspend(2), sigreturn(2), kill(2) of
 * macOS; XNU's sendsig): a handler runs before kill(getpid(), SIGUSR1) returns, with the signal and
 * sa_mask blocked and SA_SIGINFO's siginfo (si_code SI_USER, 0x10001); a blocked signal stays pending
 * and is delivered when sigprocmask unblocks it; a SIGSEGV handler sees the faulting address and
 * resumes elsewhere by changing the saved instruction pointer; a read interrupted by a handler
 * restarts under SA_RESTART and fails with EINTR (4) without it; sigsuspend returns EINTR with the old
 * mask back; a child killed by SIGTERM (15) and one whose handler exits 7 show in wait4's status.
 * Signal numbers are Darwin's: SIGUSR1 30, SIGUSR2 31, SIGSEGV 11. */
#include "sys.h"

static volatile int caught, last_signal, last_code, same_pid, mask_in_handler, frame_mask, writer_fd, in_read;
static volatile long fault_address;

static void on_usr1(int sig)
{
  caught++;
  last_signal = sig;
  unsigned mask = 0;
  call(SYS_sigprocmask, SIG_BLOCK, 0, &mask);
  mask_in_handler = (mask & sigmask(SIGUSR1)) != 0 && (mask & sigmask(SIGUSR2)) != 0;
}

static void on_usr1_info(int sig, struct darwin_siginfo *info, struct darwin_ucontext *uc)
{
  caught++;
  last_signal = info->si_signo;
  last_code = info->si_code;
  same_pid = info->si_pid == call(SYS_getpid, 0, 0, 0);
  frame_mask = uc->uc_sigmask;
}

static void __attribute__((noreturn)) after_fault(void);

static void on_segv(int sig, struct darwin_siginfo *info, struct darwin_ucontext *uc)
{
  last_signal = sig;
  fault_address = (long)info->si_addr;
  /* Resume in after_fault, on a stack aligned as at a function's entry. */
  uc->uc_mcontext->ip = (unsigned long)after_fault;
  uc->uc_mcontext->sp = (uc->uc_mcontext->sp & ~15ul) - sizeof(long);
}

/* Counts the signals that arrive while the read waits; the third one gives it a byte. */
static void on_usr2_count(int sig)
{
  if (in_read && ++caught == 3)
    call(SYS_write, writer_fd, "x", 1);
}

static void on_usr2_exit(int sig) { leave(7); }

static void __attribute__((noreturn)) spam(long parent)
{
  for (;;)
  {
    call(SYS_kill, parent, SIGUSR2, 0);
    for (int i = 0; i < 2000; i++)
      call(SYS_getpid, 0, 0, 0);
  }
}

/* A read on a pipe nobody writes, while a child signals the reader: what the handler's SA_RESTART decides. */
static long interrupted_read(int flags)
{
  int fds[2];
  make_pipe(fds);
  writer_fd = fds[1];
  caught = 0;
  in_read = 0;
  handle(SIGUSR2, on_usr2_count, 0, flags);
  long parent = call(SYS_getpid, 0, 0, 0);
  long child = do_fork();
  if (child == 0)
    spam(parent);
  char byte;
  in_read = 1;
  long got = call(SYS_read, fds[0], &byte, 1);
  in_read = 0;
  call(SYS_kill, child, SIGKILL, 0);
  int status = 0;
  call4(SYS_wait4, child, &status, 0, 0);
  call(SYS_close, fds[0], 0, 0);
  call(SYS_close, fds[1], 0, 0);
  return got;
}

static void __attribute__((noreturn)) after_fault(void)
{
  line("SIGSEGV handler: signal", last_signal);
  line("fault address", fault_address);

  long got = interrupted_read(SA_RESTART);
  line("read restarted under SA_RESTART, bytes", got);
  line("signals it took", caught);
  line("read without SA_RESTART", interrupted_read(0));

  /* sigsuspend: the blocked, pending SIGUSR1 runs its handler under the temporary mask, then EINTR. */
  handle(SIGUSR1, on_usr1, 0, 0);
  caught = 0;
  unsigned blocked = sigmask(SIGUSR1), old = 0;
  call(SYS_sigprocmask, SIG_BLOCK, &blocked, 0);
  call(SYS_kill, call(SYS_getpid, 0, 0, 0), SIGUSR1, 0);
  line("sigsuspend", call(SYS_sigsuspend, 0, 0, 0));
  call(SYS_sigprocmask, SIG_BLOCK, 0, &old);
  line("handler ran in sigsuspend", caught);
  line("mask back after sigsuspend", (old & sigmask(SIGUSR1)) != 0);
  call(SYS_sigprocmask, SIG_SETMASK, &(unsigned){0}, 0);

  /* A child whose handler exits: wait4's WEXITSTATUS. */
  int fds[2];
  make_pipe(fds);
  long child = do_fork();
  if (child == 0)
  {
    handle(SIGUSR2, on_usr2_exit, 0, 0);
    call(SYS_write, fds[1], "r", 1);
    for (;;)
      call(SYS_sigsuspend, 0, 0, 0);
  }
  char ready;
  call(SYS_read, fds[0], &ready, 1);
  call(SYS_kill, child, SIGUSR2, 0);
  int status = 0;
  call4(SYS_wait4, child, &status, 0, 0);
  line("child's handler exited with", (status >> 8) & 0xff);

  /* A child that takes SIGTERM by default: WTERMSIG. */
  child = do_fork();
  if (child == 0)
    for (;;)
      call(SYS_sigsuspend, 0, 0, 0);
  call(SYS_kill, child, SIGTERM, 0);
  call4(SYS_wait4, child, &status, 0, 0);
  line("child killed by signal", status & 0x7f);
  leave(0);
}

int main(void)
{
  long self = call(SYS_getpid, 0, 0, 0);

  /* A plain handler, sa_mask adding SIGUSR2: it runs before kill returns. */
  line("sigaction", handle(SIGUSR1, on_usr1, sigmask(SIGUSR2), 0));
  line("kill", call(SYS_kill, self, SIGUSR1, 0));
  line("handler ran", caught);
  line("with signal", last_signal);
  line("mask in handler holds SIGUSR1 and sa_mask", mask_in_handler);
  struct user_sigaction old = { 0 };
  call(SYS_sigaction, SIGUSR1, 0, &old);
  line("old action is the handler", old.handler == (void *)on_usr1);
  line("old sa_mask", old.mask);
  unsigned now = 0;
  call(SYS_sigprocmask, SIG_BLOCK, 0, &now);
  line("mask after the handler", now);

  /* SA_SIGINFO: siginfo and ucontext. */
  caught = 0;
  handle(SIGUSR1, on_usr1_info, 0, SA_SIGINFO);
  call(SYS_kill, self, SIGUSR1, 0);
  line("siginfo handler ran", caught);
  line("si_signo", last_signal);
  line("si_code", last_code);
  line("si_pid is ours", same_pid);
  line("uc_sigmask is the interrupted mask", frame_mask);

  /* Blocked, the signal waits; unblocked, it is delivered before sigprocmask returns. */
  caught = 0;
  unsigned set = sigmask(SIGUSR1), pending = 0;
  call(SYS_sigprocmask, SIG_BLOCK, &set, 0);
  call(SYS_kill, self, SIGUSR1, 0);
  line("blocked: handler ran", caught);
  call(SYS_sigpending, &pending, 0, 0);
  line("sigpending has SIGUSR1", (pending & sigmask(SIGUSR1)) != 0);
  call(SYS_sigprocmask, SIG_UNBLOCK, &set, 0);
  line("unblocked: handler ran", caught);
  line("bad how: EINVAL", -call(SYS_sigprocmask, 9, &set, 0));
  line("SIGKILL cannot be caught: EINVAL", -handle(SIGKILL, on_usr1, 0, 0));

  /* A fault: address 16 is in __PAGEZERO. */
  handle(SIGSEGV, on_segv, 0, SA_SIGINFO);
  *(volatile int *)16 = 1;
  put("not reached\n");
  leave(1);
}
