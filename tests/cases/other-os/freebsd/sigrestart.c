/* SA_RESTART (sigaction(2)): a read(2) of an empty pipe that a SIGALRM from setitimer(2) interrupts fails
 * with EINTR without it, and is restarted with it; here the handler itself writes a byte, which the
 * restarted read returns. nanosleep(2) is never restarted: EINTR either way. getitimer(2) reads a
 * spent one-shot timer as zero. */
#include "signals.h"
struct timespec { long seconds, nanoseconds; };

static int fds[2];
static volatile long alarms;
static void handler(int signal)
{
  alarms++;
  call(SYS_write, fds[1], "x", 1);
}

static void arm(long milliseconds)
{
  struct itimerval timer = { { 0, 0 }, { 0, milliseconds * 1000 } };
  call(SYS_setitimer, ITIMER_REAL, &timer, 0);
}

void ENTRY(void)
{
  make_pipe(fds);
  char byte = 0;
  line("sigaction without SA_RESTART", action(SIGALRM, handler, 0, 0));
  arm(50);
  line("read: EINTR", -call(SYS_read, fds[0], &byte, 1));
  line("alarms", alarms);
  line("the handler's byte is there", call(SYS_read, fds[0], &byte, 1));

  line("sigaction with SA_RESTART", action(SIGALRM, handler, SA_RESTART, 0));
  arm(50);
  byte = 0;
  line("read restarted: bytes", call(SYS_read, fds[0], &byte, 1));
  line("the byte", byte);
  line("alarms", alarms);

  struct itimerval left;
  line("getitimer", call(SYS_getitimer, ITIMER_REAL, &left, 0));
  line("spent: zero", left.value.seconds == 0 && left.value.microseconds == 0);
  arm(50);
  struct timespec pause = { 5, 0 }, rest = { 0, 0 };
  line("nanosleep: EINTR even with SA_RESTART", -call(SYS_nanosleep, &pause, &rest, 0));
  line("time left reported", rest.seconds >= 4 && rest.seconds <= 5);
  line("alarms", alarms);
  leave(0);
}
