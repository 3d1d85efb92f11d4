/* FreeBSD's signal interface for the freestanding test programs (amd64 and i386), from its headers:
 * sys/signal.h (struct sigaction: the handler, int sa_flags, sigset_t sa_mask; SA_* flags; siginfo_t;
 * stack_t is ss_sp, ss_size, ss_flags), sys/_sigset.h (sigset_t: four 32-bit words, bit N-1 for signal N),
 * sys/_ucontext.h and sys/x86/include/ucontext.h (ucontext_t: uc_sigmask, then the 16-byte aligned
 * mcontext_t), sys/sys/time.h (struct itimerval) and sys/kern/syscalls.master for the numbers. */
#include "../c/sys.h"

enum {
  SYS_sigaltstack = 53, SYS_setitimer = 83, SYS_getitimer = 86, SYS_sigprocmask = 340, SYS_sigsuspend = 341,
  SYS_sigpending = 343, SYS_sigaction = 416, SYS_sigreturn = 417, SYS_thr_self = 432, SYS_thr_kill = 433, SYS_mprotect = 74,
};

#define SIGSEGV 11
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 20
#define SIGUSR2 31
#define SIGKILL 9
#define SA_ONSTACK 0x0001
#define SA_RESTART 0x0002
#define SA_RESETHAND 0x0004
#define SA_NODEFER 0x0010
#define SA_SIGINFO 0x0040
#define SIG_BLOCK 1
#define SIG_UNBLOCK 2
#define SIG_SETMASK 3
#define SS_ONSTACK 0x0001
#define SS_DISABLE 0x0004
#define SI_USER 0x10001
#define SI_KERNEL 0x10006
#define SI_LWP 0x10007
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define CLD_EXITED 1
#define EINTR 4
#define EINVAL 22
#define ITIMER_REAL 0
#define PROT_NONE 0

typedef struct { unsigned bits[4]; } sigset_t;
typedef struct {
  int si_signo, si_errno, si_code, si_pid;
  unsigned si_uid;
  int si_status;
  void *si_addr;
  void *si_value;
  int si_trapno; /* _reason._fault._trapno */
  int reason[9];
} siginfo_t;
struct sigaction { void *sa_handler; int sa_flags; sigset_t sa_mask; };
typedef struct { void *ss_sp; unsigned long ss_size; int ss_flags; } stack_t;

#ifdef __i386__
typedef struct {
  int mc_onstack, mc_gs, mc_fs, mc_es, mc_ds, mc_edi, mc_esi, mc_ebp, mc_isp, mc_ebx, mc_edx, mc_ecx, mc_eax;
  int mc_trapno, mc_err, mc_eip, mc_cs, mc_eflags, mc_esp, mc_ss, mc_len;
} mcontext_t;
#define mc_pc mc_eip
#define mc_counter mc_ecx
#else
typedef struct {
  long mc_onstack, mc_rdi, mc_rsi, mc_rdx, mc_rcx, mc_r8, mc_r9, mc_rax, mc_rbx, mc_rbp, mc_r10, mc_r11, mc_r12, mc_r13, mc_r14, mc_r15;
  unsigned mc_trapno;
  unsigned short mc_fs, mc_gs;
  long mc_addr;
  unsigned mc_flags;
  unsigned short mc_es, mc_ds;
  long mc_err, mc_rip, mc_cs, mc_rflags, mc_rsp, mc_ss, mc_len;
} mcontext_t;
#define mc_pc mc_rip
#define mc_counter mc_rcx
#endif
typedef struct { sigset_t uc_sigmask; mcontext_t uc_mcontext __attribute__((aligned(16))); } ucontext_t;

struct timeval { long seconds, microseconds; };
struct itimerval { struct timeval interval, value; };

static inline void empty(sigset_t *set) { set->bits[0] = set->bits[1] = set->bits[2] = set->bits[3] = 0; }
static inline void add(sigset_t *set, int signal) { set->bits[(signal - 1) / 32] |= 1u << ((signal - 1) % 32); }
static inline int member(const sigset_t *set, int signal) { return (set->bits[(signal - 1) / 32] >> ((signal - 1) % 32)) & 1; }

static inline long action(int signal, void *handler, int flags, struct sigaction *old)
{
  struct sigaction sa;
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  empty(&sa.sa_mask);
  return call(SYS_sigaction, signal, &sa, old);
}

static inline long mask(int how, int signal)
{
  sigset_t set;
  empty(&set);
  add(&set, signal);
  return call(SYS_sigprocmask, how, &set, 0);
}

static inline int blocked(int signal)
{
  sigset_t set;
  call(SYS_sigprocmask, SIG_BLOCK, 0, &set);
  return member(&set, signal);
}

static inline long self(void) { return call(SYS_getpid, 0, 0, 0); }
