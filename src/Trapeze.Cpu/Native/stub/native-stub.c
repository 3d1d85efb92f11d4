/*
 * The host child process of Trapeze's native x86-64 platform. Guest code runs here at native
 * speed; Trapeze (the parent) serves every system call. A seccomp filter traps each syscall not
 * made from this stub's one syscall instruction into SIGSYS; the handler (on the thread's
 * alternate stack in the shared control region) posts the registers to Trapeze, wakes it with a
 * futex and waits for the answer. Faults and stops come back the same way.
 *
 * Built by Trapeze.Cpu.csproj: gcc -static -nostdlib -fno-stack-protector (no libc, no TLS: the
 * guest owns FS). The layout of the control region is mirrored in NativeControl.cs.
 *
 * fd 3 on entry: the control memfd. Guest memory arrives as memfds opened through
 * /proc/PARENT/fd/N, mapped MAP_SHARED at the guest's addresses.
 */
#pragma GCC visibility push(hidden)
typedef unsigned long u64;
typedef unsigned int u32;
typedef int i32;

#define CONTROL_BASE 0x6ff100000000UL
#define SLOT_SIZE 0x10000UL
#define MAX_THREADS 256
#define INITIAL_STACK_OFFSET 0x1000UL
#define ALT_STACK_OFFSET 0x4000UL

/* Host signal that stops a thread running guest code (Trapeze's RequestStop). */
#define STOP_SIGNAL 10 /* SIGUSR1 */

enum { STATE_IDLE = 0, STATE_EVENT = 1, STATE_ANSWER = 2 };
enum { EVENT_SYSCALL = 1, EVENT_FAULT = 2, EVENT_STOP = 3, EVENT_START = 4 };
enum { ANSWER_RESUME = 1, ANSWER_EXIT = 2 };
enum { DIRTY_FP = 1, DIRTY_FS = 2, DIRTY_GS = 4 };
enum { COMMAND_MAP = 1, COMMAND_UNMAP = 2, COMMAND_PROTECT = 3, COMMAND_THREAD = 4 };

/* One thread's page, shared with Trapeze (NativeControl.cs: ThreadSlot). */
struct slot {
    volatile u32 state;
    u32 event;
    u32 answer;
    u32 dirty;
    i32 tid;
    i32 signal;
    i32 code;
    volatile u32 running; /* 1 while guest code runs: a stop signal is worth sending */
    u64 address;          /* si_addr, or si_call_addr for a syscall */
    u64 syscall;
    u64 fs_base, gs_base;
    u64 gregs[23];        /* mcontext_t.gregs */
    volatile u32 starting; /* set by a new thread before its first stop */
    u32 pad0;
    u64 pad[2];
    unsigned char fxsave[512] __attribute__((aligned(64)));
};

/* NativeControl.cs reads these offsets. */
_Static_assert(__builtin_offsetof(struct slot, address) == 32, "slot layout");
_Static_assert(__builtin_offsetof(struct slot, gregs) == 64, "slot layout");
_Static_assert(__builtin_offsetof(struct slot, starting) == 248, "slot layout");
_Static_assert(__builtin_offsetof(struct slot, fxsave) == 320, "slot layout");

/* The manager's page at CONTROL_BASE: one command at a time from Trapeze (NativeControl.cs). */
struct manager {
    volatile u32 state;
    u32 command;
    long result;
    u64 arguments[6];
    i32 parent;
    volatile u32 ready;
};
_Static_assert(__builtin_offsetof(struct manager, arguments) == 16, "manager layout");
_Static_assert(__builtin_offsetof(struct manager, ready) == 68, "manager layout");

long sc(long nr, long a, long b, long c, long d, long e, long f);
void sc_restore(void);
extern char sc_after[];

__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    "  mov %rsp, %rdi\n"
    "  lea manager_stack+65536(%rip), %rsp\n"
    "  and $-16, %rsp\n"
    "  call stub_main\n"
    "  hlt\n"
    ".globl sc\n"
    "sc:\n"
    "  mov %rdi, %rax\n"
    "  mov %rsi, %rdi\n"
    "  mov %rdx, %rsi\n"
    "  mov %rcx, %rdx\n"
    "  mov %r8, %r10\n"
    "  mov %r9, %r8\n"
    "  mov 8(%rsp), %r9\n"
    "  syscall\n"
    ".globl sc_after\n"
    "sc_after:\n"
    "  ret\n"
    ".globl sc_restore\n"
    "sc_restore:\n"
    "  mov $15, %eax\n"
    "  jmp sc_after - 2\n");

