// bench: title=Syscalls: getpid x 10M
// bench: kind=syscall
// bench: args=10000000
// bench: quick-args=100000
// bench: strace-args=1000000
// bench: strace-scale=10
// Makes N getpid system calls (through syscall(2): glibc does not cache getpid, but be explicit).
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    long sum = 0;
    for (long i = 0; i < n; i++)
        sum += syscall(SYS_getpid);
    printf("%ld getpid calls\n", n);
    return sum == 0;
}
