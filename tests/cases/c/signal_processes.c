// Signals between processes: default actions seen by wait, SIGCHLD's siginfo, stop and continue,
// SIGPIPE, alarm, abort, process groups, EINTR against SA_RESTART, nanosleep's remaining time, timers.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by %d%s\n", what, WTERMSIG(status), WCOREDUMP(status) ? " (core)" : "");
    else if (WIFSTOPPED(status))
        printf("%s: stopped by %d\n", what, WSTOPSIG(status));
    else if (WIFCONTINUED(status))
        printf("%s: continued\n", what);
}

static int child_of(void (*body)(void))
{
    pid_t pid = fork();
    if (pid == 0)
    {
        body();
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return status;
}

static void do_abort(void) { abort(); }
static void do_raise_term(void) { raise(SIGTERM); }
static void do_raise_segv(void) { raise(SIGSEGV); }
static void do_alarm(void) { alarm(1); pause(); }
static void do_pipe(void)
{
    // The test runner (.NET) ignores SIGPIPE, and an ignored signal stays ignored across exec.
    signal(SIGPIPE, SIG_DFL);
    int fds[2];
    pipe(fds);
    close(fds[0]);
    write(fds[1], "x", 1);
}
static void do_pipe_ignored(void)
{
    signal(SIGPIPE, SIG_IGN);
    int fds[2];
    pipe(fds);
    close(fds[0]);
    ssize_t written = write(fds[1], "x", 1);
    printf("write with SIGPIPE ignored: %zd %s\n", written, strerror(errno));
    fflush(stdout);
}

static volatile sig_atomic_t child_code, child_status, child_pid, handled;
static void on_child(int sig, siginfo_t *info, void *context)
{
    (void)sig; (void)context;
    child_code = info->si_code;
    child_status = info->si_status;
    child_pid = info->si_pid;
}
static void on_alarm(int sig) { (void)sig; handled++; }

static volatile int ticks;
static void on_tick(int sig, siginfo_t *info, void *context)
{
    (void)sig; (void)context;
    if (info->si_code == SI_TIMER && info->si_value.sival_int == 77)
        ticks++;
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static volatile int thread_signal;
static void on_thread_signal(int sig) { thread_signal = sig; }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    report("abort", child_of(do_abort));
    report("raise SIGTERM", child_of(do_raise_term));
    report("raise SIGSEGV", child_of(do_raise_segv));
    report("alarm", child_of(do_alarm));
    report("SIGPIPE", child_of(do_pipe));
    report("SIGPIPE ignored", child_of(do_pipe_ignored));

    // SIGCHLD's siginfo at exit and when killed.
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_child;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(3);
    int status;
    waitpid(pid, &status, 0);
    printf("SIGCHLD exit: code %d (CLD_EXITED %d) status %d pid ok %d\n", child_code, CLD_EXITED, child_status, child_pid == pid);
    pid = fork();
    if (pid == 0)
    {
        pause();
        _exit(0);
    }
    kill(pid, SIGUSR1);
    waitpid(pid, &status, 0);
    printf("SIGCHLD killed: code %d (CLD_KILLED %d) status %d\n", child_code, CLD_KILLED, child_status);
    report("killed by SIGUSR1", status);

    // Stop and continue, seen by waitpid.
    pid = fork();
    if (pid == 0)
    {
        for (int i = 0; i < 200; i++)
            usleep(10000);
        _exit(5);
    }
    kill(pid, SIGSTOP);
    waitpid(pid, &status, WUNTRACED);
    report("after SIGSTOP", status);
    printf("SIGCHLD stop: code %d (CLD_STOPPED %d) status %d\n", child_code, CLD_STOPPED, child_status);
    kill(pid, SIGCONT);
    waitpid(pid, &status, WCONTINUED);
    report("after SIGCONT", status);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    report("after SIGKILL", status);

    // kill of a process group.
    signal(SIGCHLD, SIG_DFL);
    pid_t group = fork();
    if (group == 0)
    {
        setpgid(0, 0);
        if (fork() == 0)
        {
            pause();
            _exit(1);
        }
        pause();
        _exit(1);
    }
    setpgid(group, group);
    usleep(100000);
    printf("kill -pgid: %d\n", kill(-group, SIGTERM));
    waitpid(group, &status, 0);
    report("group leader", status);

    // EINTR without SA_RESTART, a restarted read with it.
    int fds[2];
    pipe(fds);
    sa.sa_handler = on_alarm;
    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval timer = { { 0, 0 }, { 0, 100000 } };
    setitimer(ITIMER_REAL, &timer, NULL);
    char c;
    ssize_t got = read(fds[0], &c, 1);
    printf("read without SA_RESTART: %zd %s handled %d\n", got, got < 0 ? strerror(errno) : "", (int)handled);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    pid = fork();
    if (pid == 0)
    {
        usleep(300000);
        write(fds[1], "y", 1);
        _exit(0);
    }
    setitimer(ITIMER_REAL, &timer, NULL);
    got = read(fds[0], &c, 1);
    printf("read with SA_RESTART: %zd '%c' handled %d\n", got, got == 1 ? c : '?', (int)handled);
    waitpid(pid, &status, 0);

    // nanosleep tells how much was left.
    setitimer(ITIMER_REAL, &timer, NULL);
    struct timespec request = { 2, 0 }, left = { 0, 0 };
    int r = nanosleep(&request, &left);
    printf("nanosleep: %d %s, left between 1.5 and 2 s: %d\n", r, strerror(errno), left.tv_sec == 1 && left.tv_nsec > 500000000);
    struct itimerval now;
    getitimer(ITIMER_REAL, &now);
    printf("getitimer disarmed: %ld %ld\n", (long)now.it_value.tv_sec, (long)now.it_value.tv_usec);
    unsigned first = alarm(10);
    printf("alarm: %u then %u\n", first, alarm(0));

    // timer_create with SIGEV_SIGNAL: five ticks.
    sa.sa_sigaction = on_tick;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGRTMIN, &sa, NULL);
    struct sigevent event = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN, .sigev_value.sival_int = 77 };
    timer_t id;
    timer_create(CLOCK_MONOTONIC, &event, &id);
    struct itimerspec spec = { { 0, 20000000 }, { 0, 20000000 } };
    timer_settime(id, 0, &spec, NULL);
    while (ticks < 5)
        pause();
    struct itimerspec current;
    timer_gettime(id, &current);
    printf("timer: ticks %d, interval %ld ns, overrun %d\n", ticks >= 5, current.it_interval.tv_nsec, timer_getoverrun(id) >= 0);
    timer_delete(id);

    // SIGEV_NONE: only read with timer_gettime.
    event.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_REALTIME, &event, &id);
    struct itimerspec once = { { 0, 0 }, { 5, 0 } };
    timer_settime(id, 0, &once, NULL);
    timer_gettime(id, &current);
    printf("SIGEV_NONE: %ld s left\n", (long)current.it_value.tv_sec);
    timer_delete(id);

    // pthread_kill reaches the thread; a process signal is taken by a thread that does not block it.
    signal(SIGUSR1, on_thread_signal);
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    usleep(50000);
    pthread_kill(thread, SIGUSR1);
    usleep(50000);
    printf("pthread_kill: %d\n", thread_signal);
    pthread_cancel(thread);
    void *result;
    pthread_join(thread, &result);
    printf("pthread_cancel: %d\n", result == PTHREAD_CANCELED);
    return 0;
}
