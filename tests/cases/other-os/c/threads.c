/* FreeBSD threads as libthr makes them: thr_new(2) with a struct thr_param (sys/thr.h), thr_self(2),
 * thr_exit(2) setting *state = 1 and waking it, _umtx_op(2) UMTX_OP_WAIT (a long compare) and
 * UMTX_OP_WAKE (sys/umtx.h); sysctl(3) names libc's startup reads (kern.osreldate is __FreeBSD_version). */
#include "sys.h"
#ifndef __APPLE__
enum { SYS_sysctl = 202, SYS_issetugid = 253, SYS_thr_exit = 431, SYS_thr_self = 432, SYS_umtx_op = 454, SYS_thr_new = 455,
       SYS_cpuset_getaffinity = 487 };
enum { UMTX_OP_WAIT = 2, UMTX_OP_WAKE = 3 };
struct thr_param { void (*start)(void *); void *arg; char *stack_base; unsigned long stack_size; char *tls_base;
                   unsigned long tls_size; long *child_tid; long *parent_tid; int flags; void *rtp; };

static volatile int counter;
static volatile int go;
static long states[2], tids[2];

static void worker(void *arg)
{
  long index = (long)arg;
  /* Wait for the go word to change from 0, as a condition variable would. */
  while (!go)
    call4(SYS_umtx_op, &go, 11 /* UMTX_OP_WAIT_UINT */, 0, 0);
  for (int i = 0; i < 1000; i++)
    __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
  long self = 0;
  call(SYS_thr_self, &self, 0, 0);
  if (self != tids[index]) put("thr_self differs from thr_new's tid\n");
  call(SYS_thr_exit, &states[index], 0, 0);
}

static char stacks[2][16384] __attribute__((aligned(16)));

static long sysctl_int(int top, int second)
{
  int mib[2] = { top, second };
  int value = 0;
  unsigned long size = sizeof value;
  long r = call6(SYS_sysctl, mib, 2, &value, &size, 0, 0);
  return r < 0 ? r : value;
}

void ENTRY(void)
{
  int mib[2] = { 1, 1 }; /* CTL_KERN, KERN_OSTYPE */
  char text[32];
  unsigned long size = sizeof text;
  call6(SYS_sysctl, mib, 2, text, &size, 0, 0);
  put("kern.ostype "); put(text); put("\n");
  line("kern.osreldate", sysctl_int(1, 24));
  line("hw.pagesize", sysctl_int(6, 7));
  line("hw.ncpu positive", sysctl_int(6, 3) > 0);
  int oid[2] = { 0, 0 }, name2oid[2] = { 0, 3 };
  size = sizeof oid;
  call6(SYS_sysctl, name2oid, 2, oid, &size, "hw.ncpu", 7);
  line("name2oid hw.ncpu top", oid[0]);
  line("name2oid hw.ncpu second", oid[1]);
  line("unknown name: ENOENT", -sysctl_int(1, 9999));
  line("issetugid", call(SYS_issetugid, 0, 0, 0));
  unsigned long mask = 0;
  line("cpuset_getaffinity", call6(SYS_cpuset_getaffinity, 2, 1, -1, sizeof mask, &mask, 0));
  line("a CPU in the mask", (mask & 1) != 0);

  for (long i = 0; i < 2; i++) {
    struct thr_param p = { worker, (void *)i, stacks[i], sizeof stacks[i], 0, 0, &tids[i], &tids[i], 0, 0 };
    line("thr_new", call(SYS_thr_new, &p, sizeof p, 0));
  }
  line("distinct tids", tids[0] != tids[1] && tids[0] > 0);
  go = 1;
  call4(SYS_umtx_op, &go, UMTX_OP_WAKE, 2, 0);
  for (int i = 0; i < 2; i++)
    while (states[i] == 0)
      call4(SYS_umtx_op, &states[i], UMTX_OP_WAIT, 0, 0);
  line("counter", counter);
  line("umtx wait on a changed value returns at once", call4(SYS_umtx_op, &states[0], UMTX_OP_WAIT, 0, 0));
  leave(0);
}
#else
void ENTRY(void) { leave(0); }
#endif
