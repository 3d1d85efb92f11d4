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
#include <sys/stat.h>
#include <sys/syscall.h>
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
