/* Mappings larger than memory fail with ENOMEM (heuristic overcommit); a 1 GiB one works. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    unsigned long sizes[] = { 1UL << 30, 1UL << 40, 1UL << 47, 1UL << 50 };
    for (int i = 0; i < 4; i++) {
        char *p = mmap(NULL, sizes[i], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("2^%d bytes: %s\n", __builtin_ctzl(sizes[i]), p == MAP_FAILED ? strerror(errno) : "mapped");
        if (p != MAP_FAILED) {
            p[0] = 1;
            p[sizes[i] - 1] = 2;
            munmap(p, sizes[i]);
        }
    }
    return 0;
}
