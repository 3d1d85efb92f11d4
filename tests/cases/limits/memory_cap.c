// Under `trapeze run --memory 256m`: mmap and brk stop at the cap with ENOMEM, malloc of more than
// the cap returns NULL, and RLIMIT_AS shows the cap and cannot be raised, even by root.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void) {
    struct rlimit limit;
    getrlimit(RLIMIT_AS, &limit);
    printf("RLIMIT_AS: %lu MiB, hard %lu MiB\n", (unsigned long)limit.rlim_cur >> 20, (unsigned long)limit.rlim_max >> 20);
    unsigned long mapped = 0;
    int error = 0;
    for (int i = 0; i < 64; i++) {
        void *p = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            error = errno;
            break;
        }
        mapped += 16 << 20;
    }
    printf("mmap stopped below the cap: %s (%s)\n", mapped > (128UL << 20) && mapped < (256UL << 20) ? "yes" : "no", strerror(error));
    void *before = sbrk(0);
    printf("brk past the cap: %s\n", sbrk(64 << 20) == (void *)-1 && errno == ENOMEM && sbrk(0) == before ? "refused" : "allowed");
    printf("malloc of 512 MiB: %s\n", malloc(512UL << 20) == NULL ? "NULL" : "memory");
    limit.rlim_max = RLIM_INFINITY;
    printf("raising RLIMIT_AS: %s\n", setrlimit(RLIMIT_AS, &limit) == 0 ? "allowed" : strerror(errno));
    return 0;
}
