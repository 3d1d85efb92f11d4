/* The gdb tests' plain program: a function to break at, a variable to watch, a write to catch. */
#include <stdio.h>
#include <unistd.h>

volatile long counter;
char message[32] = "hello from the debuggee";

int add(int a, int b)
{
    int sum = a + b;
    return sum;
}

int main(void)
{
    for (int i = 0; i < 3; i++)
        counter += add(i, 10);
    write(1, message, 23);
    write(1, "\n", 1);
    printf("counter=%ld\n", counter);
    return 0;
}
