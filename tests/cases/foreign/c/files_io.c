#define _FILE_OFFSET_BITS 64 /* large-file offsets: without them Linux refuses writes past 2 GiB with EFBIG, which qemu does not */
/* Files: create, write, pread/pwrite, lseek past 4 GiB (_llseek / 64-bit offsets), ftruncate, fstat sizes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    char dir[] = "/tmp/trapeze-files-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[64]; snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
    printf("write %zd\n", write(fd, "hello, file", 11));
    char buf[16] = {0};
    printf("pread %zd %s\n", pread(fd, buf, 5, 7), buf);
    printf("pwrite %zd\n", pwrite(fd, "F", 1, 7));
    off_t end = lseek(fd, 0, SEEK_END); printf("end %ld\n", (long)end);
    long long far = lseek64(fd, 5LL << 30, SEEK_SET); printf("lseek64 %lld\n", far);
    printf("write far %zd\n", write(fd, "z", 1));
    struct stat64 st; fstat64(fd, &st); printf("size %lld mode %o\n", (long long)st.st_size, st.st_mode & 0777);
    printf("ftruncate %d\n", ftruncate(fd, 4));
    fstat64(fd, &st); printf("size %lld\n", (long long)st.st_size);
    lseek(fd, 0, SEEK_SET); memset(buf, 0, sizeof buf);
    printf("read %zd %s\n", read(fd, buf, sizeof buf), buf);
    close(fd);
    printf("open missing %d\n", open("/nonexistent/x", O_RDONLY));
    printf("unlink %d rmdir %d\n", unlink(path), rmdir(dir));
    return 0;
}
