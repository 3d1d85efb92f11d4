// Escape attempts from inside `trapeze run --root R`: each must fail while work inside the root succeeds.
// argv[1] is the secret's host path (outside R); the secret's content starts with "SECRET".
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int checks;
static void report(const char *name, int ok) { checks++; printf("%s: %s\n", name, ok ? "ok" : "FAIL"); }

/* True when the path cannot be read as the secret. */
static int sealed(const char *path) {
    char buffer[16] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 1;
    read(fd, buffer, 6);
    close(fd);
    return strncmp(buffer, "SECRET", 6) != 0;
}

static long open2(int dirfd, const char *path, unsigned long long resolve);

/* True when the path, relative to a directory descriptor, cannot be read as the secret. */
static int sealed_at(int dirfd, const char *path) {
    char buffer[16] = {0};
    int fd = openat(dirfd, path, O_RDONLY);
    if (fd < 0) return 1;
    read(fd, buffer, 6);
    close(fd);
    return strncmp(buffer, "SECRET", 6) != 0;
}

static int send_fds(int sock, const int *fds, int count) {
    char byte = 'f';
    struct iovec io = { .iov_base = &byte, .iov_len = 1 };
    union { char space[CMSG_SPACE(8 * sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = CMSG_SPACE(count * sizeof(int)) };
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET; header->cmsg_type = SCM_RIGHTS; header->cmsg_len = CMSG_LEN(count * sizeof(int));
    memcpy(CMSG_DATA(header), fds, count * sizeof(int));
    return sendmsg(sock, &message, 0) == 1 ? 0 : -1;
}

static int receive_fds(int sock, int *fds, int count) {
    char byte;
    struct iovec io = { .iov_base = &byte, .iov_len = 1 };
    union { char space[CMSG_SPACE(8 * sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr message = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space };
    if (recvmsg(sock, &message, 0) != 1) return -1;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (!header || header->cmsg_type != SCM_RIGHTS || header->cmsg_len != CMSG_LEN(count * sizeof(int))) return -1;
    memcpy(fds, CMSG_DATA(header), count * sizeof(int));
    return 0;
}

static int unix_connect(const char *path, int abstract) {
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    strncpy(address.sun_path + (abstract ? 1 : 0), path, sizeof address.sun_path - 2);
    socklen_t length = offsetof(struct sockaddr_un, sun_path) + strlen(path) + (abstract ? 1 : 0);
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    int result = connect(sock, (struct sockaddr *)&address, length);
    int saved = errno;
    close(sock);
    errno = saved;
    return result;
}

/* Another guest process opens descriptors inside the root and passes them over a socket bound in /tmp. */
static void fd_passing(const char *host_socket, const char *abstract_name) {
    unlink("/tmp/pass.sock");
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = { .sun_family = AF_UNIX, .sun_path = "/tmp/pass.sock" };
    report("guest socket binds inside the root", bind(listener, (struct sockaddr *)&address, sizeof address) == 0 && listen(listener, 1) == 0);
    pid_t child = fork();
    if (child == 0) {
        int sock = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(sock, (struct sockaddr *)&address, sizeof address) != 0) _exit(2);
        int fds[5] = { open("/tmp", O_PATH | O_DIRECTORY), open("/", O_RDONLY | O_DIRECTORY), open("/dev/shm", O_PATH),
                       open("/ro", O_RDONLY | O_DIRECTORY), open("/ro/file", O_RDONLY) };
        _exit(send_fds(sock, fds, 5) == 0 ? 0 : 3);
    }
    int sock = accept(listener, NULL, NULL);
    int fds[5] = { -1, -1, -1, -1, -1 };
    int received = sock >= 0 && receive_fds(sock, fds, 5) == 0;
    int status = 0; waitpid(child, &status, 0);
    report("guest socket inside the root connects and passes descriptors", received && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int path_fd = fds[0], root_fd = fds[1], shm_fd = fds[2], ro_fd = fds[3], ro_file = fds[4];
    struct stat probe;
    report("passed O_PATH fd names /tmp", fstat(path_fd, &probe) == 0 && S_ISDIR(probe.st_mode) && faccessat(path_fd, "../etc/os-release", R_OK, 0) == 0);
    report("passed O_PATH fd openat dotdot", sealed_at(path_fd, "../secret") && sealed_at(path_fd, "../../../../secret"));
    report("passed root fd openat dotdot", sealed_at(root_fd, "../secret") && sealed_at(root_fd, "../../../secret"));
    report("passed root fd reads inside", !sealed_at(root_fd, "etc/os-release") || faccessat(root_fd, "etc/os-release", R_OK, 0) == 0);
    report("passed tmpfs fd openat dotdot", sealed_at(shm_fd, "../../secret") && sealed_at(shm_fd, "../../../../../secret"));
    char text[256] = {0}, link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", path_fd);
    readlink(link, text, sizeof text - 1);
    report("passed fd shows a guest path", strcmp(text, "/tmp") == 0);
    char through[128];
    snprintf(through, sizeof through, "/proc/self/fd/%d/../secret", path_fd);
    int sealed_proc = sealed(through);
    snprintf(through, sizeof through, "/proc/self/fd/%d/../../../secret", root_fd);
    report("passed fd through /proc/self/fd dotdot", sealed_proc && sealed(through));
    report("passed fd openat2 beneath", open2(path_fd, "../etc/os-release", RESOLVE_BENEATH) < 0 && errno == EXDEV);
    report("passed fd openat2 in root", open2(path_fd, "../../../secret", RESOLVE_IN_ROOT) < 0 && errno == ENOENT);
    report("passed read-only bind fd refuses writes", openat(ro_fd, "file", O_WRONLY) < 0 && errno == EROFS && write(ro_file, "x", 1) < 0 && errno == EBADF);
    report("passed read-only bind fd dotdot", sealed_at(ro_fd, "../secret") && sealed_at(ro_fd, "../../secret"));
    int here = open(".", O_RDONLY | O_DIRECTORY);
    fchdir(root_fd); for (int i = 0; i < 10; i++) chdir("..");
    char cwd[256] = {0}; getcwd(cwd, sizeof cwd);
    report("passed fd fchdir then dotdot", strcmp(cwd, "/") == 0 && sealed("secret") && sealed("../secret"));
    fchdir(path_fd); chdir("../..");
    getcwd(cwd, sizeof cwd);
    report("passed O_PATH fd fchdir then dotdot", strcmp(cwd, "/") == 0 && sealed("../../secret"));
    fchdir(here); close(here);
    for (int i = 0; i < 5; i++) close(fds[i]);
    unlink("/tmp/pass-link"); symlink("/tmp/pass.sock", "/tmp/pass-link");
    report("connect through a symlink inside the root", unix_connect("/tmp/pass-link", 0) == 0);
    close(sock); close(listener);
    if (host_socket) { // a host process listens outside the root: no path reaches it
        report("connect to host socket path", unix_connect(host_socket, 0) < 0 && errno == ENOENT);
        char up[256]; snprintf(up, sizeof up, "/../../..%s", host_socket);
        report("connect to host socket through dotdot", unix_connect(up, 0) < 0 && errno == ENOENT);
        snprintf(up, sizeof up, "/proc/self/root/..%s", host_socket);
        report("connect to host socket through proc root", unix_connect(up, 0) < 0 && errno == ENOENT);
        symlink(host_socket, "/tmp/host-sock-link");
        report("connect to host socket through a symlink", unix_connect("/tmp/host-sock-link", 0) < 0 && errno == ENOENT);
    }
    if (abstract_name)
        report("connect to host abstract socket", unix_connect(abstract_name, 1) < 0 && errno == ECONNREFUSED);
}

static long open2(int dirfd, const char *path, unsigned long long resolve) {
    struct open_how how = { .flags = O_RDONLY, .resolve = resolve };
    return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static volatile int stop;
static void *swapper(void *unused) {
    (void)unused;
    while (!stop) {
        rename("/tmp/swap-dir", "/tmp/swap");
        rename("/tmp/swap", "/tmp/swap-dir");
        rename("/tmp/swap-link", "/tmp/swap");
        rename("/tmp/swap", "/tmp/swap-link");
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *secret = argv[1];
    char up[4096];
    snprintf(up, sizeof up, "%s", secret);
    char *slash = strrchr(up, '/'); *slash = 0; // the secret's directory on the host
    report("open host path", sealed(secret));
    report("dotdot relative", sealed("../secret"));
    report("dotdot absolute", sealed("/../secret"));
    report("dotdot chain", sealed("/../../../../../../../../secret"));
    report("dotdot inside chain", sealed("/tmp/../../tmp/../../secret"));
    chdir("/"); for (int i = 0; i < 20; i++) chdir("..");
    char cwd[256]; getcwd(cwd, sizeof cwd);
    report("chdir dotdot stays at root", strcmp(cwd, "/") == 0 && sealed("secret"));
    symlink("/../secret", "/tmp/l-abs");
    report("absolute symlink out", sealed("/tmp/l-abs"));
    symlink("../../../../secret", "/tmp/l-rel");
    report("relative symlink out", sealed("/tmp/l-rel"));
    symlink(secret, "/tmp/l-host");
    report("symlink to host path", sealed("/tmp/l-host"));
    symlink(up, "/tmp/l-hostdir");
    report("symlink to host directory", sealed("/tmp/l-hostdir/secret"));
    report("proc self root", sealed("/proc/self/root/../secret"));
    char text[256] = {0}; readlink("/proc/self/root", text, sizeof text - 1);
    report("proc self root reads /", strcmp(text, "/") == 0);
    report("proc self cwd", sealed("/proc/self/cwd/../../secret"));
    report("proc 1 root", sealed("/proc/1/root/secret"));
    if (argc > 2) { // a host process outside the root (the test runner): /proc must not show it
        char outside[256];
        snprintf(outside, sizeof outside, "/proc/%s/cwd", argv[2]);
        struct stat probe;
        report("proc PID cwd of a host process", stat(outside, &probe) != 0);
        snprintf(outside, sizeof outside, "/proc/%s/root%s", argv[2], secret);
        report("proc PID root of a host process", sealed(outside));
    }
    report("dev dotdot", sealed("/dev/../../secret") && sealed("/dev/shm/../../../secret"));
    symlink("/../../secret", "/dev/shm/out");
    report("symlink out of a tmpfs", sealed("/dev/shm/out"));
    report("rename out of a tmpfs EXDEV", ({ int f = open("/dev/shm/x", O_CREAT | O_WRONLY, 0600); close(f); rename("/dev/shm/x", "/tmp/x") == -1 && errno == EXDEV; }));
    report("hard link out of a tmpfs EXDEV", link("/dev/shm/x", "/tmp/x") == -1 && errno == EXDEV);
    report("dev fd escape", sealed("/dev/fd/../../secret"));
    report("hard link to host path", link(secret, "/tmp/hard") != 0);
    report("hard link through dotdot", link("/../secret", "/tmp/hard2") != 0);
    int fd = open("/tmp/mine", O_CREAT | O_WRONLY | O_TRUNC, 0644); write(fd, "mine\n", 5); close(fd);
    rename("/tmp/mine", "/../../moved-out");
    report("rename across the boundary stays inside", access("/moved-out", F_OK) == 0);
    mkdir("/../made-out", 0755);
    report("mkdir above the root stays inside", access("/made-out", F_OK) == 0);
    int tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
    report("openat2 beneath dotdot", open2(tmp, "../etc/os-release", RESOLVE_BENEATH) < 0 && errno == EXDEV);
    report("openat2 beneath absolute", open2(tmp, "/etc/os-release", RESOLVE_BENEATH) < 0 && errno == EXDEV);
    report("openat2 beneath symlink", open2(tmp, "l-abs", RESOLVE_BENEATH) < 0 && errno == EXDEV);
    long inroot = open2(tmp, "../../../secret", RESOLVE_IN_ROOT);
    report("openat2 in root", inroot < 0 && errno == ENOENT);
    report("openat2 no symlinks", open2(tmp, "l-rel", RESOLVE_NO_SYMLINKS) < 0 && errno == ELOOP);
    report("openat2 no magic links", open2(AT_FDCWD, "/proc/self/root/etc/os-release", RESOLVE_NO_MAGICLINKS) < 0 && errno == ELOOP);
    report("openat2 no xdev", open2(AT_FDCWD, "/proc/self/status", RESOLVE_NO_XDEV) < 0 && errno == EXDEV);
    report("openat2 beneath and in root", open2(tmp, "x", RESOLVE_BENEATH | RESOLVE_IN_ROOT) < 0 && errno == EINVAL);
    symlink("/tmp/loop-b", "/tmp/loop-a"); symlink("/tmp/loop-a", "/tmp/loop-b");
    report("symlink loop", open("/tmp/loop-a", O_RDONLY) < 0 && errno == ELOOP);
    report("O_NOFOLLOW on a link", open("/tmp/l-rel", O_RDONLY | O_NOFOLLOW) < 0 && errno == ELOOP);
    report("read-only bind refuses writes", open("/ro/file", O_WRONLY) < 0 && errno == EROFS);
    report("read-only bind refuses creat", open("/ro/new", O_CREAT | O_WRONLY, 0644) < 0 && errno == EROFS);
    report("read-only bind refuses unlink", unlink("/ro/file") < 0 && errno == EROFS);
    report("rename out of a bind", rename("/ro/file", "/tmp/file") < 0 && errno == EXDEV);
    report("read-only bind reads", !sealed("/ro/file") || access("/ro/file", R_OK) == 0);
    mkdir("/tmp/swap-dir", 0755);
    symlink(up, "/tmp/swap-link");
    pthread_t thread; pthread_create(&thread, NULL, swapper, NULL);
    int leaked = 0;
    for (int i = 0; i < 300; i++) leaked |= !sealed("/tmp/swap/secret");
    stop = 1; pthread_join(thread, NULL);
    report("symlink swapped during open", !leaked);
    const char name[] = "/tmp/caf\xe9";
    fd = open(name, O_CREAT | O_WRONLY, 0644); close(fd);
    int found = 0; DIR *dir = opendir("/tmp"); struct dirent *entry;
    while ((entry = readdir(dir))) found |= strcmp(entry->d_name, "caf\xe9") == 0;
    closedir(dir);
    report("non-UTF-8 name round-trips", found && access(name, F_OK) == 0);
    fd_passing(argc > 3 ? argv[3] : NULL, argc > 4 ? argv[4] : NULL);
    if (geteuid() == 0) {
        int outside = open("/", O_RDONLY | O_DIRECTORY);
        report("chroot", chroot("/tmp") == 0);
        chdir("/"); chdir("../../..");
        report("chroot then dotdot", sealed("secret") && sealed("/../../secret") && access("caf\xe9", F_OK) == 0);
        fchdir(outside); // an old descriptor still reaches the old root, which is inside R
        report("fchdir after chroot stays in R", sealed("../../../secret") && sealed("../secret"));
    }
    fd = open("/inside", O_CREAT | O_RDWR | O_TRUNC, 0600);
    write(fd, "inside\n", 7); lseek(fd, 0, SEEK_SET);
    char back[8] = {0}; read(fd, back, 7); close(fd);
    report("inside read and write", strcmp(back, "inside\n") == 0);
    printf("checks: %d\n", checks);
    return 0;
}
