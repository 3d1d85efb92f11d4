/* Signal handlers on SunOS 4 (sigvec(2), sigblock(2), sigsetmask(2), kill(2), sigpause(2)'s manual, and
 * sys/signal.h): sigvec's struct sigvec is sv_handler, sv_mask, sv_flags; the kernel calls sv_handler
 * with (sig, code, scp, addr) (code 0 for a signal kill sent), and the handler returns through
 * sigcleanup with the struct sigcontext scp names (what libc's trampoline does, here by hand). A
 * handler runs before kill returns, with the signal and sv_mask blocked; scp->sc_mask is the mask the
 * signal interrupted and comes back afterwards; a blocked signal waits for sigsetmask. 4.2BSD's calls
 * restart after a handler unless sv_flags has SV_INTERRUPT (2), then fail with EINTR (4). Signal
 * numbers are SunOS's: SIGUSR1 30, SIGUSR2 31; EINVAL 22 for catching SIGKILL. */
#include "sys.h"

enum { SYS_sigvec = 108, SYS_sigcleanup = 139 };
#define SIGUSR2 31
#define SV_INTERRUPT 2

struct sigcontext { int sc_onstack, sc_mask, sc_sp, sc_pc, sc_npc, sc_psr, sc_g1, sc_o0; };
struct sigvec { void (*sv_handler)(); int sv_mask, sv_flags; };

typedef void (*handler_t)(int, int, struct sigcontext *);
static handler_t handlers[32];

static void trampoline(int sig, int code, struct sigcontext *scp, char *addr)
{
  handlers[sig - 1](sig, code, scp);
  sc(SYS_sigcleanup, scp, 0, 0);
}

static long handle(int sig, handler_t handler, int mask, int flags)
{
  handlers[sig - 1] = handler;
  struct sigvec vec = { (void (*)())trampoline, mask, flags };
  return call(SYS_sigvec, sig, &vec, 0);
}

static volatile int caught, last_signal, last_code, mask_in_handler, frame_mask, writer_fd, in_read;

static void on_usr1(int sig, int code, struct sigcontext *scp)
{
  caught++;
  last_signal = sig;
  last_code = code;
  long mask = call(SYS_sigblock, 0, 0, 0);
  mask_in_handler = (mask & sigmask(SIGUSR1)) != 0 && (mask & sigmask(SIGUSR2)) != 0;
  frame_mask = scp->sc_mask;
}

/* Counts the signals that arrive while the read waits; the third one gives it a byte. */
static void on_usr2_count(int sig, int code, struct sigcontext *scp)
{
  if (in_read && ++caught == 3)
    call(SYS_write, writer_fd, "x", 1);
}

static void __attribute__((noreturn)) spam(long parent)
{
  for (;;)
  {
    call(SYS_kill, parent, SIGUSR2, 0);
    for (int i = 0; i < 2000; i++)
      call(SYS_getpid, 0, 0, 0);
  }
}

/* A read on a pipe nobody writes, while a child signals the reader: what SV_INTERRUPT decides. */
static long interrupted_read(int flags)
{
  struct result ends = sc(SYS_pipe, 0, 0, 0);
  writer_fd = ends.second;
  caught = 0;
  in_read = 0;
  handle(SIGUSR2, on_usr2_count, 0, flags);
  long parent = sc(SYS_getpid, 0, 0, 0).value;
  long child = do_fork();
  if (child == 0)
    spam(parent);
  char byte;
  in_read = 1;
  long got = call(SYS_read, ends.value, &byte, 1);
  in_read = 0;
  call(SYS_kill, child, SIGKILL, 0);
  int status = 0;
  call4(SYS_wait4, child, &status, 0, 0);
  call(SYS_close, ends.value, 0, 0);
  call(SYS_close, ends.second, 0, 0);
  return got;
}

void _start(void)
{
  long self = sc(SYS_getpid, 0, 0, 0).value;

  /* A handler with sv_mask adding SIGUSR2: it runs before kill returns. */
  line("sigvec", handle(SIGUSR1, on_usr1, sigmask(SIGUSR2), 0));
  line("kill", call(SYS_kill, self, SIGUSR1, 0));
  line("handler ran", caught);
  line("with signal", last_signal);
  line("code", last_code);
  line("mask in handler holds SIGUSR1 and sv_mask", mask_in_handler);
  line("sc_mask is the interrupted mask", frame_mask);
  line("mask after the handler", call(SYS_sigblock, 0, 0, 0));
  struct sigvec old = { 0, 0, 0 };
  call(SYS_sigvec, SIGUSR1, 0, &old);
  line("old handler is the trampoline", old.sv_handler == (void (*)())trampoline);
  line("old sv_mask", old.sv_mask);
  line("old sv_flags", old.sv_flags);

  /* Blocked, the signal waits; sigsetmask lets it in before it returns the old mask. */
  caught = 0;
  call(SYS_sigblock, sigmask(SIGUSR1), 0, 0);
  call(SYS_kill, self, SIGUSR1, 0);
  line("blocked: handler ran", caught);
  line("sigsetmask answers the old mask", call(SYS_sigsetmask, 0, 0, 0));
  line("unblocked: handler ran", caught);
  line("sc_mask held SIGUSR1 back", frame_mask == 0);
  line("SIGKILL cannot be caught: EINVAL", -handle(SIGKILL, on_usr1, 0, 0));

  long got = interrupted_read(0);
  line("read restarted, bytes", got);
  line("signals it took", caught);
  line("read with SV_INTERRUPT", interrupted_read(SV_INTERRUPT));
  leave(0);
}
