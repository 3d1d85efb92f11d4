/* Freestanding system calls for the FreeBSD and Darwin x86-64 (and FreeBSD i386) test programs: no libc, no dyld.
 * Both systems return errors as the carry flag set and the positive errno in RAX, a second result
 * in RDX (FreeBSD amd64 cpu_set_syscall_retval; XNU unix_syscall64). Darwin's BSD calls are class
 * UNIX: 0x2000000 + number (osfmk/mach/i386/syscall_sw.h). Numbers: sys/kern/syscalls.master and XNU's
 * bsd/kern/syscalls.master; values from each system's headers (named in each use). */
#ifdef __APPLE__
#define SYS(n) (0x2000000L + (n))
#define ENTRY main
#else
#define SYS(n) (n)
#define ENTRY _start
#endif

enum {
  SYS_exit = 1, SYS_fork = 2, SYS_read = 3, SYS_write = 4, SYS_open = 5, SYS_close = 6, SYS_wait4 = 7,
  SYS_unlink = 10, SYS_getpid = 20, SYS_kill = 37, SYS_getppid = 39, SYS_munmap = 73, SYS_fcntl = 92, SYS_mkdir = 136, SYS_rmdir = 137,
#ifdef __APPLE__
  SYS_pipe = 42, SYS_mmap = 197, SYS_gettimeofday = 116, SYS_openat = 463,
#else
  SYS_pipe2 = 542, SYS_mmap = 477, SYS_gettimeofday = 116, SYS_clock_gettime = 232, SYS_nanosleep = 240, SYS_openat = 499,
#endif
};

/* <sys/fcntl.h>, <sys/mman.h>, <sys/signal.h> of each system. */
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_NONBLOCK 4
#define O_CREAT 0x200
#define O_TRUNC 0x400
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 2
#define MAP_ANON 0x1000
#define F_SETFL 4
#define SIGUSR1 30
#ifdef __APPLE__
#define AT_FDCWD (-2)
#else
#define AT_FDCWD (-100)
#endif

struct result { long value, second; int failed; };

#ifdef __i386__
/* FreeBSD i386: int $0x80 with the arguments on the stack above a return-address slot (the libc
 * stubs call a function that traps), the carry flag and EAX/EDX as on amd64 (i386 trap.c). */
static inline struct result sc6(long n, long a, long b, long c, long d, long e, long f)
{
  /* Two zero slots after the six: a 64-bit off_t (mmap's last argument) takes two. */
  long args[8] = { a, b, c, d, e, f, 0, 0 };
  long eax = n, edx, carry;
  __asm__ volatile("sub $36, %%esp\n\t"
                   "mov 0(%3), %%edx\n\tmov %%edx, 4(%%esp)\n\t"
                   "mov 4(%3), %%edx\n\tmov %%edx, 8(%%esp)\n\t"
                   "mov 8(%3), %%edx\n\tmov %%edx, 12(%%esp)\n\t"
                   "mov 12(%3), %%edx\n\tmov %%edx, 16(%%esp)\n\t"
                   "mov 16(%3), %%edx\n\tmov %%edx, 20(%%esp)\n\t"
                   "mov 20(%3), %%edx\n\tmov %%edx, 24(%%esp)\n\t"
                   "mov 24(%3), %%edx\n\tmov %%edx, 28(%%esp)\n\t"
                   "mov 28(%3), %%edx\n\tmov %%edx, 32(%%esp)\n\t"
                   "xor %%edx, %%edx\n\t"
                   "int $0x80\n\t"
                   "setc %%cl\n\t"
                   "movzbl %%cl, %%ecx\n\t"
                   "add $36, %%esp"
                   : "+a"(eax), "=&d"(edx), "=&c"(carry)
                   : "S"(args)
                   : "memory", "cc");
  struct result r = { eax, edx, (int)carry };
  return r;
}
#else
static inline struct result sc6(long n, long a, long b, long c, long d, long e, long f)
{
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long rax = SYS(n), rdx = c;
  unsigned char carry;
  __asm__ volatile("syscall; setc %2"
                   : "+a"(rax), "+d"(rdx), "=r"(carry), "+r"(r10), "+r"(r8), "+r"(r9)
                   : "D"(a), "S"(b)
                   : "rcx", "r11", "memory", "cc");
  struct result r = { rax, rdx, carry };
  return r;
}
#endif
#define sc(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static inline long call_(long n, long a, long b, long c) { struct result r = sc(n, a, b, c); return r.failed ? -r.value : r.value; }
/* The system's errno comes back negated, for printing. */
#define call(n, a, b, c) call_(n, (long)(a), (long)(b), (long)(c))
static inline long call4_(long n, long a, long b, long c, long d) { struct result r = sc6(n, a, b, c, d, 0, 0); return r.failed ? -r.value : r.value; }
#define call4(n, a, b, c, d) call4_(n, (long)(a), (long)(b), (long)(c), (long)(d))
static inline long call6_(long n, long a, long b, long c, long d, long e, long f) { struct result r = sc6(n, a, b, c, d, e, f); return r.failed ? -r.value : r.value; }
#define call6(n, a, b, c, d, e, f) call6_(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

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

/* pipe: Darwin's returns both descriptors in RAX and RDX; FreeBSD 11+ has pipe2 with an array. */
static inline long make_pipe(int fds[2])
{
#ifdef __APPLE__
  struct result r = sc(SYS_pipe, 0, 0, 0);
  if (r.failed) return -r.value;
  fds[0] = r.value; fds[1] = r.second;
  return 0;
#else
  return call(SYS_pipe2, fds, 0, 0);
#endif
}

/* fork: both kernels return the child's pid in the parent with RDX = 0, and RDX = 1 in the child. */
static inline long do_fork(void)
{
  struct result r = sc(SYS_fork, 0, 0, 0);
  if (r.failed) return -r.value;
  return r.second ? 0 : r.value;
}
