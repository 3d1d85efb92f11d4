/* Writes through a null pointer: SIGSEGV. */
#include <stdio.h>

int *volatile nowhere;

int main(void)
{
    puts("about to fault");
    fflush(stdout);
    *nowhere = 42;
    puts("not reached");
    return 0;
}
