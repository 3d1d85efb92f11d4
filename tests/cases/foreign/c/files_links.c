/* Links and modes: symlink, readlink, link counts, lstat vs stat, chmod, access, utimes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
int main(void) {
    char dir[] = "/tmp/trapeze-links-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir)) return 1;
    int fd = open("target", O_CREAT | O_WRONLY, 0644); write(fd, "12345", 5); close(fd);
    printf("symlink %d link %d\n", symlink("target", "soft"), link("target", "hard"));
    char buf[64] = {0}; printf("readlink %zd %s\n", readlink("soft", buf, sizeof buf), buf);
    struct stat st, lst; stat("soft", &st); lstat("soft", &lst);
    printf("stat size %ld nlink %ld; lstat link %d\n", (long)st.st_size, (long)st.st_nlink, S_ISLNK(lst.st_mode));
    printf("chmod %d\n", chmod("target", 0600)); stat("hard", &st); printf("mode %o\n", st.st_mode & 0777);
    printf("access R %d X %d\n", access("target", R_OK), access("target", X_OK));
    struct timeval times[2] = {{1000000000, 0}, {1234567890, 0}};
    printf("utimes %d\n", utimes("target", times)); stat("target", &st); printf("mtime %ld atime %ld\n", (long)st.st_mtime, (long)st.st_atime);
    unlink("soft"); unlink("hard"); unlink("target"); chdir("/"); rmdir(dir);
    printf("gone %d\n", access(dir, F_OK));
    return 0;
}