char manager_stack[65536] __attribute__((aligned(16)));

#define SYS(n, ...) sc_args(n, __VA_ARGS__)
static inline long sc6(long n, long a, long b, long c, long d, long e, long f) { return sc(n, a, b, c, d, e, f); }
#define sc_args(n, ...) sc_pick(n, __VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define sc_pick(n, a, b, c, d, e, f, ...) sc6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

enum {
    NR_read = 0, NR_close = 3, NR_mmap = 9, NR_mprotect = 10, NR_munmap = 11, NR_rt_sigaction = 13,
    NR_rt_sigprocmask = 14, NR_getpid = 39, NR_clone = 56, NR_exit = 60, NR_kill = 62,
    NR_getppid = 110, NR_setpgid = 109, NR_sigaltstack = 131, NR_prctl = 157, NR_arch_prctl = 158,
    NR_gettid = 186, NR_futex = 202, NR_exit_group = 231, NR_tgkill = 234, NR_openat = 257,
    NR_seccomp = 317,
};

static struct manager *const manager = (struct manager *)CONTROL_BASE;

static struct slot *slot_at(int index) { return (struct slot *)(CONTROL_BASE + SLOT_SIZE * (u64)(index + 1)); }

static void futex_wait(volatile u32 *word, u32 value, long timeout_seconds)
{
    long timeout[2] = { timeout_seconds, 0 };
    SYS(NR_futex, word, 0 /* FUTEX_WAIT, shared */, value, timeout_seconds ? (long)timeout : 0, 0, 0);
}

static void futex_wake(volatile u32 *word) { SYS(NR_futex, word, 1 /* FUTEX_WAKE */, 1, 0, 0, 0); }

/* Waits until Trapeze changes *word from value. A short spin first can save two context switches on
 * an idle machine; a long one (4000 pauses, ~200 us) doubled the cost of a call on a loaded one. */
static void await_change(volatile u32 *word, u32 value)
{
    for (int spin = 0; spin < 16; spin++) {
        if (*word != value)
            return;
        __asm__ volatile("pause");
    }
    while (*word == value)
        futex_wait(word, value, 0);
}

static void copy(void *to, const void *from, u64 length)
{
    unsigned char *t = to;
    const unsigned char *f = from;
    while (length--)
        *t++ = *f++;
}

/* The parts of the kernel's ucontext and siginfo the handler reads (x86-64 layouts). */
struct fpstate_header { unsigned char fx[512]; u32 magic1; u32 size; u64 xfeatures; };
struct ucontext_view {
    u64 flags;
    u64 link;
    u64 stack[3];
    u64 gregs[23];
    unsigned char *fpregs;
};
struct siginfo_view { i32 signo; i32 error; i32 code; i32 pad; u64 address; i32 syscall; u32 arch; };

enum { REG_CSGSFS = 18, REG_ERR = 19, REG_TRAPNO = 20, REG_OLDMASK = 21, REG_CR2 = 22 };

