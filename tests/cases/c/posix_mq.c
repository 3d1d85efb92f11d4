// POSIX message queues (mq_overview(7)): create and open by name, priorities, the errors of each
// call, O_NONBLOCK through mq_setattr, absolute timeouts, a receiver and a sender that block until
// another process acts, mq_notify's signal (SI_MESGQ, the sender's pid, sigev_value) and EBUSY
// (a receiver killed while it waited holds it back no more), poll, the text a read of the descriptor
// gives, close-on-exec, and unlink while open.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHOW(what, call) \
    do \
    { \
        long result_ = (call); \
        printf("%s: %ld %s\n", what, result_, result_ < 0 ? strerror(errno) : ""); \
    } while (0)

static volatile sig_atomic_t notified_code, notified_value, notified_by_child;
static pid_t child_pid;

static void on_notify(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)context;
    notified_code = info->si_code;
    notified_value = info->si_value.sival_int;
    notified_by_child = info->si_pid == child_pid;
}

static void on_alarm(int signal)
{
    (void)signal;
}

static struct timespec past(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_sec -= 1;
    return now;
}

static void show_attributes(const char *what, mqd_t queue)
{
    struct mq_attr attributes;
    if (mq_getattr(queue, &attributes) < 0)
    {
        printf("%s: mq_getattr %s\n", what, strerror(errno));
        return;
    }
    printf("%s: flags %s maxmsg %ld msgsize %ld curmsgs %ld\n", what, attributes.mq_flags & O_NONBLOCK ? "O_NONBLOCK" : "0",
        attributes.mq_maxmsg, attributes.mq_msgsize, attributes.mq_curmsgs);
}

static void receive_all(mqd_t queue)
{
    char text[64];
    unsigned priority;
    ssize_t length;
    struct timespec now = past();
    while ((length = mq_timedreceive(queue, text, sizeof text, &priority, &now)) >= 0)
        printf("received \"%.*s\" priority %u\n", (int)length, text, priority);
    printf("then: %s\n", strerror(errno));
}

