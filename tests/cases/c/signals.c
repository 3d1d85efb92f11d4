// Signal handlers: siginfo, masks, queued values, the alternate stack, FP state across a
// handler, faults that a handler skips or leaves with siglongjmp.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t count;
static volatile int last_code, last_value, last_pid_ok, order[8], order_n;

static void counter(int sig) { (void)sig; count++; }

static void informed(int sig, siginfo_t *info, void *context)
{
    (void)context;
    last_code = info->si_code;
    last_value = info->si_value.sival_int;
    last_pid_ok = info->si_pid == getpid();
    if (order_n < 8)
        order[order_n++] = sig * 100 + info->si_value.sival_int;
}

static void on_stack(int sig, siginfo_t *info, void *context)
{
    (void)sig; (void)info; (void)context;
    int local;
    stack_t now;
    sigaltstack(NULL, &now);
    printf("altstack handler: on alt stack %d, flags %d\n", (char *)&local > (char *)now.ss_sp && (char *)&local < (char *)now.ss_sp + now.ss_size, now.ss_flags);
}

static void skip(int sig, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    printf("fault: sig %d code %d addr %p\n", sig, info->si_code, info->si_addr);
    uc->uc_mcontext.gregs[REG_RIP] += 2; // movl (%rax), %eax is 2 bytes
}

static sigjmp_buf jump;
static void leave(int sig, siginfo_t *info, void *context)
{
    (void)context;
    printf("leaving: sig %d code %d addr %s\n", sig, info->si_code, info->si_addr == (void *)16 ? "16" : info->si_addr ? "code" : "0");
    siglongjmp(jump, sig);
}

static void clobber(int sig)
{
    (void)sig;
    volatile double x = 1.5;
    for (int i = 0; i < 10; i++)
        x = x * 3.25 + 1.0;
    __asm__ volatile("movq %0, %%xmm8\n\tmovq %0, %%xmm0" : : "r"(0x1234567812345678ULL) : "xmm8", "xmm0");
    count++;
}

