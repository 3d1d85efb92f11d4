/* The calls 32-bit libcs still make the old way: System V IPC (through ipc() on i386), the old getdents. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
struct message { long type; char text[32]; };
static int compare(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }
int main(void) {
    int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    char *area = shmat(shm, 0, 0); strcpy(area, "before");
    if (fork() == 0) { char *child = shmat(shm, 0, 0); strcpy(child, "written by the child"); shmdt(child); _exit(0); }
    wait(0); printf("shm '%s'\n", area); printf("detach %d\n", shmdt(area));
    printf("shm remove %d\n", shmctl(shm, IPC_RMID, 0));
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    struct sembuf up = {0, 2, 0}, down = {0, -1, 0};
    semop(sem, &up, 1); semop(sem, &down, 1);
    printf("semaphore %d\n", semctl(sem, 0, GETVAL));
    printf("sem remove %d\n", semctl(sem, 0, IPC_RMID));
    int queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct message out = {7, "queued"}, in = {0};
    msgsnd(queue, &out, sizeof out.text, 0);
    ssize_t received = msgrcv(queue, &in, sizeof in.text, 0, 0);
    printf("msgrcv %zd type %ld '%s'\n", received, in.type, in.text);
    printf("msg remove %d\n", msgctl(queue, IPC_RMID, 0));
#ifdef SYS_ipc
    /* ipc(SHMGET), ipc(SHMAT) with the address through a pointer, ipc(SHMDT), ipc(SHMCTL IPC_RMID). */
    long id = syscall(SYS_ipc, 23, IPC_PRIVATE, 8192, IPC_CREAT | 0600, 0, 0);
    unsigned long at = 0;
    long attach = syscall(SYS_ipc, 21, id, 0, &at, 0, 0);
    strcpy((char *)at, "through ipc");
    printf("ipc shmget %d shmat %ld '%s'\n", id >= 0, attach, (char *)at);
    printf("ipc shmdt %ld shmctl %ld\n", syscall(SYS_ipc, 22, 0, 0, 0, (void *)at, 0), syscall(SYS_ipc, 24, id, IPC_RMID, 0, 0, 0));
#else
    printf("ipc shmget 1 shmat 0 'through ipc'\nipc shmdt 0 shmctl 0\n");
#endif
#ifdef SYS_getdents
    int dir = open("/work", O_RDONLY | O_DIRECTORY);
    if (dir < 0) dir = open("/", O_RDONLY | O_DIRECTORY);
    char buffer[8192]; char *names[256]; int n = 0;
    long got;
    while ((got = syscall(SYS_getdents, dir, buffer, sizeof buffer)) > 0) {
        for (long at = 0; at < got; ) {
            unsigned short length = *(unsigned short *)(buffer + at + 8);
            if (n < 256) names[n++] = strdup(buffer + at + 10);
            at += length;
        }
    }
    qsort(names, n, sizeof *names, compare);
    int dot = 0, dotdot = 0; for (int i = 0; i < n; i++) { dot += !strcmp(names[i], "."); dotdot += !strcmp(names[i], ".."); }
    printf("getdents %ld entries %d with . %d and .. %d\n", got, n > 2, dot, dotdot);
#endif
    return 0;
}
