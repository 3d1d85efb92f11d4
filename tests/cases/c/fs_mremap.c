// mremap of shared mappings keeps them shared (reference 04's shared quadrants): a file mapping
// grown (in place or moved) still writes the file and is seen by another mapping of it; shared
// anonymous memory grown past its size gives SIGBUS there, as its object did not grow.
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf back;
static void on_bus(int signal, siginfo_t *info, void *context) { (void)info; (void)context; siglongjmp(back, signal); }

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char path[] = "/tmp/trapeze-mremap-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, 3 * page) != 0) return 1;
    unlink(path);
    char *first = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *other = mmap(NULL, 3 * page, PROT_READ, MAP_SHARED, fd, 0);
    strcpy(first, "before");
    // Grown in place or moved, as the neighbours allow: either way still the file's pages.
    char *grown = mremap(first, page, 3 * page, MREMAP_MAYMOVE);
    printf("kept contents %s\n", grown == MAP_FAILED ? "failed" : grown);
    strcpy(grown + 2 * page, "third page through the moved mapping");
    char buffer[64] = {0};
    pread(fd, buffer, sizeof buffer - 1, 2 * page);
    printf("file: %s\nother mapping: %s\n", buffer, other + 2 * page);

    char *shrunk = mremap(grown, 3 * page, page, 0);
    printf("shrunk in place %d, second page gone %d\n", shrunk == grown, mremap(grown + page, page, page, 0) == MAP_FAILED);

    struct sigaction action = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO};
    sigaction(SIGBUS, &action, NULL);
    char *anonymous = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *wider = mremap(anonymous, page, 2 * page, MREMAP_MAYMOVE);
    pid_t child = fork();
    if (child == 0) {
        strcpy(wider, "from the child");
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("shared anonymous after mremap: %s\n", wider);
    int caught = sigsetjmp(back, 1);
    if (caught == 0) {
        wider[page] = 1;
        printf("past the object: no signal\n");
    } else {
        printf("past the object: signal %d\n", caught);
    }
    return 0;
}
