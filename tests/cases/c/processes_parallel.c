// Processes whose guest code runs at once (each alone in an address space that shares no memory):
// a signal still stops a child that spins without system calls, every time; children spinning side
// by side each finish with their own answer; and processes that share MAP_SHARED memory keep their
// atomic increments whole.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { Signals = 300, Increments = 2000000 };

static volatile sig_atomic_t handled;
static int acknowledge = -1;

static void on_signal(int signal)
{
    (void)signal;
    handled++;
    char one = 1;
    write(acknowledge, &one, 1);
}

// Each signal reaches a child that never makes a system call, or the parent would wait forever.
static void signals_to_a_spinning_child(void)
{
    int acks[2];
    if (pipe(acks) != 0)
        return;
    pid_t child = fork();
    if (child == 0)
    {
        acknowledge = acks[1];
        struct sigaction action = {.sa_handler = on_signal};
        sigaction(SIGUSR1, &action, NULL);
        char ready = 0;
        write(acks[1], &ready, 1);
        while (handled < Signals)
        {
        }
        _exit(0);
    }
    char byte;
    int received = read(acks[0], &byte, 1) == 1 ? 0 : -1;
    for (int i = 0; i < Signals && received == i; i++)
        if (kill(child, SIGUSR1) == 0 && read(acks[0], &byte, 1) == 1)
            received++;
    int status;
    waitpid(child, &status, 0);
    printf("signals handled by the spinning child: %d of %d, exit %d\n", received, Signals, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    close(acks[0]);
    close(acks[1]);
}

static unsigned long collatz_steps(unsigned long limit)
{
    unsigned long total = 0;
    for (unsigned long n = 1; n < limit; n++)
        for (unsigned long x = n; x != 1; total++)
            x = x % 2 ? 3 * x + 1 : x / 2;
    return total;
}

// Two children compute at once and send their results through one pipe each.
static void children_computing_side_by_side(void)
{
    unsigned long limits[2] = {200000, 150000};
    int results[2][2];
    pid_t children[2];
    for (int i = 0; i < 2; i++)
    {
        if (pipe(results[i]) != 0)
            return;
        children[i] = fork();
        if (children[i] == 0)
        {
            unsigned long steps = collatz_steps(limits[i]);
            write(results[i][1], &steps, sizeof steps);
            _exit(0);
        }
    }
    for (int i = 0; i < 2; i++)
    {
        unsigned long steps = 0;
        read(results[i][0], &steps, sizeof steps);
        waitpid(children[i], NULL, 0);
        printf("child %d: %lu Collatz steps below %lu\n", i, steps, limits[i]);
        close(results[i][0]);
        close(results[i][1]);
    }
}

// MAP_SHARED memory between processes: lock-prefixed increments of both stay atomic.
static void atomic_increments_in_shared_memory(void)
{
    long *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counter == MAP_FAILED)
        return;
    pid_t children[2];
    for (int i = 0; i < 2; i++)
    {
        children[i] = fork();
        if (children[i] == 0)
        {
            for (int n = 0; n < Increments; n++)
                __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
            _exit(0);
        }
    }
    for (int i = 0; i < 2; i++)
        waitpid(children[i], NULL, 0);
    printf("shared counter after two processes: %ld (expected %d)\n", *counter, 2 * Increments);
    munmap(counter, 4096);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signals_to_a_spinning_child();
    children_computing_side_by_side();
    atomic_increments_in_shared_memory();
    return 0;
}
