/* FreeBSD's kqueue(2) and kevent(2) with a thread: struct kevent of freebsd12+ (sys/event.h: ident,
 * short filter, unsigned short flags, unsigned fflags, int64 data, udata, uint64 ext[4]; 64 bytes, 56 on i386);
 * EVFILT_READ -1 reports the bytes to read and the udata given at EV_ADD, EVFILT_TIMER -7 (data in
 * milliseconds, EV_ONESHOT) the expirations, EVFILT_SIGNAL -6 the count of SIGCHLD (20), whose
 * default action ignores it; EV_DISABLE and EV_ENABLE; an error with room in the event list comes
 * back as an EV_ERROR (0x4000) event with the errno in data (ENOENT 2). A thread made with thr_new(2)
 * writes to the pipe once _umtx_op(2) wakes it. */
#include "sys.h"
#ifndef __APPLE__
enum { SYS_thr_exit = 431, SYS_umtx_op = 454, SYS_thr_new = 455, SYS_kqueue = 362, SYS_kevent = 560 };
enum { UMTX_OP_WAIT = 2, UMTX_OP_WAKE = 3, UMTX_OP_WAIT_UINT = 11 };
enum { EVFILT_READ = -1, EVFILT_SIGNAL = -6, EVFILT_TIMER = -7 };
enum { EV_ADD = 1, EV_DELETE = 2, EV_ENABLE = 4, EV_DISABLE = 8, EV_ONESHOT = 0x10, EV_ERROR = 0x4000 };
#define SIGCHLD 20
struct thr_param { void (*start)(void *); void *arg; char *stack_base; unsigned long stack_size; char *tls_base;
                   unsigned long tls_size; long *child_tid; long *parent_tid; int flags; void *rtp; };
struct kevent { unsigned long ident; short filter; unsigned short flags; unsigned int fflags; long long data; void *udata; unsigned long long ext[4]; };
struct timespec { long seconds, nanoseconds; };

static int fds[2];
static volatile int go;
static long state, tid;
static char stack[16384] __attribute__((aligned(16)));

static void writer(void *arg)
{
  while (!go)
    call4(SYS_umtx_op, &go, UMTX_OP_WAIT_UINT, 0, 0);
  call(SYS_write, fds[1], "k", 1);
  call(SYS_thr_exit, &state, 0, 0);
}

static void set(struct kevent *e, unsigned long ident, short filter, unsigned short flags, long long data, void *udata)
{
  e->ident = ident; e->filter = filter; e->flags = flags; e->fflags = 0; e->data = data; e->udata = udata;
  e->ext[0] = e->ext[1] = e->ext[2] = e->ext[3] = 0;
}

static long kevent(int kq, struct kevent *changes, int count, struct kevent *events, int room, struct timespec *timeout)
{
  return call6(SYS_kevent, kq, changes, count, events, room, timeout);
}

void ENTRY(void)
{
  long kq = call(SYS_kqueue, 0, 0, 0);
  line("kqueue", kq >= 0);
  make_pipe(fds);
  struct kevent changes[3], events[4];
  set(&changes[0], fds[0], EVFILT_READ, EV_ADD, 0, (void *)7);
  set(&changes[1], 1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 50, 0);
  set(&changes[2], SIGCHLD, EVFILT_SIGNAL, EV_ADD, 0, 0);
  line("register read, timer, signal", kevent(kq, changes, 3, 0, 0, 0));
  struct timespec zero = { 0, 0 };
  line("nothing ready yet", kevent(kq, 0, 0, events, 4, &zero));

  struct thr_param p = { writer, 0, stack, sizeof stack, 0, 0, &tid, &tid, 0, 0 };
  line("thr_new", call(SYS_thr_new, &p, sizeof p, 0));
  go = 1;
  call4(SYS_umtx_op, &go, UMTX_OP_WAKE, 1, 0);
  /* The read and the timer may come in either order: wait until both have. */
  long read_data = -1, read_udata = -1, timer_data = -1;
  while (read_data < 0 || timer_data < 0)
  {
    long n = kevent(kq, 0, 0, events, 4, 0);
    for (long i = 0; i < n; i++)
    {
      if (events[i].filter == EVFILT_READ && events[i].ident == (unsigned long)fds[0]) { read_data = events[i].data; read_udata = (long)events[i].udata; }
      if (events[i].filter == EVFILT_TIMER && events[i].ident == 1) timer_data = events[i].data;
    }
  }
  line("read event: bytes", read_data);
  line("read event: udata", read_udata);
  line("timer event: expirations", timer_data);
  while (state == 0)
    call4(SYS_umtx_op, &state, UMTX_OP_WAIT, 0, 0);
  char byte;
  line("read", call(SYS_read, fds[0], &byte, 1));
  line("one-shot timer gone, pipe empty", kevent(kq, 0, 0, events, 4, &zero));

  call(SYS_write, fds[1], "ab", 2);
  set(&changes[0], fds[0], EVFILT_READ, EV_DISABLE, 0, 0);
  kevent(kq, changes, 1, 0, 0, 0);
  line("disabled: nothing", kevent(kq, 0, 0, events, 4, &zero));
  set(&changes[0], fds[0], EVFILT_READ, EV_ENABLE, 0, 0);
  kevent(kq, changes, 1, 0, 0, 0);
  long n = kevent(kq, 0, 0, events, 4, &zero);
  line("enabled: events", n);
  line("bytes waiting", events[0].data);

  long pid = do_fork();
  if (pid == 0) leave(3);
  long signal_count = 0;
  while (signal_count == 0)
  {
    n = kevent(kq, 0, 0, events, 4, 0);
    for (long i = 0; i < n; i++)
      if (events[i].filter == EVFILT_SIGNAL && events[i].ident == SIGCHLD) signal_count = events[i].data;
  }
  line("SIGCHLD counted", signal_count);
  int status = 0;
  call4(SYS_wait4, pid, &status, 0, 0);
  line("child's exit status", (status >> 8) & 0xff);

  set(&changes[0], fds[0], EVFILT_READ, EV_DELETE, 0, 0);
  line("delete", kevent(kq, changes, 1, 0, 0, 0));
  n = kevent(kq, changes, 1, events, 4, 0);
  line("delete again: error events", n);
  line("EV_ERROR set", (events[0].flags & EV_ERROR) != 0);
  line("ENOENT in data", events[0].data);
  set(&changes[0], 0, -100, EV_ADD, 0, 0);
  line("unknown filter: EINVAL", -kevent(kq, changes, 1, 0, 0, 0));
  line("not a kqueue: EBADF", -kevent(fds[0], 0, 0, events, 1, &zero));
  leave(0);
}
#else
void ENTRY(void) { leave(0); }
#endif