static void handler(int signal, struct siginfo_view *info, struct ucontext_view *context)
{
    u64 here = (u64)&here;
    struct slot *slot = (struct slot *)(here & ~(SLOT_SIZE - 1));
    slot->running = 0;
    slot->signal = signal;
    slot->code = info->code;
    slot->address = info->address;
    if (signal == 31 /* SIGSYS */) {
        slot->event = EVENT_SYSCALL;
        slot->syscall = (u64)(long)info->syscall;
    } else if (signal == STOP_SIGNAL && info->code == -6 /* SI_TKILL */) {
        slot->event = slot->starting ? EVENT_START : EVENT_STOP;
    } else {
        slot->event = EVENT_FAULT;
    }
    /* A starting thread's registers are already in the slot: Trapeze wrote the guest's there. */
    if (!slot->starting) {
        copy(slot->gregs, context->gregs, sizeof slot->gregs);
        if (context->fpregs)
            copy(slot->fxsave, context->fpregs, 512);
        slot->dirty = 0;
    }
    __asm__ volatile("" ::: "memory");
    slot->state = STATE_EVENT;
    futex_wake(&slot->state);
    await_change(&slot->state, STATE_EVENT);
    __asm__ volatile("" ::: "memory");
    slot->state = STATE_IDLE;
    if (slot->starting) {
        slot->dirty = DIRTY_FP | DIRTY_FS | DIRTY_GS;
        slot->starting = 0;
    }
    if (slot->answer == ANSWER_EXIT)
        for (;;)
            SYS(NR_exit, 0);
    for (int r = 0; r < 23; r++) {
        if (r != REG_CSGSFS && r != REG_ERR && r != REG_TRAPNO && r != REG_OLDMASK && r != REG_CR2)
            context->gregs[r] = slot->gregs[r];
    }
    if ((slot->dirty & DIRTY_FP) && context->fpregs) {
        struct fpstate_header *fp = (struct fpstate_header *)context->fpregs;
        copy(fp->fx, slot->fxsave, 512);
        /* An XSAVE frame restores the x87 and SSE parts only when their bits are set. */
        if (fp->magic1 == 0x46505853U)
            *(u64 *)(context->fpregs + 512) |= 3;
    }
    if (slot->dirty & DIRTY_FS)
        SYS(NR_arch_prctl, 0x1002 /* ARCH_SET_FS */, slot->fs_base);
    if (slot->dirty & DIRTY_GS)
        SYS(NR_arch_prctl, 0x1001 /* ARCH_SET_GS */, slot->gs_base);
}

struct kernel_sigaction { void *handler; u64 flags; void *restorer; u64 mask; };

static void install(int signal, void *function)
{
    struct kernel_sigaction action = { function, 0x04000000 /* SA_RESTORER */ | 4 /* SA_SIGINFO */ | 0x08000000 /* SA_ONSTACK */, sc_restore, ~0UL };
    if (function == (void *)1)
        action.flags = 0x04000000, action.restorer = sc_restore;
    SYS(NR_rt_sigaction, signal, &action, 0, 8);
}

/* A new guest thread (entered by `ret` on the stack clone gave it, inside its slot): its alternate
 * stack, then a stop to itself that Trapeze answers with the thread's registers. */
void thread_entry(void)
{
    u64 here = (u64)&here;
    struct slot *slot = (struct slot *)(here & ~(SLOT_SIZE - 1));
    struct { u64 base; i32 flags; i32 pad; u64 size; } stack = { (u64)slot + ALT_STACK_OFFSET, 0, 0, SLOT_SIZE - ALT_STACK_OFFSET };
    SYS(NR_sigaltstack, &stack, 0);
    slot->tid = (i32)SYS(NR_gettid, 0);
    slot->starting = 1;
    u64 none = 0;
    SYS(NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &none, 0, 8);
    SYS(NR_tgkill, SYS(NR_getpid, 0), slot->tid, STOP_SIGNAL);
    for (;;)
        SYS(NR_exit, 0);
}

static long start_thread(u64 index)
{
    if (index >= MAX_THREADS)
        return -22;
    struct slot *slot = slot_at((int)index);
    u64 *top = (u64 *)((u64)slot + ALT_STACK_OFFSET - 16);
    top[0] = (u64)thread_entry;
    const long flags = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000; /* VM FS FILES SIGHAND THREAD SYSVSEM */
    long tid = SYS(NR_clone, flags, top, 0, 0, 0);
    return tid;
}

static int decimal(char *out, long value)
{
    char digits[24];
    int n = 0, length = 0;
    do
        digits[n++] = (char)('0' + value % 10);
    while ((value /= 10) > 0);
    while (n)
        out[length++] = digits[--n];
    return length;
}

/* mmap of Trapeze's descriptor arguments[3] at arguments[0]: opened again through /proc. */
static long map_memory(u64 *arguments)
{
    char path[64] = "/proc/";
    int at = 6;
    at += decimal(path + at, manager->parent);
    copy(path + at, "/fd/", 4);
    at += 4;
    at += decimal(path + at, (long)arguments[3]);
    path[at] = 0;
    long fd = SYS(NR_openat, -100, path, arguments[5] ? 2 /* O_RDWR */ : 0, 0);
    if (fd < 0)
        return fd;
    long result = SYS(NR_mmap, arguments[0], arguments[1], arguments[2], 0x01 | 0x10 /* MAP_SHARED|MAP_FIXED */, fd, arguments[4]);
    SYS(NR_close, fd);
    return result < 0 ? result : 0;
}