static void wait_child(pid_t child)
{
    int status;
    waitpid(child, &status, 0);
    printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void)
{
    char name[64];
    snprintf(name, sizeof name, "/trapeze-mq-%d", (int)getpid());
    struct mq_attr attributes = {.mq_maxmsg = 4, .mq_msgsize = 64};

    SHOW("open missing", mq_open(name, O_RDWR));
    mqd_t queue = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attributes);
    printf("create: %s\n", queue >= 0 ? "ok" : strerror(errno));
    SHOW("create again", mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attributes));
    SHOW("close-on-exec", fcntl(queue, F_GETFD));
    struct mq_attr bad = {.mq_maxmsg = 0, .mq_msgsize = 64};
    SHOW("create maxmsg 0", mq_open("/trapeze-mq-bad", O_RDWR | O_CREAT, 0600, &bad));
    show_attributes("new", queue);

    // Priorities: the highest first, and FIFO among equals.
    SHOW("send a/1", mq_send(queue, "a", 1, 1));
    SHOW("send b/5", mq_send(queue, "b", 1, 5));
    SHOW("send c/3", mq_send(queue, "c", 1, 3));
    SHOW("send empty/5", mq_send(queue, "", 0, 5));
    show_attributes("full", queue);
    char status[128] = {0};
    SHOW("read status", read(queue, status, sizeof status - 1));
    printf("status text: %s", status);
    struct pollfd ready = {queue, POLLIN | POLLOUT, 0};
    SHOW("poll full", poll(&ready, 1, 0));
    printf("revents %s%s\n", ready.revents & POLLIN ? "POLLIN " : "", ready.revents & POLLOUT ? "POLLOUT" : "");

    // Errors.
    char big[65] = {0};
    SHOW("send too long", mq_send(queue, big, sizeof big, 0));
    SHOW("send priority 32768", mq_send(queue, "x", 1, 32768));
    char small[63];
    SHOW("receive small buffer", mq_receive(queue, small, sizeof small, NULL));
    struct timespec invalid = {.tv_sec = 0, .tv_nsec = 2000000000};
    SHOW("receive invalid timeout", mq_timedreceive(queue, big, 64, NULL, &invalid));
    struct timespec before = past();
    SHOW("send full, timeout passed", mq_timedsend(queue, "x", 1, 0, &before));
    SHOW("send to a pipe", mq_send(1, "x", 1, 0));
    mqd_t reader = mq_open(name, O_RDONLY);
    SHOW("send on O_RDONLY", mq_send(reader, "x", 1, 0));

    struct mq_attr nonblocking = {.mq_flags = O_NONBLOCK}, old;
    SHOW("setattr O_NONBLOCK", mq_setattr(queue, &nonblocking, &old));
    printf("old flags %s maxmsg %ld\n", old.mq_flags & O_NONBLOCK ? "O_NONBLOCK" : "0", old.mq_maxmsg);
    SHOW("send full, O_NONBLOCK", mq_send(queue, "x", 1, 0));
    struct mq_attr wrong = {.mq_flags = O_APPEND};
    SHOW("setattr O_APPEND", mq_setattr(queue, &wrong, NULL));
    show_attributes("nonblocking", queue);
    receive_all(reader);
    SHOW("receive empty, O_NONBLOCK", mq_receive(queue, big, 64, NULL));
    struct mq_attr blocking = {.mq_flags = 0};
    mq_setattr(queue, &blocking, NULL);

    // A receiver that blocks until a child sends, and mq_notify's signal for the next message.
    struct sigaction action = {.sa_sigaction = on_notify, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &action, NULL);
    struct sigevent event = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1, .sigev_value.sival_int = 42};
    SHOW("notify", mq_notify(queue, &event));
    // A read goes on from the descriptor's offset: another descriptor reads the text from its start.
    SHOW("read status at its end", read(queue, status, sizeof status - 1));
    memset(status, 0, sizeof status);
    read(reader, status, sizeof status - 1);
    printf("registered: %s", strstr(status, "NOTIFY:0     SIGNO:10 ") ? "SIGEV_SIGNAL SIGUSR1\n" : status);
    fflush(stdout);
    sigset_t usr1, previous;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &previous);
    child_pid = fork();
    if (child_pid == 0)
    {
        SHOW("child notify (taken)", mq_notify(queue, &event));
        SHOW("child send", mq_send(queue, "from the child", 14, 7));
        fflush(stdout);
        _exit(0);
    }
    sigsuspend(&previous);
    sigprocmask(SIG_SETMASK, &previous, NULL);
    // The child prints first: the parent waits for it before it prints.
    wait_child(child_pid);
    printf("notified: code %s value %d by child %d\n", notified_code == SI_MESGQ ? "SI_MESGQ" : "other", (int)notified_value, (int)notified_by_child);
    receive_all(queue);
    SHOW("notify again", mq_notify(queue, &event));
    SHOW("notify off", mq_notify(queue, NULL));

    fflush(stdout);
    child_pid = fork();
    if (child_pid == 0)
    {
        usleep(50000);
        SHOW("child send late", mq_send(queue, "late", 4, 2));
        fflush(stdout);
        _exit(0);
    }
    char text[64];
    unsigned priority;
    ssize_t length = mq_receive(queue, text, sizeof text, &priority);
    wait_child(child_pid);
    printf("blocked receive: \"%.*s\" priority %u\n", (int)length, text, priority);

    // A sender that blocks on a full queue until the parent takes a message.
    for (int i = 0; i < 4; i++)
        mq_send(queue, "fill", 4, 0);
    fflush(stdout);
    child_pid = fork();
    if (child_pid == 0)
    {
        SHOW("child blocked send", mq_send(queue, "after", 5, 9));
        fflush(stdout);
        _exit(0);
    }
    usleep(50000);
    length = mq_receive(queue, text, sizeof text, &priority);
    wait_child(child_pid);
    printf("took \"%.*s\"\n", (int)length, text);
    receive_all(queue);

    // A signal without SA_RESTART interrupts a blocked receive.
    struct sigaction interrupt = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &interrupt, NULL);
    struct itimerval soon = {.it_value.tv_usec = 20000};
    setitimer(ITIMER_REAL, &soon, NULL);
    SHOW("receive interrupted", mq_receive(queue, text, sizeof text, NULL));

    // A receiver killed while it waits waits no more, so the next message raises the notification.
    fflush(stdout);
    pid_t doomed = fork();
    if (doomed == 0)
    {
        mq_receive(queue, text, sizeof text, NULL);
        _exit(0);
    }
    usleep(50000);
    kill(doomed, SIGKILL);
    waitpid(doomed, NULL, 0);
    notified_code = 0;
    SHOW("notify after a receiver was killed", mq_notify(queue, &event));
    SHOW("send", mq_send(queue, "ping", 4, 1));
    printf("notified: %s\n", notified_code == SI_MESGQ ? "yes" : "no");
    receive_all(queue);

    SHOW("unlink", mq_unlink(name));
    SHOW("unlink again", mq_unlink(name));
    SHOW("send after unlink", mq_send(queue, "still", 5, 0));
    show_attributes("after unlink", queue);
    SHOW("open after unlink", mq_open(name, O_RDWR));
    SHOW("close", mq_close(queue));
    SHOW("close reader", mq_close(reader));
    return 0;
}
