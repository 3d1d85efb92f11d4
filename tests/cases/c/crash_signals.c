/* Each way a program crashes ends its process with Linux's signal: a call through a NULL pointer
 * and hlt (musl's crash routine, a_crash) are SIGSEGV, ud2 SIGILL, int3 SIGTRAP, a division by
 * zero SIGFPE; freeing a pointer malloc never gave is musl's hlt and glibc's abort. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void call_null(void) {
    void (*volatile function)(void) = 0;
    function();
}

static void halt(void) { __asm__ volatile("hlt"); }
static void undefined(void) { __asm__ volatile("ud2"); }
static void breakpoint(void) { __asm__ volatile("int3"); }

static void divide(void) {
    volatile int seven = 7, zero = 0;
    printf("%d\n", seven / zero);
}

static void bad_free(void) {
    static long not_from_malloc[8];
    void *volatile pointer = &not_from_malloc[2];
    free(pointer);
}

int main(void) {
    struct rlimit none = { 0, 0 };
    setrlimit(RLIMIT_CORE, &none); /* no core files in the test's directory */
    struct { const char *name; void (*crash)(void); } crashes[] = {
        { "call through NULL", call_null }, { "hlt", halt }, { "ud2", undefined },
        { "int3", breakpoint }, { "divide by zero", divide }, { "free of a static array", bad_free },
    };
    fflush(stdout);
    for (unsigned i = 0; i < sizeof crashes / sizeof *crashes; i++) {
        pid_t child = fork();
        if (child == 0) {
            close(2); /* glibc's abort message is not the point */
            crashes[i].crash();
            _exit(0);
        }
        int status;
        waitpid(child, &status, 0);
        if (WIFSIGNALED(status))
            printf("%s: signal %d\n", crashes[i].name, WTERMSIG(status));
        else
            printf("%s: exit %d\n", crashes[i].name, WEXITSTATUS(status));
    }
    return 0;
}
