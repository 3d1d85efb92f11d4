// Calls a stop and SIGCONT interrupt without running a handler go on as if nothing happened
// (nanosleep through restart_syscall, towards its first deadline; pause; a pipe read without
// SA_RESTART); with a SIGCONT handler they return EINTR. kill's permission rules.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long elapsed_ms(struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void on_signal(int sig) { (void)sig; }

// Runs body in a child that reports through a pipe; the parent stops and continues it meanwhile.
static void stopped_and_continued(const char *what, void (*body)(int out), int poke)
{
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0)
    {
        close(fds[0]);
        body(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    usleep(100000);
    kill(pid, SIGSTOP);
    int status;
    waitpid(pid, &status, WUNTRACED);
    usleep(100000);
    kill(pid, SIGCONT);
    if (poke)
    {
        usleep(100000);
        kill(pid, SIGUSR1);
    }
    char line[200];
    ssize_t got = read(fds[0], line, sizeof line - 1);
    line[got > 0 ? got : 0] = 0;
    waitpid(pid, &status, 0);
    printf("%s: %s", what, line);
    close(fds[0]);
}

static void say(int out, const char *text)
{
    write(out, text, strlen(text));
}

static void sleep_relative(int out)
{
    struct timespec start, request = { 0, 400000000 }, left = { 9, 9 };
    clock_gettime(CLOCK_MONOTONIC, &start);
    int r = nanosleep(&request, &left);
    char text[120];
    snprintf(text, sizeof text, "%d %s, slept the whole time %d\n", r, r ? strerror(errno) : "", elapsed_ms(&start) >= 395);
    say(out, text);
}

static void sleep_with_handler(int out)
{
    signal(SIGCONT, on_signal);
    struct timespec request = { 5, 0 }, left = { 0, 0 };
    int r = nanosleep(&request, &left);
    char text[120];
    snprintf(text, sizeof text, "%d %s, left between 4 and 5 s %d\n", r, r ? strerror(errno) : "", left.tv_sec == 4);
    say(out, text);
}

static void sleep_absolute(int out)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 400000000;
    if (until.tv_nsec >= 1000000000)
    {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char text[120];
    int late = now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec);
    snprintf(text, sizeof text, "%d, reached the deadline %d\n", r, late);
    say(out, text);
}

static void pause_until_handled(int out)
{
    signal(SIGUSR1, on_signal);
    int r = pause();
    char text[120];
    snprintf(text, sizeof text, "%d %s\n", r, strerror(errno));
    say(out, text);
}

static void read_without_restart(int out)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL); // no SA_RESTART: only the SIGUSR1 handler ends the read
    int fds[2];
    pipe(fds);
    char c;
    ssize_t r = read(fds[0], &c, 1);
    char text[120];
    snprintf(text, sizeof text, "%zd %s\n", r, strerror(errno));
    say(out, text);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    stopped_and_continued("nanosleep across a stop", sleep_relative, 0);
    stopped_and_continued("nanosleep with a SIGCONT handler", sleep_with_handler, 0);
    stopped_and_continued("clock_nanosleep TIMER_ABSTIME across a stop", sleep_absolute, 0);
    stopped_and_continued("pause across a stop, then SIGUSR1", pause_until_handled, 1);
    stopped_and_continued("read across a stop, then SIGUSR1", read_without_restart, 1);

    // kill's permission rules: an unprivileged sender signals only processes of its own user.
    pid_t parent = getpid();
    int fds[2];
    pipe(fds);
    pid_t other = fork();
    if (other == 0)
    {
        pause();
        _exit(0);
    }
    pid_t pid = fork();
    if (pid == 0)
    {
        char text[160];
        if (getuid() != 0 || setgid(1000) != 0 || setuid(1000) != 0)
            snprintf(text, sizeof text, "kill: not run as root\n");
        else
        {
            int self = kill(getpid(), 0);
            int to_root = kill(parent, 0);
            int err = errno;
            int to_root_usr = kill(other, SIGTERM);
            int err2 = errno;
            int group = kill(0, 0); // the parent is in the group too, but one member that may be signalled is enough
            snprintf(text, sizeof text, "kill: self %d, root's process %d %s, SIGTERM %d %s, own group %d\n",
                     self, to_root, strerror(err), to_root_usr, strerror(err2), group);
        }
        write(fds[1], text, strlen(text));
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    char line[200];
    ssize_t got = read(fds[0], line, sizeof line - 1);
    line[got > 0 ? got : 0] = 0;
    printf("%s", line);
    kill(other, SIGKILL);
    waitpid(other, &status, 0);
    printf("other child: killed by %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return 0;
}
