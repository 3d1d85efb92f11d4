// Under `trapeze run --max-open-files 20`: open fails with EMFILE at descriptor 20, and the limit
// cannot be raised.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int main(void) {
    int last = -1, error = 0;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) {
            error = errno;
            break;
        }
        last = fd;
    }
    printf("last descriptor %d, then %s\n", last, strerror(error));
    struct rlimit limit = { 100, 100 };
    printf("raising RLIMIT_NOFILE: %s\n", setrlimit(RLIMIT_NOFILE, &limit) == 0 ? "allowed" : strerror(errno));
    return 0;
}
