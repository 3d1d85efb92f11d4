/* futex on addresses that are no futex: Linux checks the command first (ENOSYS), then alignment
 * (EINVAL), then the page (EFAULT); an unlock reads its word before anything else, and a private
 * wake only range-checks the address, so on an unmapped word it wakes nobody and succeeds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* <linux/futex.h>'s numbers: musl's include path has no kernel headers. */
enum { FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_LOCK_PI,
    FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET, FUTEX_PRIVATE_FLAG = 128 };

int main(void) {
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    struct { const char *name; unsigned long address; } places[] = {
        { "address 1", 1 }, { "address 4", 4 }, { "NULL", 0 }, { "an unmapped page", (unsigned long)page + 4096 },
        { "an odd mapped address", (unsigned long)page + 1 }, { "the top of the address space", 0xfffffffffffff000UL },
    };
    int operations[] = { FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_LOCK_PI,
        FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET, 99 };
    for (unsigned p = 0; p < sizeof places / sizeof *places; p++) {
        for (unsigned o = 0; o < sizeof operations / sizeof *operations; o++) {
            for (int private = 0; private <= FUTEX_PRIVATE_FLAG; private += FUTEX_PRIVATE_FLAG) {
                errno = 0;
                /* The value never matches a mapped word (0), so no call here can sleep. */
                long result = syscall(SYS_futex, places[p].address, operations[o] | private, 1, NULL, (void *)page, 0xffffffffu);
                printf("%s, op %d%s: %ld %s\n", places[p].name, operations[o], private ? " private" : "", result, result < 0 ? strerror(errno) : "");
            }
        }
    }
    long result = syscall(SYS_futex, page + 4096, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
    printf("private wake with bitset 0 on an unmapped page: %ld %s\n", result, result < 0 ? strerror(errno) : "");
    return 0;
}
