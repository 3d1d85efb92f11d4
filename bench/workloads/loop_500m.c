// bench: title=CPU: 500M-iteration loop
// bench: kind=cpu
// bench: args=500000000
// bench: quick-args=5000000
// A tight dependent-arithmetic loop: the raw speed of translated code with no memory traffic.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 500000000;
    unsigned long x = 1;
    for (long i = 0; i < n; i++)
        x = x * 6364136223846793005ul + (unsigned long)i;
    printf("%lu\n", x);
    return 0;
}
