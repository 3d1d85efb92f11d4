#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
int main(int argc, char **argv) {
    printf("hello from %d args\n", argc);
    double x = 2.0; volatile double y = sqrt(x) * 3.5;
    printf("float %.6f\n", y);
    char *p = malloc(1 << 20); memset(p, 'x', 1 << 20); printf("malloc %c\n", p[12345]);
    struct stat st; printf("stat %d size>0 %d\n", stat("/etc/passwd", &st), st.st_size > 0);
    int fd = open("/etc/passwd", O_RDONLY); char buf[5] = {0}; read(fd, buf, 4); printf("read %s\n", buf);
    printf("lseek %d\n", lseek(fd, 0, SEEK_END) > 0);
    return 0;
}
