// bench: title=CPU: qsort of 10M ints
// bench: kind=cpu
// bench: args=10000000
// bench: quick-args=300000
// Sorts N pseudo-random ints with the C library's qsort and checks the order.
#include <stdio.h>
#include <stdlib.h>

static int compare(const void *a, const void *b) { int x = *(const int *)a, y = *(const int *)b; return (x > y) - (x < y); }

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    int *values = malloc(sizeof(int) * (size_t)n);
    unsigned seed = 42;
    for (long i = 0; i < n; i++) { seed = seed * 1103515245u + 12345u; values[i] = (int)(seed ^ (seed >> 13)); }
    qsort(values, (size_t)n, sizeof(int), compare);
    for (long i = 1; i < n; i++)
        if (values[i - 1] > values[i]) { printf("not sorted at %ld\n", i); return 1; }
    printf("sorted %ld ints, min %d max %d\n", n, values[0], values[n - 1]);
    return 0;
}
