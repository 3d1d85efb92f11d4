/*
 * What `trapeze record` must keep and `trapeze replay` give back: clocks, random bytes, pids and
 * tids, a counter four threads race on, and a host file (argv[1]) read, stat'ed and listed with its
 * directory. The tests delete the file before the replay.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile long counter;

__attribute__((noinline)) static void pause_a_little(void)
{
    __asm__ volatile("" ::: "memory");
}

static void *work(void *argument)
{
    for (int i = 0; i < 200000; i++)
    {
        long seen = counter;
        pause_a_little();
        counter = seen + 1;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned int random;
    getrandom(&random, sizeof random, 0);
    printf("thread %ld: tid %ld, monotonic %ld.%09ld, random %08x\n", (long)argument, (long)syscall(SYS_gettid), (long)now.tv_sec,
           now.tv_nsec, random);
    return NULL;
}

int main(int argc, char **argv)
{
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    unsigned char bytes[8];
    getrandom(bytes, sizeof bytes, 0);
    printf("pid %d, parent %d, realtime %ld.%09ld, random %02x%02x%02x%02x%02x%02x%02x%02x\n", getpid(), getppid(), (long)real.tv_sec,
           real.tv_nsec, bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]);
    if (argc > 1)
    {
        struct stat status;
        if (stat(argv[1], &status) == 0)
            printf("%s: %lld bytes, mode %o, mtime %lld\n", argv[1], (long long)status.st_size, status.st_mode & 07777, (long long)status.st_mtime);
        int fd = open(argv[1], O_RDONLY);
        char text[256] = "";
        ssize_t count = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
        if (count >= 0)
            text[count] = 0;
        printf("read %zd bytes: %s", count, text);
        if (fd >= 0)
            close(fd);
        char directory[512];
        snprintf(directory, sizeof directory, "%s", argv[1]);
        char *slash = strrchr(directory, '/');
        if (slash != NULL)
        {
            *slash = 0;
            DIR *listing = opendir(directory);
            int entries = 0;
            for (struct dirent *entry; listing != NULL && (entry = readdir(listing)) != NULL;)
                entries++;
            if (listing != NULL)
                closedir(listing);
            printf("%d entries beside it\n", entries);
        }
    }
    pthread_t threads[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, work, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    printf("counter %ld of %d\n", counter, 4 * 200000);
    return 0;
}
