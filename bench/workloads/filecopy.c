// bench: title=Files: copy 256 MiB in 64 KiB blocks
// bench: kind=file
// bench: setup=head -c 256M /dev/urandom > "$SCRATCH/filecopy.in"
// bench: quick-setup=head -c 8M /dev/urandom > "$SCRATCH/filecopy.in"
// bench: args="$SCRATCH/filecopy.in" "$SCRATCH/filecopy.out"
// Copies SOURCE to TARGET with read(2)/write(2) of 64 KiB, as cp without copy_file_range would.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: filecopy SOURCE TARGET\n"); return 2; }
    int in = open(argv[1], O_RDONLY), out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) { perror("open"); return 1; }
    static char block[64 * 1024];
    long long total = 0;
    for (;;) {
        ssize_t got = read(in, block, sizeof block);
        if (got < 0) { perror("read"); return 1; }
        if (got == 0) break;
        for (ssize_t done = 0; done < got;) {
            ssize_t put = write(out, block + done, (size_t)(got - done));
            if (put < 0) { perror("write"); return 1; }
            done += put;
        }
        total += got;
    }
    close(in); close(out);
    printf("copied %lld bytes\n", total);
    return 0;
}
