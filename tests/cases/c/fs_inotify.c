// inotify(7) over files in a host directory: the events guest calls raise on a watched directory
// and on watched files (names, IN_ISDIR, rename cookies, merging of repeated events, IN_DELETE_SELF
// then IN_IGNORED), the flags of inotify_add_watch (IN_ONLYDIR, IN_MASK_ADD, IN_MASK_CREATE,
// IN_ONESHOT, IN_DONT_FOLLOW), struct inotify_event's name padding, a read too small for the next
// event (EINVAL), FIONREAD, poll and epoll readiness, IN_NONBLOCK and IN_CLOEXEC, the queue's
// overflow (IN_Q_OVERFLOW), and the errors of the three calls.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char directory[256], other[256];
static int watches[8];
static const char *labels[8];
static int nwatches;
static unsigned first_cookie;

static void label(int wd, const char *name)
{
    watches[nwatches] = wd;
    labels[nwatches++] = name;
}

static const char *who(int wd)
{
    for (int i = nwatches - 1; i >= 0; i--)
        if (watches[i] == wd) return labels[i];
    return wd == -1 ? "-1" : "?";
}

static void show_mask(unsigned mask)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"}, {IN_CLOSE_WRITE, "CLOSE_WRITE"},
        {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
        {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
        {IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
    };
    const char *separator = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (mask & names[i].bit) {
            printf("%s%s", separator, names[i].name);
            separator = "|";
            mask &= ~names[i].bit;
        }
    }
    if (mask) printf("%s0x%x", separator, mask);
}

// Reads and prints every queued event (the descriptor is non-blocking); returns how many.
static int drain(int fd)
{
    char buffer[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int count = 0;
    for (;;) {
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got < 0) {
            if (errno != EAGAIN) printf("  read: %s\n", strerror(errno));
            return count;
        }
        for (char *at = buffer; at < buffer + got;) {
            struct inotify_event *event = (struct inotify_event *)at;
            printf("  %s ", who(event->wd));
            show_mask(event->mask);
            if (event->cookie) {
                if (!first_cookie) first_cookie = event->cookie;
                printf(" cookie%s", event->cookie == first_cookie ? "=first" : "=other");
            }
            if (event->len) printf(" \"%s\" len=%u", event->name, event->len);
            printf("\n");
            at += sizeof *event + event->len;
            count++;
        }
    }
}

static void step(const char *what) { printf("%s\n", what); }

// The result of a call and, when it failed, its errno (evaluated in this order).
#define SHOW(what, call) \
    do { \
        errno = 0; \
        long result_ = (long)(call); \
        printf("%s: %ld %s\n", what, result_, result_ < 0 ? strerror(errno) : ""); \
    } while (0)

static char *in(const char *base, const char *name)
{
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 512, "%s/%s", base, name);
    return path;
}

