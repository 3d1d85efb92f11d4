/* Directories: mkdir, readdir (getdents64), rename, stat of entries, rmdir, chdir and getcwd. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>
static int compare(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }
int main(void) {
    char dir[] = "/tmp/trapeze-dirs-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    printf("chdir %d\n", chdir(dir));
    for (int i = 0; i < 5; i++) { char name[16]; snprintf(name, sizeof name, "file%d", i); close(open(name, O_CREAT | O_WRONLY, 0600)); }
    printf("mkdir %d\n", mkdir("sub", 0755));
    printf("rename %d\n", rename("file0", "sub/moved"));
    DIR *d = opendir("."); char *names[16]; int n = 0; struct dirent *e;
    while ((e = readdir(d)) && n < 16) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, compare);
    for (int i = 0; i < n; i++) { struct stat st; lstat(names[i], &st); printf("%s %s\n", names[i], S_ISDIR(st.st_mode) ? "dir" : "file"); }
    char cwd[256]; getcwd(cwd, sizeof cwd); printf("cwd matches %d\n", strcmp(cwd, dir) == 0);
    printf("rmdir nonempty %d\n", rmdir("sub"));
    unlink("sub/moved"); rmdir("sub");
    for (int i = 1; i < 5; i++) { char name[16]; snprintf(name, sizeof name, "file%d", i); unlink(name); }
    chdir("/"); printf("rmdir %d\n", rmdir(dir));
    return 0;
}
