// bench: title=Memory: mmap and touch 1 GiB
// bench: kind=memory
// bench: args=1024
// bench: quick-args=32
// Maps N MiB of anonymous memory, writes one byte in every 4 KiB page, unmaps it.
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    size_t size = (size_t)(argc > 1 ? atol(argv[1]) : 1024) << 20;
    unsigned char *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) { perror("mmap"); return 1; }
    for (size_t offset = 0; offset < size; offset += 4096)
        memory[offset] = (unsigned char)offset | 1;
    unsigned long sum = 0;
    for (size_t offset = 0; offset < size; offset += 4096)
        sum += memory[offset];
    munmap(memory, size);
    printf("touched %zu pages, sum %lu\n", size / 4096, sum);
    return 0;
}
