/* Terminal ioctls; run under a pseudo-terminal by TerminalTests, and through pipes by the differential tests. */
#include <stdio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
int main(void) {
    struct termios t; struct winsize w;
    printf("isatty(1)=%d tcgetattr=%d winsize=%d\n", isatty(1), tcgetattr(1, &t), ioctl(1, TIOCGWINSZ, &w));
    return 0;
}
