// Faults Linux turns into signals beyond the plain SIGSEGV: SIGBUS (BUS_ADRERR) on a page of a
// file mapping past the end of the file, shared and private, and a stack overflow caught on the
// alternate stack by a SA_ONSTACK handler.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf jump;
static char *base;
static char *alternate;
static size_t alternate_size;
static volatile int caught_signo, caught_code, caught_errno, on_alternate;
static volatile intptr_t caught_offset;

static void caught(int sig, siginfo_t *info, void *context)
{
    (void)context;
    int local;
    caught_signo = info->si_signo;
    caught_code = info->si_code;
    caught_errno = info->si_errno;
    caught_offset = (char *)info->si_addr - base;
    on_alternate = alternate && (char *)&local > alternate && (char *)&local < alternate + alternate_size;
    siglongjmp(jump, sig);
}

static void catch(int sig, int flags)
{
    struct sigaction action = { .sa_sigaction = caught, .sa_flags = SA_SIGINFO | flags };
    sigemptyset(&action.sa_mask);
    sigaction(sig, &action, NULL);
}

static const char *name(int sig) { return sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : sig ? "other" : "none"; }

// Touches base[offset] (a read, or a write of 'w'); reports the signal it raised, if any.
static void touch(const char *what, long offset, int write)
{
    caught_signo = 0;
    if (sigsetjmp(jump, 1) == 0)
    {
        if (write)
            ((volatile char *)base)[offset] = 'w';
        else
            printf("%s: read %d\n", what, ((volatile char *)base)[offset]);
    }
    if (caught_signo)
        printf("%s: %s code %d errno %d at base+%ld\n", what, name(caught_signo), caught_code, caught_errno, (long)caught_offset);
    else if (write)
        printf("%s: wrote\n", what);
}

static int make_file(long size)
{
    char path[] = "/tmp/signal_faultsXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || unlink(path) != 0 || ftruncate(fd, size) != 0)
    {
        perror("file");
        exit(1);
    }
    return fd;
}

static void past_end_of_file(int type, const char *label)
{
    long page = sysconf(_SC_PAGESIZE);
    int fd = make_file(100);
    if (pwrite(fd, "data", 4, 0) != 4)
        perror("pwrite");
    base = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, type, fd, 0);
    if (base == MAP_FAILED)
    {
        perror("mmap");
        exit(1);
    }
    char what[64];
    snprintf(what, sizeof what, "%s first byte", label);
    touch(what, 0, 0);
    snprintf(what, sizeof what, "%s tail of last page", label);
    touch(what, page - 1, 0);
    snprintf(what, sizeof what, "%s next page read", label);
    touch(what, page + 5, 0);
    snprintf(what, sizeof what, "%s third page write", label);
    touch(what, 2 * page + 7, 1);
    // The file grows under the mapping: its new page is there, the one after it still is not.
    if (ftruncate(fd, page + 10) != 0)
        perror("ftruncate");
    snprintf(what, sizeof what, "%s grown page write", label);
    touch(what, page + 5, 1);
    snprintf(what, sizeof what, "%s grown page read", label);
    touch(what, page + 5, 0);
    snprintf(what, sizeof what, "%s still past end", label);
    touch(what, 2 * page, 0);
    char byte = 0;
    if (pread(fd, &byte, 1, page + 5) != 1)
        perror("pread");
    printf("%s file byte at page+5: %s\n", label, byte == 'w' ? "written" : byte == 0 ? "zero" : "other");
    // A page the guest made inaccessible faults as SIGSEGV even past the end of the file.
    mprotect(base + 2 * page, page, PROT_NONE);
    snprintf(what, sizeof what, "%s PROT_NONE past end", label);
    touch(what, 2 * page, 0);
    munmap(base, 3 * page);
    close(fd);
}

static volatile long depth, never = -1;
static long recurse(long n)
{
    volatile char frame[512];
    if (n == never)
        return 0;
    frame[0] = (char)n;
    depth++;
    return recurse(n + 1) + frame[0];
}

static void stack_overflow(void)
{
    alternate_size = 64 * 1024;
    alternate = malloc(alternate_size);
    stack_t stack = { .ss_sp = alternate, .ss_size = alternate_size }, now;
    if (sigaltstack(&stack, NULL) != 0)
        perror("sigaltstack");
    catch(SIGSEGV, SA_ONSTACK);
    base = NULL;
    caught_signo = 0;
    if (sigsetjmp(jump, 1) == 0)
        printf("recursion returned %ld\n", recurse(0));
    printf("stack overflow: %s code %d on alternate stack %d, deep %d\n", name(caught_signo), caught_code, on_alternate, depth > 1000);
    sigaltstack(NULL, &now);
    printf("after siglongjmp: ss_flags %d\n", now.ss_flags);
}

// Without a handler the default actions end the process: report how.
static void child_dies(const char *what, void (*body)(void))
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
    {
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        // No core file from these runs: the limit keeps the native kernel from writing one.
        struct rlimit none = { 0, 0 };
        setrlimit(RLIMIT_CORE, &none);
        body();
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("%s: %s\n", what, WIFSIGNALED(status) ? name(WTERMSIG(status)) : "exited");
}

static void unhandled_bus(void)
{
    long page = sysconf(_SC_PAGESIZE);
    int fd = make_file(10);
    char *map = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
    printf("unreachable %d\n", ((volatile char *)map)[page]);
}

static void unhandled_overflow(void)
{
    printf("unreachable %ld\n", recurse(0));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    catch(SIGBUS, 0);
    catch(SIGSEGV, 0);
    past_end_of_file(MAP_SHARED, "shared");
    past_end_of_file(MAP_PRIVATE, "private");
    stack_overflow();
    child_dies("unhandled past end of file", unhandled_bus);
    child_dies("unhandled stack overflow", unhandled_overflow);
    return 0;
}
