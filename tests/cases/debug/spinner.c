/* Never ends on its own: one thread spins, the main thread sleeps (the gdb tests interrupt it). */
#include <pthread.h>
#include <unistd.h>

volatile unsigned long spins;

static void *spin(void *argument)
{
    for (;;)
        spins++;
    return argument;
}

int main(void)
{
    pthread_t thread;
    pthread_create(&thread, NULL, spin, NULL);
    for (;;)
        sleep(100);
}