struct sock_filter { unsigned short code; unsigned char jt, jf; u32 k; };

static long install_filter(void)
{
    u64 allowed = (u64)sc_after;
    struct sock_filter program[] = {
        { 0x20, 0, 0, 4 },                       /* ld arch */
        { 0x15, 0, 5, 0xc000003e },              /* x86-64, else trap */
        { 0x20, 0, 0, 8 },                       /* ld instruction_pointer (low) */
        { 0x15, 0, 3, (u32)allowed },
        { 0x20, 0, 0, 12 },                      /* (high) */
        { 0x15, 0, 1, (u32)(allowed >> 32) },
        { 0x06, 0, 0, 0x7fff0000 },              /* SECCOMP_RET_ALLOW */
        { 0x06, 0, 0, 0x00030000 },              /* SECCOMP_RET_TRAP */
    };
    struct { unsigned short length; struct sock_filter *filter; } fprog = { sizeof program / sizeof program[0], program };
    long result = SYS(NR_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0);
    if (result < 0)
        return result;
    /* SECCOMP_FILTER_FLAG_SPEC_ALLOW: no speculative store bypass mitigation forced on guest code. */
    result = SYS(NR_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 4, &fprog);
    if (result == -22)
        result = SYS(NR_seccomp, 1, 0, &fprog);
    return result;
}

void stub_main(u64 *entry_stack)
{
    long result = SYS(NR_mmap, CONTROL_BASE, SLOT_SIZE * (MAX_THREADS + 1), 3, 0x01 | 0x10, 3, 0);
    if (result < 0)
        SYS(NR_exit_group, 120);
    SYS(NR_close, 3);
    u64 all = ~0UL;
    SYS(NR_rt_sigprocmask, 2, &all, 0, 8);
    SYS(NR_setpgid, 0, 0);
    /* Terminal signals are Trapeze's to forward as the guest's; the child ignores them. */
    static const int ignored[] = { 1, 2, 3, 13, 20, 21, 22 };
    for (unsigned i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        install(ignored[i], (void *)1);
    static const int caught[] = { 31, 11, 7, 8, 4, 5, STOP_SIGNAL };
    for (unsigned i = 0; i < sizeof caught / sizeof caught[0]; i++)
        install(caught[i], (void *)handler);
    /* The kernel's stack and vDSO for this process lie where guest memory may go: gone. */
    u64 argc = entry_stack[0];
    u64 *p = entry_stack + 1 + argc + 1;
    while (*p)
        p++;
    for (p++; p[0]; p += 2) {
        if (p[0] == 33 /* AT_SYSINFO_EHDR */ && p[1])
            SYS(NR_munmap, p[1] - 0x10000, 0x20000);
    }
    u64 stack_page = (u64)entry_stack & ~0xfffUL;
    SYS(NR_munmap, stack_page - 0x4000000, 0x8000000);
    manager->parent = (i32)SYS(NR_getppid, 0);
    result = install_filter();
    manager->result = result;
    manager->ready = result < 0 ? 2 : 1;
    futex_wake((volatile u32 *)&manager->ready);
    if (result < 0)
        SYS(NR_exit_group, 121);
    for (;;) {
        while (manager->state != 1) {
            futex_wait(&manager->state, manager->state, 1);
            if (SYS(NR_getppid, 0) != manager->parent)
                SYS(NR_exit_group, 0);
        }
        __asm__ volatile("" ::: "memory");
        u64 *arguments = manager->arguments;
        switch (manager->command) {
        case COMMAND_MAP: result = map_memory(arguments); break;
        case COMMAND_UNMAP: result = SYS(NR_munmap, arguments[0], arguments[1]); break;
        case COMMAND_PROTECT: result = SYS(NR_mprotect, arguments[0], arguments[1], arguments[2]); break;
        case COMMAND_THREAD: result = start_thread(arguments[0]); break;
        default: result = -38; break;
        }
        manager->result = result;
        __asm__ volatile("" ::: "memory");
        manager->state = 2;
        futex_wake(&manager->state);
    }
}
