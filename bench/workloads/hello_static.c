// bench: title=Start-up: static hello
// bench: kind=startup
// bench: runs=30
// The smallest useful program: start, print one line, exit.
#include <stdio.h>

int main(void)
{
    puts("hello");
    return 0;
}
