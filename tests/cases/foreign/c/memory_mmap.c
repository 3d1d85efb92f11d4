/* Memory: anonymous and file mappings, mprotect, mremap, brk/sbrk, a large malloc, mincore-free checks. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    long page = sysconf(_SC_PAGESIZE); printf("page %ld\n", page);
    char *a = mmap(0, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("zeroed %d\n", a[0] == 0 && a[4 * page - 1] == 0);
    memset(a, 'a', 4 * page);
    char *b = mremap(a, 4 * page, 64 * page, MREMAP_MAYMOVE); printf("mremap kept %c new %d\n", b[page], b[63 * page]);
    printf("munmap middle %d\n", munmap(b + page, page));
    char dir[] = "/tmp/trapeze-mmap-XXXXXX"; mkdtemp(dir); char path[64]; snprintf(path, sizeof path, "%s/m", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0600); write(fd, "mapped file contents", 20);
    char *f = mmap(0, page, PROT_READ, MAP_PRIVATE, fd, 0); printf("file map %.11s\n", f + 7);
    char *g = mmap(0, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0); g[0] = 'M'; char c; pread(fd, &c, 1, 0);
    printf("private copy %c file %c\n", g[0], c);
    printf("mprotect %d\n", mprotect(g, page, PROT_READ));
    void *start = sbrk(0); printf("brk grow %d\n", sbrk(65536) == start && sbrk(0) == (char *)start + 65536);
    char *big = malloc(64 << 20); memset(big, 1, 64 << 20); long sum = 0; for (long i = 0; i < (64 << 20); i += 4096) sum += big[i];
    printf("big malloc %ld\n", sum); free(big);
    printf("bad munmap %d\n", munmap((void *)1, page));
    unlink(path); rmdir(dir);
    return 0;
}