static void nested(int sig)
{
    if (sig == SIGUSR1)
        raise(SIGUSR2);
    printf("nested %d (count %d)\n", sig, (int)count);
    count++;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);

    // A plain handler; a signal sent to itself runs before kill returns.
    sa.sa_handler = counter;
    sigaction(SIGUSR1, &sa, NULL);
    kill(getpid(), SIGUSR1);
    printf("after kill: count %d\n", (int)count);
    raise(SIGUSR1);
    printf("after raise: count %d\n", (int)count);

    // SA_SIGINFO with sigqueue's value.
    sa.sa_sigaction = informed;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 42 });
    printf("sigqueue: code %d (SI_QUEUE %d) value %d pid ok %d\n", last_code, SI_QUEUE, last_value, last_pid_ok);
    kill(getpid(), SIGUSR2);
    printf("kill: code %d (SI_USER %d) pid ok %d\n", last_code, SI_USER, last_pid_ok);

    // Blocked: pending until unblocked; standard signals coalesce, real-time ones queue in order.
    sigaction(SIGRTMIN, &sa, NULL);
    sigaction(SIGRTMIN + 1, &sa, NULL);
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    order_n = 0;
    for (int i = 1; i <= 3; i++)
        sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ .sival_int = i });
    for (int i = 1; i <= 2; i++)
        sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = i });
    sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 7 });
    sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 8 });
    sigpending(&pending);
    printf("pending: USR2 %d RTMIN %d RTMIN+1 %d USR1 %d; delivered so far %d\n", sigismember(&pending, SIGUSR2), sigismember(&pending, SIGRTMIN),
        sigismember(&pending, SIGRTMIN + 1), sigismember(&pending, SIGUSR1), order_n);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("delivered %d:", order_n);
    for (int i = 0; i < order_n; i++)
        printf(" %d", order[i] >= SIGRTMIN * 100 ? order[i] - SIGRTMIN * 100 + 1000 : order[i]);
    printf("\n");

    // SA_RESETHAND: the second SIGUSR1 would kill, so ignore it after checking the disposition.
    sa.sa_handler = counter;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR1, &sa, NULL);
    count = 0;
    raise(SIGUSR1);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    printf("resethand: count %d, now default %d\n", (int)count, now.sa_handler == SIG_DFL);

    // Nested handlers: SIGUSR2 raised inside SIGUSR1's handler runs at once.
    sa.sa_handler = nested;
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    count = 0;
    raise(SIGUSR1);

    // The mask inside a handler, and after it.
    sigset_t inside;
    sigprocmask(SIG_BLOCK, NULL, &inside);
    printf("mask after handlers: USR1 %d USR2 %d\n", sigismember(&inside, SIGUSR1), sigismember(&inside, SIGUSR2));

    // The alternate stack.
    stack_t alt = { .ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0 };
    sigaltstack(&alt, NULL);
    sa.sa_sigaction = on_stack;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGWINCH, &sa, NULL);
    raise(SIGWINCH);
    stack_t after;
    sigaltstack(NULL, &after);
    printf("altstack after: flags %d size %zu\n", after.ss_flags, after.ss_size);

    // FP and SSE registers survive a handler that uses them.
    sa.sa_handler = clobber;
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    uint64_t xmm8 = 0;
    double d = 2.0;
    __asm__ volatile(
        "movq %2, %%xmm8\n\t"
        "mov $39, %%eax\n\tsyscall\n\t" // getpid
        "mov %%eax, %%edi\n\tmov $10, %%esi\n\tmov $62, %%eax\n\tsyscall\n\t" // kill(getpid(), SIGUSR1)
        "movq %%xmm8, %0\n\t"
        : "=r"(xmm8), "+x"(d)
        : "r"(0x0badc0de0badc0deULL)
        : "rax", "rcx", "rdx", "rdi", "rsi", "r11", "xmm8", "memory");
    printf("xmm8 after handler: %llx, d %g, handler ran %d\n", (unsigned long long)xmm8, d, (int)count);

    // A handler that skips the faulting instruction.
    sa.sa_sigaction = skip;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    int result = 5;
    __asm__ volatile("xor %%eax, %%eax\n\tmovl (%%rax), %%eax\n\tmov $7, %0" : "=r"(result) : : "rax", "memory");
    printf("skipped: result %d\n", result);

    // siglongjmp out of SIGSEGV, SIGFPE and SIGILL handlers.
    sa.sa_sigaction = leave;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    int sig;
    if ((sig = sigsetjmp(jump, 1)) == 0)
        *(volatile int *)16 = 1;
    printf("back from %d\n", sig);
    if ((sig = sigsetjmp(jump, 1)) == 0)
        __asm__ volatile("xor %%edx, %%edx\n\tmov $1, %%eax\n\txor %%ecx, %%ecx\n\tidiv %%ecx" : : : "rax", "rcx", "rdx");
    printf("back from %d\n", sig);
    if ((sig = sigsetjmp(jump, 1)) == 0)
        __asm__ volatile("ud2");
    printf("back from %d\n", sig);
    if ((sig = sigsetjmp(jump, 1)) == 0)
        __asm__ volatile("int3");
    printf("back from %d\n", sig);
    sigprocmask(SIG_BLOCK, NULL, &inside);
    printf("mask after siglongjmp: SEGV %d\n", sigismember(&inside, SIGSEGV));

    // sigsuspend: waits with a mask, returns EINTR after the handler, old mask back.
    sa.sa_handler = counter;
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR1);
    count = 0;
    sigset_t empty;
    sigemptyset(&empty);
    int r = sigsuspend(&empty);
    sigprocmask(SIG_BLOCK, NULL, &inside);
    printf("sigsuspend: %d count %d still blocked %d\n", r, (int)count, sigismember(&inside, SIGUSR1));

    // sigtimedwait takes a blocked signal without a handler.
    sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 9 });
    siginfo_t info;
    int got = sigwaitinfo(&set, &info);
    printf("sigwaitinfo: %d value %d count %d\n", got == SIGUSR1, info.si_value.sival_int, (int)count);
    struct timespec short_wait = { 0, 1000000 };
    got = sigtimedwait(&set, &info, &short_wait);
    printf("sigtimedwait: %d\n", got);

    // Ignored signals are dropped; SIG_DFL SIGCHLD too.
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    raise(SIGCHLD);
    printf("ignored: survived\n");
    return 0;
}
