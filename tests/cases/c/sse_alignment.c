/* A misaligned 16-byte SSE access that must be aligned (movaps, movdqa, a legacy SSE memory
 * operand such as addps) is a general protection fault: SIGSEGV with si_code SI_KERNEL and
 * si_addr 0, as Linux delivers #GP. movups on the same address and movaps on an aligned one run.
 * Unicorn's translator does not check SSE alignment (DifferentialTests.UnicornLeavesOut). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static _Alignas(16) char buffer[64];

static void on_segv(int signal, siginfo_t *info, void *context) {
    (void)context;
    char line[96];
    int length = snprintf(line, sizeof line, "  signal %d, si_code %d, si_addr 0x%lx\n", signal, info->si_code,
                          (unsigned long)info->si_addr);
    write(1, line, length);
    _exit(1);
}

static void load_aligned(void) { __asm__ volatile("movaps (%0), %%xmm0" : : "r"(buffer) : "xmm0"); }
static void load_unaligned_movups(void) { __asm__ volatile("movups (%0), %%xmm0" : : "r"(buffer + 8) : "xmm0"); }
static void load_misaligned(void) { __asm__ volatile("movaps (%0), %%xmm0" : : "r"(buffer + 8) : "xmm0"); }
static void store_misaligned(void) { __asm__ volatile("movaps %%xmm0, (%0)" : : "r"(buffer + 4) : "memory"); }
static void movdqa_misaligned(void) { __asm__ volatile("movdqa (%0), %%xmm1" : : "r"(buffer + 1) : "xmm1"); }
static void addps_misaligned(void) { __asm__ volatile("addps (%0), %%xmm2" : : "r"(buffer + 8) : "xmm2"); }

int main(void) {
    struct { const char *name; void (*run)(void); } cases[] = {
        { "movaps aligned", load_aligned }, { "movups misaligned", load_unaligned_movups },
        { "movaps load misaligned", load_misaligned }, { "movaps store misaligned", store_misaligned },
        { "movdqa misaligned", movdqa_misaligned }, { "addps misaligned", addps_misaligned },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        printf("%s:\n", cases[i].name);
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            struct sigaction action;
            memset(&action, 0, sizeof action);
            action.sa_sigaction = on_segv;
            action.sa_flags = SA_SIGINFO;
            sigaction(SIGSEGV, &action, 0);
            cases[i].run();
            _exit(0);
        }
        int status;
        waitpid(child, &status, 0);
        if (WIFSIGNALED(status))
            printf("  killed by signal %d\n", WTERMSIG(status));
        else
            printf("  exit %d\n", WEXITSTATUS(status));
    }
    return 0;
}
