/* Freestanding system calls for the SunOS 4 SPARC test programs: no libc. SunOS 4 traps with ta 0
 * (ST_SYSCALL, <machine/trap.h>), the number in %g1 and the arguments in %o0-%o5; on return the
 * PSR's carry bit set means failure with the positive errno in %o0, else %o0 (and %o1) hold the
 * result (libc's syscall stubs branch on it with bcs). Numbers from SunOS 4.1's <sys/syscall.h>;
 * values from <sys/errno.h>, <sys/signal.h>, <sys/fcntlcom.h>, <sys/mman.h>, named in each use.
 * SPARC V7 has no multiply or divide instruction: these programs use neither (build.sh assembles
 * clang's output with as -Av7, which refuses them). */
enum {
  SYS_exit = 1, SYS_fork = 2, SYS_read = 3, SYS_write = 4, SYS_open = 5, SYS_close = 6, SYS_wait4 = 7, SYS_creat = 8,
  SYS_unlink = 10, SYS_lseek = 19, SYS_getpid = 20, SYS_getuid = 24, SYS_kill = 37, SYS_stat = 38, SYS_pipe = 42,
  SYS_fstat = 62, SYS_getpagesize = 64, SYS_mmap = 71, SYS_munmap = 73, SYS_sigblock = 109, SYS_sigsetmask = 110,
  SYS_gettimeofday = 116, SYS_mkdir = 136, SYS_rmdir = 137,
};

/* <sys/fcntlcom.h> */
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0x200
#define O_TRUNC 0x400
#define O_EXCL 0x800
/* <sys/mman.h>: _MAP_NEW asks for the address as mmap's result (SunOS 4.0's mmap answered 0). */
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define _MAP_NEW 0x80000000
/* <sys/signal.h> */
#define SIGKILL 9
#define SIGTERM 15
#define SIGUSR1 30
#define sigmask(n) (1 << ((n) - 1))

struct result { long value, second; int failed; };

static inline struct result sc6(long n, long a, long b, long c, long d, long e, long f)
{
  register long g1 __asm__("g1") = n;
  register long o0 __asm__("o0") = a;
  register long o1 __asm__("o1") = b;
  register long o2 __asm__("o2") = c;
  register long o3 __asm__("o3") = d;
  register long o4 __asm__("o4") = e;
  register long o5 __asm__("o5") = f;
  long carry;
  /* addx adds the carry bit: the flag becomes a value. */
  __asm__ volatile("ta 0\n\taddx %%g0, 0, %0"
                   : "=r"(carry), "+r"(g1), "+r"(o0), "+r"(o1), "+r"(o2), "+r"(o3), "+r"(o4), "+r"(o5)
                   :
                   : "memory", "cc");
  struct result r = { o0, o1, (int)carry };
  return r;
}
#define sc(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static inline long call_(long n, long a, long b, long c) { struct result r = sc(n, a, b, c); return r.failed ? -r.value : r.value; }
/* SunOS's errno comes back negated, for printing. */
#define call(n, a, b, c) call_(n, (long)(a), (long)(b), (long)(c))
static inline long call4_(long n, long a, long b, long c, long d) { struct result r = sc6(n, a, b, c, d, 0, 0); return r.failed ? -r.value : r.value; }
#define call4(n, a, b, c, d) call4_(n, (long)(a), (long)(b), (long)(c), (long)(d))

static inline unsigned long length(const char *s) { unsigned long n = 0; while (s[n]) n++; return n; }
static inline void put(const char *s) { sc(SYS_write, 1, s, length(s)); }
/* Decimal digits by subtracting powers of ten: no division on V7. */
static inline void put_number(long v)
{
  static const unsigned long powers[] = { 1000000000, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100, 10, 1 };
  char buffer[16];
  int at = 0, started = 0;
  unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
  if (v < 0) buffer[at++] = '-';
  for (int i = 0; i < 10; i++)
  {
    char digit = '0';
    while (u >= powers[i]) { u -= powers[i]; digit++; }
    if (digit != '0' || started || i == 9) { buffer[at++] = digit; started = 1; }
  }
  buffer[at] = 0;
  put(buffer);
}
static inline void line(const char *label, long v) { put(label); put(" "); put_number(v); put("\n"); }
static inline __attribute__((noreturn)) void leave(int code) { sc(SYS_exit, code, 0, 0); __builtin_unreachable(); }

/* fork(2) answers the other process's ID in %o0 and, in the child, 1 in %o1 (libc's fork returns 0 there). */
static inline long do_fork(void) { struct result r = sc(SYS_fork, 0, 0, 0); return r.failed ? -r.value : r.second ? 0 : r.value; }