static void errors(int fd)
{
    SHOW("init1(bad flag)", inotify_init1(1));
    SHOW("add_watch(bad fd)", inotify_add_watch(999, directory, IN_ALL_EVENTS));
    int pipes[2];
    pipe(pipes);
    SHOW("add_watch(a pipe)", inotify_add_watch(pipes[0], directory, IN_ALL_EVENTS));
    close(pipes[0]);
    close(pipes[1]);
    SHOW("add_watch(mask 0)", inotify_add_watch(fd, directory, 0));
    SHOW("add_watch(flags, no events)", inotify_add_watch(fd, directory, IN_ONLYDIR));
    SHOW("add_watch(missing)", inotify_add_watch(fd, in(directory, "missing"), IN_ALL_EVENTS));
    SHOW("add_watch(bad pointer)", inotify_add_watch(fd, (char *)8, IN_ALL_EVENTS));
    SHOW("add_watch(MASK_ADD|MASK_CREATE)", inotify_add_watch(fd, directory, IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
    close(open(in(directory, "plain"), O_CREAT | O_WRONLY, 0644));
    SHOW("add_watch(ONLYDIR on a file)", inotify_add_watch(fd, in(directory, "plain"), IN_MODIFY | IN_ONLYDIR));
    symlink("plain", in(directory, "link"));
    int wd = inotify_add_watch(fd, in(directory, "link"), IN_ATTRIB | IN_DONT_FOLLOW);
    int target = inotify_add_watch(fd, in(directory, "plain"), IN_ATTRIB);
    printf("DONT_FOLLOW watches the link itself: %d\n", wd != target && wd > 0 && target > 0);
    SHOW("MASK_CREATE on a watched file", inotify_add_watch(fd, in(directory, "plain"), IN_ATTRIB | IN_MASK_CREATE));
    SHOW("rm_watch link", inotify_rm_watch(fd, wd));
    SHOW("rm_watch target", inotify_rm_watch(fd, target));
    SHOW("rm_watch again", inotify_rm_watch(fd, wd));
    SHOW("rm_watch(-1)", inotify_rm_watch(fd, -1));
    SHOW("rm_watch(not inotify)", inotify_rm_watch(0, 1));
    label(wd, "link");
    label(target, "plain");
    drain(fd);
    unlink(in(directory, "link"));
    unlink(in(directory, "plain"));
}

static void directory_events(int fd)
{
    int wd = inotify_add_watch(fd, directory, IN_ALL_EVENTS);
    label(wd, "dir");
    step("create, write twice, close");
    int file = open(in(directory, "a"), O_CREAT | O_WRONLY, 0644);
    write(file, "hello", 5);
    write(file, "hello", 5);
    close(file);
    drain(fd);
    step("open, read, close");
    file = open(in(directory, "a"), O_RDONLY);
    char buffer[16];
    read(file, buffer, sizeof buffer);
    read(file, buffer, sizeof buffer); // at the end: nothing read, no event
    close(file);
    drain(fd);
    step("chmod, truncate, utimes");
    chmod(in(directory, "a"), 0600);
    truncate(in(directory, "a"), 2);
    utimensat(AT_FDCWD, in(directory, "a"), NULL, 0);
    drain(fd);
    step("O_TRUNC, pwrite, writev, pread, one time at a time");
    file = open(in(directory, "a"), O_RDWR | O_TRUNC);
    pwrite(file, "abc", 3, 0);
    struct iovec pieces[2] = {{"de", 2}, {"f", 1}};
    writev(file, pieces, 2);
    pread(file, buffer, 2, 0);
    struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    futimens(file, times);
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_nsec = UTIME_NOW;
    futimens(file, times);
    times[1].tv_nsec = UTIME_OMIT;
    futimens(file, times);
    fchown(file, -1, -1);
    fchown(file, getuid(), -1);
    close(file);
    drain(fd);
    step("list the directory");
    DIR *listing = opendir(directory);
    while (readdir(listing)) {}
    closedir(listing);
    drain(fd);
    step("rename within the directory");
    rename(in(directory, "a"), in(directory, "b"));
    drain(fd);
    step("mkdir, open it, rmdir");
    mkdir(in(directory, "sub"), 0755);
    int sub = open(in(directory, "sub"), O_RDONLY | O_DIRECTORY);
    close(sub);
    rmdir(in(directory, "sub"));
    drain(fd);
    step("link, symlink, unlink both");
    link(in(directory, "b"), in(directory, "hard"));
    symlink("b", in(directory, "soft"));
    unlink(in(directory, "hard"));
    unlink(in(directory, "soft"));
    drain(fd);
    step("mknod a fifo");
    mkfifo(in(directory, "fifo"), 0600);
    unlink(in(directory, "fifo"));
    drain(fd);
    step("names of 1, 15, 16 and 17 bytes");
    const char *names[] = {"x", "fifteen-bytes-1", "sixteen-bytes-12", "seventeen-bytes-1"};
    for (int i = 0; i < 4; i++) {
        mkdir(in(directory, names[i]), 0755);
        rmdir(in(directory, names[i]));
    }
    drain(fd);
    step("a child process writes");
    pid_t child = fork();
    if (child == 0) {
        int out = open(in(directory, "b"), O_WRONLY | O_APPEND);
        write(out, "child", 5);
        close(out);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    drain(fd);
}

static void file_events(int fd)
{
    step("a watched file: write, chmod, rename, unlink while open, close");
    int wd = inotify_add_watch(fd, in(directory, "b"), IN_ALL_EVENTS);
    label(wd, "file");
    int file = open(in(directory, "b"), O_WRONLY);
    write(file, "x", 1);
    fchmod(file, 0644);
    ftruncate(file, 0);
    rename(in(directory, "b"), in(directory, "c"));
    unlink(in(directory, "c"));
    drain(fd);
    step("the last close");
    close(file);
    drain(fd);
    SHOW("rm_watch after IN_IGNORED", inotify_rm_watch(fd, wd));
}

static void moves(int fd)
{
    step("move between two watched directories, with the file watched");
    int wd = inotify_add_watch(fd, other, IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE);
    label(wd, "other");
    close(open(in(directory, "m"), O_CREAT | O_WRONLY, 0644));
    int self = inotify_add_watch(fd, in(directory, "m"), IN_MOVE_SELF);
    label(self, "m");
    drain(fd);
    first_cookie = 0;
    rename(in(directory, "m"), in(other, "m"));
    drain(fd);
    step("a rename over an existing file");
    close(open(in(directory, "victim"), O_CREAT | O_WRONLY, 0644));
    int victim = inotify_add_watch(fd, in(directory, "victim"), IN_ALL_EVENTS);
    label(victim, "victim");
    first_cookie = 0;
    rename(in(other, "m"), in(directory, "victim"));
    drain(fd);
    unlink(in(directory, "victim"));
    drain(fd);
    inotify_rm_watch(fd, wd);
    drain(fd);
}

static void flags(int fd)
{
    step("IN_MASK_ADD keeps the watch descriptor and adds to the mask");
    int dir = inotify_add_watch(fd, directory, IN_CREATE);
    int again = inotify_add_watch(fd, directory, IN_DELETE | IN_MASK_ADD);
    printf("same wd: %d\n", dir == again);
    close(open(in(directory, "f"), O_CREAT | O_WRONLY, 0644));
    unlink(in(directory, "f"));
    drain(fd);
    step("without IN_MASK_ADD the mask is replaced");
    inotify_add_watch(fd, directory, IN_DELETE);
    close(open(in(directory, "f"), O_CREAT | O_WRONLY, 0644));
    unlink(in(directory, "f"));
    drain(fd);
    step("IN_ONESHOT: one event, then IN_IGNORED");
    inotify_add_watch(fd, directory, IN_CREATE | IN_ONESHOT);
    close(open(in(directory, "f"), O_CREAT | O_WRONLY, 0644));
    close(open(in(directory, "g"), O_CREAT | O_WRONLY, 0644));
    unlink(in(directory, "f"));
    unlink(in(directory, "g"));
    drain(fd);
    SHOW("rm_watch after the shot", inotify_rm_watch(fd, dir));
}

static void reading(void)
{
    step("reading: blocking, too small, FIONREAD, poll, epoll");
    int fd = inotify_init1(IN_CLOEXEC);
    printf("cloexec %d nonblock %d\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    int wd = inotify_add_watch(fd, directory, IN_CREATE | IN_DELETE);
    label(wd, "dir");
    struct pollfd ready = {fd, POLLIN, 0};
    printf("poll before: %d\n", poll(&ready, 1, 0));
    int epoll = epoll_create1(0);
    struct epoll_event interest = {.events = EPOLLIN, .data.fd = fd}, got;
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &interest);
    printf("epoll before: %d\n", epoll_wait(epoll, &got, 1, 0));
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        mkdir(in(directory, "later"), 0755); // the parent's read waits for this
        _exit(0);
    }
    char buffer[256] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t length = read(fd, buffer, sizeof buffer);
    struct inotify_event *event = (struct inotify_event *)buffer;
    printf("blocking read %zd: ", length);
    show_mask(event->mask);
    printf(" %s\n", event->name);
    waitpid(child, NULL, 0);
    rmdir(in(directory, "later"));
    close(open(in(directory, "longer-name"), O_CREAT | O_WRONLY, 0644));
    int available = -1;
    ioctl(fd, FIONREAD, &available);
    printf("FIONREAD %d\n", available);
    int polled = poll(&ready, 1, 0);
    printf("poll after: %d revents %#x\n", polled, ready.revents);
    int waited = epoll_wait(epoll, &got, 1, 0);
    printf("epoll after: %d events %#x\n", waited, got.events);
    SHOW("read(0 bytes)", read(fd, buffer, 0));
    SHOW("read(16 bytes)", read(fd, buffer, sizeof(struct inotify_event)));
    length = read(fd, buffer, sizeof(struct inotify_event) + 16); // the first event (name 16), not the second
    printf("read one event: %zd ", length);
    show_mask(event->mask);
    printf(" %s\n", event->name);
    SHOW("read a bad buffer", read(fd, (char *)8, sizeof buffer));
    ioctl(fd, FIONREAD, &available);
    printf("FIONREAD %d\n", available);
    unlink(in(directory, "longer-name"));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    drain(fd);
    SHOW("read empty non-blocking", read(fd, buffer, sizeof buffer));
    close(epoll);
    close(fd);
}

static void overflow(void)
{
    step("overflow: more events than max_queued_events");
    FILE *limit = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
    int maximum = 16384;
    if (limit) {
        fscanf(limit, "%d", &maximum);
        fclose(limit);
    }
    int fd = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(fd, directory, IN_OPEN | IN_CLOSE_NOWRITE);
    char *path = in(directory, "busy");
    close(open(path, O_CREAT | O_WRONLY, 0644));
    for (int i = 0; i < maximum / 2 + 10; i++)
        close(open(path, O_RDONLY));
    long total = 0, overflows = 0, last_wd = 0;
    unsigned last_mask = 0;
    char buffer[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t got;
    while ((got = read(fd, buffer, sizeof buffer)) > 0) {
        for (char *at = buffer; at < buffer + got;) {
            struct inotify_event *event = (struct inotify_event *)at;
            total++;
            overflows += (event->mask & IN_Q_OVERFLOW) != 0;
            last_mask = event->mask;
            last_wd = event->wd;
            at += sizeof *event + event->len;
        }
    }
    printf("events %s maximum + 1, overflows %ld, last wd %ld mask ", total == maximum + 1 ? "==" : "!=", overflows, last_wd);
    show_mask(last_mask);
    printf("\n");
    unlink(path);
    close(fd);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(directory, sizeof directory, "%s/watched", argc > 1 ? argv[1] : "/tmp");
    snprintf(other, sizeof other, "%s/other", argc > 1 ? argv[1] : "/tmp");
    mkdir(directory, 0755);
    mkdir(other, 0755);
    int fd = inotify_init1(IN_NONBLOCK);
    printf("init1: %d cloexec %d nonblock %d\n", fd >= 0, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    char buffer[64];
    SHOW("read empty", read(fd, buffer, sizeof buffer));
    errors(fd);
    directory_events(fd);
    file_events(fd);
    moves(fd);
    close(fd);
    fd = inotify_init1(IN_NONBLOCK);
    flags(fd);
    close(fd);
    reading();
    overflow();
    int plain = inotify_init();
    printf("inotify_init: %d flags %d\n", plain >= 0, fcntl(plain, F_GETFL) & O_NONBLOCK);
    close(plain);
    rmdir(directory);
    rmdir(other);
    return 0;
}
