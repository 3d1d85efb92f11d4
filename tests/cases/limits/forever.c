// Never ends by itself: children that sleep and a parent that spins without a system call. Under
// `trapeze run --timeout 1` the whole tree is killed and Trapeze exits 124.
#include <unistd.h>

int main(void) {
    for (int i = 0; i < 3; i++) {
        if (fork() == 0) {
            for (;;)
                pause();
        }
    }
    for (volatile unsigned long spin = 0;; spin++) {
    }
}
