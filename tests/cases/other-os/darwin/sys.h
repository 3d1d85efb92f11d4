/* Freestanding system calls for the Darwin x86-64 and i386 signal programs: no libSystem, no dyld.
 * x86-64: syscall with RAX = 0x2000000 + number (class UNIX, osfmk/mach/i386/syscall_sw.h) and the
 * arguments in RDI RSI RDX R10 R8 R9. i386: int $0x80 with EAX = number and the arguments on the
 * stack above a return-address slot, as libSystem's stubs leave them. Both: carry set and the positive
 * errno on failure, a second result in RDX/EDX. Numbers from XNU's bsd/kern/syscalls.master; values
 * from bsd/sys/signal.h and bsd/sys/errno.h, named in each use. */
enum {
  SYS_exit = 1, SYS_fork = 2, SYS_read = 3, SYS_write = 4, SYS_close = 6, SYS_wait4 = 7, SYS_getpid = 20,
  SYS_kill = 37, SYS_pipe = 42, SYS_sigaction = 46, SYS_sigprocmask = 48, SYS_sigpending = 52, SYS_sigsuspend = 111,
  SYS_sigreturn = 184,
};

/* <sys/signal.h> */
#define SIGKILL 9
#define SIGSEGV 11
#define SIGTERM 15
#define SIGUSR1 30
#define SIGUSR2 31
#define sigmask(n) (1u << ((n) - 1))
#define SA_RESTART 0x0002
#define SA_SIGINFO 0x0040
#define SIG_BLOCK 1
#define SIG_UNBLOCK 2
#define SIG_SETMASK 3
#define SI_USER 0x10001
#define UC_TRAD 1
#define UC_FLAVOR 30
/* <sys/errno.h> */
#define EINTR 4

struct result { long value, second; int failed; };

#ifdef __x86_64__
static inline struct result sc4(long n, long a, long b, long c, long d)
{
  register long r10 __asm__("r10") = d;
  long rax = 0x2000000L + n, rdx = c;
  unsigned char carry;
  __asm__ volatile("syscall; setc %2" : "+a"(rax), "+d"(rdx), "=r"(carry), "+r"(r10), "+D"(a), "+S"(b) : : "rcx", "r8", "r9", "r11", "memory", "cc");
  struct result r = { rax, rdx, carry };
  return r;
}
#else
static inline struct result sc4(long n, long a, long b, long c, long d)
{
  long eax = n, edx = 0;
  /* The four arguments, then the slot libSystem's call leaves for its return address. */
  __asm__ volatile("pushl %5\n\tpushl %4\n\tpushl %3\n\tpushl %2\n\tpushl $0\n\tint $0x80\n\tsbbl %2, %2\n\taddl $20, %%esp"
                   : "+a"(eax), "+d"(edx), "+b"(a), "+c"(b), "+S"(c), "+D"(d) : : "memory", "cc");
  struct result r = { eax, edx, a != 0 };
  return r;
}
#endif
#define sc(n, a, b, c) sc4(n, (long)(a), (long)(b), (long)(c), 0)

static inline long call_(long n, long a, long b, long c, long d) { struct result r = sc4(n, a, b, c, d); return r.failed ? -r.value : r.value; }
/* Darwin's errno comes back negated, for printing. */
#define call(n, a, b, c) call_(n, (long)(a), (long)(b), (long)(c), 0)
#define call4(n, a, b, c, d) call_(n, (long)(a), (long)(b), (long)(c), (long)(d))

static inline unsigned long length(const char *s) { unsigned long n = 0; while (s[n]) n++; return n; }
static inline void put(const char *s) { sc(SYS_write, 1, s, length(s)); }
static inline void put_number(long v)
{
  char buffer[24]; int at = 23; buffer[at] = 0;
  int negative = v < 0; unsigned long u = negative ? -v : v;
  do { buffer[--at] = '0' + u % 10; u /= 10; } while (u);
  if (negative) buffer[--at] = '-';
  put(buffer + at);
}
static inline void line(const char *label, long v) { put(label); put(" "); put_number(v); put("\n"); }
static inline __attribute__((noreturn)) void leave(int code) { sc(SYS_exit, code, 0, 0); __builtin_unreachable(); }

/* fork: the child's pid in the parent with RDX/EDX = 0, and 1 in the child. */
static inline long do_fork(void) { struct result r = sc(SYS_fork, 0, 0, 0); return r.failed ? -r.value : r.second ? 0 : r.value; }
/* pipe: both descriptors, in RAX/EAX and RDX/EDX. */
static inline void make_pipe(int fds[2]) { struct result r = sc(SYS_pipe, 0, 0, 0); fds[0] = r.value; fds[1] = r.second; }

/* The kernel's side of a handler (bsd/sys/signal.h, sys/_types/_ucontext.h, i386/_mcontext.h):
 * struct __sigaction carries sa_tramp, the function sendsig enters with (catcher, infostyle, signo,
 * siginfo, ucontext, token); the user's struct sigaction does not. */
struct kernel_sigaction { void *handler; void *tramp; unsigned mask; int flags; };
struct user_sigaction { void *handler; unsigned mask; int flags; };
struct darwin_siginfo { int si_signo, si_errno, si_code, si_pid; unsigned si_uid; int si_status; void *si_addr; long si_value, si_band, pad[7]; };
struct darwin_stack { void *ss_sp; unsigned long ss_size; int ss_flags; };
#ifdef __x86_64__
struct darwin_mcontext { unsigned short trapno, cpu; unsigned err; unsigned long faultvaddr;
  unsigned long rax, rbx, rcx, rdx, rdi, rsi, rbp, sp, r8, r9, r10, r11, r12, r13, r14, r15, ip, flags, cs, fs, gs; };
#else
struct darwin_mcontext { unsigned short trapno, cpu; unsigned err; unsigned faultvaddr;
  unsigned eax, ebx, ecx, edx, edi, esi, ebp, sp, ss, flags, ip, cs, ds, es, fs, gs; };
#endif
struct darwin_ucontext { int uc_onstack; unsigned uc_sigmask; struct darwin_stack uc_stack; struct darwin_ucontext *uc_link;
  unsigned long uc_mcsize; struct darwin_mcontext *uc_mcontext; };

typedef void (*catcher_t)(int, struct darwin_siginfo *, struct darwin_ucontext *);

/* What libSystem's _sigtramp does: call the handler the way its flags ask, then sigreturn(2) with the
 * ucontext, the infostyle and the token the kernel passed. */
static void trampoline(catcher_t catcher, int style, int sig, struct darwin_siginfo *info, struct darwin_ucontext *uc, long token)
{
  if (style == UC_FLAVOR)
    catcher(sig, info, uc);
  else
    ((void (*)(int))catcher)(sig);
  sc(SYS_sigreturn, uc, style, token);
}

static inline long handle(int sig, void *handler, unsigned mask, int flags)
{
  struct kernel_sigaction action = { handler, (void *)trampoline, mask, flags };
  return call(SYS_sigaction, sig, &action, 0);
}
