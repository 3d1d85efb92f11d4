/* Checks /proc/self against what the process knows about itself: each line prints "yes" on
   Linux, so the differential test holds Trapeze's /proc to the same facts. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static char buffer[1 << 20];

static const char *slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return "";
    size_t length = 0;
    ssize_t got;
    while ((got = read(fd, buffer + length, sizeof buffer - 1 - length)) > 0) length += got;
    close(fd);
    buffer[length] = 0;
    return buffer;
}

static void check(const char *what, int ok) { printf("%-52s %s\n", what, ok ? "yes" : "no"); }

/* The maps line whose range holds address, copied into line. */
static int mapping_of(unsigned long address, char *line, size_t size) {
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return 0;
    int found = 0;
    while (!found && fgets(line, size, maps)) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx", &start, &end) == 2 && address >= start && address < end) found = 1;
    }
    fclose(maps);
    line[strcspn(line, "\n")] = 0;
    return found;
}

static long field(const char *text, const char *name) {
    const char *at = strstr(text, name);
    return at ? atol(at + strlen(name)) : -1;
}

int main(int argc, char **argv) {
    char exe[4096] = {0}, line[4096], expected[4096];
    check("readlink /proc/self/exe is absolute", readlink("/proc/self/exe", exe, sizeof exe - 1) > 0 && exe[0] == '/');
    snprintf(expected, sizeof expected, "%d", getpid());
    char self[64] = {0};
    check("readlink /proc/self is the pid", readlink("/proc/self", self, sizeof self - 1) > 0 && strcmp(self, expected) == 0);

    check("main lies in an r-xp mapping of the executable",
          mapping_of((unsigned long)&main, line, sizeof line) && strstr(line, " r-xp ") && strstr(line, exe) && line[strlen(line) - strlen(exe) - 1] == ' ');
    int local;
    check("a local lies in [stack], rw-p", mapping_of((unsigned long)&local, line, sizeof line) && strstr(line, "rw-p") && strstr(line, "[stack]"));
    check("AT_SYSINFO_EHDR lies in [vdso], r-xp", mapping_of(getauxval(AT_SYSINFO_EHDR), line, sizeof line) && strstr(line, "r-xp") && strstr(line, "[vdso]"));
    void *heap = malloc(100);
    check("a small malloc lies in [heap] or an anonymous mapping", mapping_of((unsigned long)heap, line, sizeof line) && strstr(line, "rw-p"));

    const char *status = slurp("/proc/self/status");
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    char name[32];
    snprintf(name, sizeof name, "Name:\t%.15s\n", base);
    check("status: Name is the program's name", strncmp(status, name, strlen(name)) == 0);
    check("status: Pid and PPid", field(status, "\nPid:\t") == getpid() && field(status, "\nPPid:\t") == getppid());
    check("status: Tgid is the pid, Threads 1", field(status, "\nTgid:\t") == getpid() && field(status, "\nThreads:\t") == 1);
    check("status: Uid is the user", field(status, "\nUid:\t") == (long)getuid());
    check("status: VmSize is there", field(status, "\nVmSize:\t") > 0);

    const char *stat_line = slurp("/proc/self/stat");
    snprintf(expected, sizeof expected, "%d (%.15s) R %d ", getpid(), base, getppid());
    check("stat: pid (comm) R ppid", strncmp(stat_line, expected, strlen(expected)) == 0);

    int length = 0;
    int fd = open("/proc/self/cmdline", O_RDONLY);
    length = read(fd, buffer, sizeof buffer);
    close(fd);
    int same = length > 0;
    for (int i = 0, at = 0; same && i < argc; at += strlen(argv[i]) + 1, i++) same = strcmp(buffer + at, argv[i]) == 0;
    check("cmdline is argv, NUL-separated", same);
    check("comm is the program's name", strncmp(slurp("/proc/self/comm"), base, 15) == 0);

    int file = open("/etc/hostname", O_RDONLY);
    char link[64], target[4096] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", file);
    check("readlink /proc/self/fd/N names the file", readlink(link, target, sizeof target - 1) > 0 && strcmp(target, "/etc/hostname") == 0);
    DIR *fds = opendir("/proc/self/fd");
    int listed = 0, standard = 0;
    for (struct dirent *entry; fds && (entry = readdir(fds));) {
        if (atoi(entry->d_name) == file && entry->d_type == DT_LNK) listed = 1;
        if (strcmp(entry->d_name, "0") == 0 || strcmp(entry->d_name, "1") == 0 || strcmp(entry->d_name, "2") == 0) standard++;
    }
    if (fds) closedir(fds);
    check("/proc/self/fd lists the descriptor and 0 1 2", listed && standard == 3);
    struct stat original, reopened, followed;
    snprintf(link, sizeof link, "/dev/fd/%d", file);
    int again = open(link, O_RDONLY);
    fstat(file, &original);
    fstat(again, &reopened);
    check("open /dev/fd/N reopens the same file", again >= 0 && again != file && original.st_ino == reopened.st_ino);
    check("stat /proc/self/fd/N follows to the file", stat(target, &followed) == 0 && followed.st_ino == original.st_ino);
    char standard_input[64] = {0};
    check("/dev/stdin is a link to /proc/self/fd/0",
          readlink("/dev/stdin", standard_input, sizeof standard_input - 1) > 0 && strcmp(standard_input, "/proc/self/fd/0") == 0);
    struct stat self_link;
    check("lstat /proc/self/exe is a link, stat a file",
          lstat("/proc/self/exe", &self_link) == 0 && S_ISLNK(self_link.st_mode) && stat("/proc/self/exe", &followed) == 0 && S_ISREG(followed.st_mode));
    check("/proc/self/maps is a 0444 regular file of size 0",
          stat("/proc/self/maps", &followed) == 0 && S_ISREG(followed.st_mode) && (followed.st_mode & 0777) == 0444 && followed.st_size == 0);
    check("/proc/self is a directory", stat("/proc/self", &followed) == 0 && S_ISDIR(followed.st_mode));
    check("/proc/self/nonexistent is ENOENT", access("/proc/self/nonexistent", F_OK) != 0);
    int maps = open("/proc/self/maps", O_WRONLY); /* root may open it; nobody may write it */
    check("writing /proc/self/maps is refused", maps < 0 || write(maps, "x", 1) < 0);

    const char *cpuinfo = slurp("/proc/cpuinfo");
    int processors = 0;
    for (const char *at = cpuinfo; (at = strstr(at, "processor\t: ")); at++) processors++;
    check("cpuinfo lists the online CPUs", processors == sysconf(_SC_NPROCESSORS_ONLN));
    check("cpuinfo flags include sse2 and sse4_2", strstr(cpuinfo, " sse2") && strstr(cpuinfo, " sse4_2"));
    struct sysinfo info;
    sysinfo(&info);
    long total = field(slurp("/proc/meminfo"), "MemTotal:");
    check("meminfo MemTotal agrees with sysinfo", total > 0 && labs(total * 1024 - (long)(info.totalram * info.mem_unit)) < 1024 * 1024);
    check("sysinfo counts at least this process", info.procs >= 1);
    check("/proc/uptime reads", strlen(slurp("/proc/uptime")) > 3);
    int generated = open("/proc/self/status", O_RDONLY | O_NONBLOCK);
    check("fcntl F_GETFL on a /proc file", (fcntl(generated, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_NONBLOCK);
    check("fcntl F_SETFL on a /proc file", fcntl(generated, F_SETFL, 0) == 0 && (fcntl(generated, F_GETFL) & O_NONBLOCK) == 0);
    struct stat by_descriptor;
    check("fstat on a /proc file: regular, 0444", fstat(generated, &by_descriptor) == 0 && S_ISREG(by_descriptor.st_mode) && (by_descriptor.st_mode & 0777) == 0444);
    DIR *root = opendir("/proc");
    int found_self = 0;
    for (struct dirent *entry; root && (entry = readdir(root));) found_self |= strcmp(entry->d_name, "self") == 0;
    check("/proc lists self", found_self);
    int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY);
    int relative = openat(proc_fd, "self/comm", O_RDONLY);
    char comm[32] = {0};
    check("openat relative to a /proc descriptor", relative >= 0 && read(relative, comm, sizeof comm - 1) > 0 && strncmp(comm, base, strlen(comm) - 1) == 0);
    int auxv = open("/proc/self/auxv", O_RDONLY);
    unsigned long pairs[256][2] = {{0}};
    ssize_t auxv_length = read(auxv, pairs, sizeof pairs);
    int auxv_agrees = auxv_length > 0 && auxv_length % 16 == 0, saw_end = 0;
    for (int i = 0; auxv_agrees && i < auxv_length / 16; i++) {
        if (pairs[i][0] == AT_NULL) { saw_end = 1; break; }
        if (pairs[i][0] == AT_PAGESZ || pairs[i][0] == AT_ENTRY || pairs[i][0] == AT_SYSINFO_EHDR || pairs[i][0] == AT_PHDR)
            auxv_agrees = getauxval(pairs[i][0]) == pairs[i][1];
    }
    check("/proc/self/auxv is the auxiliary vector", auxv_agrees && saw_end);
    char renamed[32] = {0};
    prctl(PR_SET_NAME, "a-name-longer-than-fifteen", 0, 0, 0);
    prctl(PR_GET_NAME, renamed, 0, 0, 0);
    check("PR_SET_NAME keeps 15 bytes", strcmp(renamed, "a-name-longer-t") == 0);
    check("comm and status show the new name",
          strcmp(slurp("/proc/self/comm"), "a-name-longer-t\n") == 0 && strncmp(slurp("/proc/self/status"), "Name:\ta-name-longer-t\n", 22) == 0);
    return 0;
}
