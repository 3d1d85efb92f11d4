/* Odd /proc and /dev/fd paths: stat, lstat, open, open O_DIRECTORY, readlink and access must fail or succeed
   with the errno Linux gives (trailing slashes, "..", doubled slashes, missing pids, links to files). */
#include <fcntl.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
int main(){ const char *paths[] = {"/proc/self/fd/0/..", "/proc/self/task/abc", "/proc/999999/maps", "/proc/self/fd/-1", "/proc/self/../self/maps", "/proc//self///maps", "/proc/self/exe/", "/proc/self/maps/", "/proc/self/fd/", "/proc/self/fd/1/x", "/proc/..", "/proc/../proc/self/comm", "/proc/self/cwd/etc/hostname", "/proc/thread-self/comm", "/proc/self/task/", "/proc/mounts", "/proc/sys/kernel/ostype", "/proc/self/root/etc/hostname", "/dev/fd/", "/dev/fd/99", "/dev/stdin/", "/proc/self/fd/0/", "/proc/self/mountinfo", "/proc/0", "/proc/00001", "/proc/self/exe/..", 0};
 for (int i = 0; paths[i]; i++) { struct stat s; int r = stat(paths[i], &s); int e = errno; int l = lstat(paths[i], &s); int le = errno; int fd = open(paths[i], O_RDONLY); int oe = errno; int dfd = open(paths[i], O_RDONLY|O_DIRECTORY); int de = errno; char buf[256]; ssize_t rl = readlink(paths[i], buf, sizeof buf); int re = errno; int ac = access(paths[i], R_OK|W_OK);
  printf("%-32s stat %d/%d lstat %d/%d open %d/%d dir %d/%d readlink %zd/%d access %d\n", paths[i], r, r?e:0, l, l?le:0, fd>=0, fd<0?oe:0, dfd>=0, dfd<0?de:0, rl>0?1:rl, rl<0?re:0, ac);
  if (fd>=0) { char b[64]; read(fd,b,sizeof b); close(fd);} if (dfd>=0) { DIR *d = fdopendir(dfd); while (d && readdir(d)); if (d) closedir(d);} }
 return 0; }
