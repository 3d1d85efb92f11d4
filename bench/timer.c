// bench/timer: times several commands in interleaved rounds, so that each sees the same machine load.
//   timer ROUNDS WARMUP -- COMMAND1 ARGS... ';;' COMMAND2 ARGS... ';;' ...
// Prints one line per command: the median wall time in seconds and the peak resident set in KiB
// over its timed runs, or "failed 0" when a run exits non-zero. Output of the commands is discarded.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MaxCommands = 8, MaxRounds = 1000 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

// Runs argv once; returns the wall time, or -1 if it did not exit with status 0.
static double run_once(char **argv, long *peak_kib)
{
    double start = now();
    pid_t child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage usage;
    if (child < 0 || wait4(child, &status, 0, &usage) != child)
        return -1;
    double elapsed = now() - start;
    if (usage.ru_maxrss > *peak_kib)
        *peak_kib = usage.ru_maxrss;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? elapsed : -1;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: timer ROUNDS WARMUP -- COMMAND ARGS... [';;' COMMAND ARGS...]...\n");
        return 2;
    }
    int rounds = atoi(argv[1]), warmup = atoi(argv[2]);
    if (rounds < 1 || rounds > MaxRounds || warmup < 0)
        return 2;
    char **commands[MaxCommands];
    int count = 0;
    commands[count++] = &argv[4];
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], ";;") == 0) {
            argv[i] = NULL;
            if (count == MaxCommands || i + 1 >= argc)
                return 2;
            commands[count++] = &argv[i + 1];
        }
    }
    static double times[MaxCommands][MaxRounds];
    long peak[MaxCommands] = {0};
    int failed[MaxCommands] = {0};
    for (int round = 0; round < warmup; round++)
        for (int c = 0; c < count; c++) {
            long ignored = 0;
            run_once(commands[c], &ignored);
        }
    for (int round = 0; round < rounds; round++)
        for (int c = 0; c < count; c++)
            if (!failed[c] && (times[c][round] = run_once(commands[c], &peak[c])) < 0)
                failed[c] = 1;
    for (int c = 0; c < count; c++) {
        if (failed[c]) {
            printf("failed 0\n");
            continue;
        }
        qsort(times[c], (size_t)rounds, sizeof(double), compare);
        double median = rounds % 2 ? times[c][rounds / 2] : (times[c][rounds / 2 - 1] + times[c][rounds / 2]) / 2;
        printf("%.6f %ld\n", median, peak[c]);
    }
    return 0;
}
