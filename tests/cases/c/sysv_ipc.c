// System V IPC between processes: shared memory (fork keeps it shared, another attach by key
// sees the same bytes, IPC_RMID while attached), semaphores (blocking semop between processes,
// SEM_UNDO at exit, semtimedop timeouts, GETALL/SETALL, EIDRM), message queues (types,
// MSG_EXCEPT, MSG_NOERROR, a blocked receiver).
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHOW(what, call) \
    do \
    { \
        long result_ = (call); \
        printf("%s: %ld %s\n", what, result_, result_ < 0 ? strerror(errno) : ""); \
    } while (0)

union semun
{
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static void wait_child(pid_t child)
{
    int status;
    waitpid(child, &status, 0);
    printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void shared_memory(void)
{
    key_t key = 0x40000000 | getpid();
    int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
    printf("shmget: %s\n", id >= 0 ? "ok" : strerror(errno));
    SHOW("shmget excl again", shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600));
    SHOW("shmget bigger", shmget(key, 20000, 0600));
    SHOW("shmget same key", shmget(key, 100, 0600) == id);
    SHOW("shmget missing", shmget(key + 1, 100, 0600));
    SHOW("shmget size 0", shmget(IPC_PRIVATE, 0, 0600));
    char *memory = shmat(id, NULL, 0);
    strcpy(memory, "from the parent");
    struct shmid_ds status;
    shmctl(id, IPC_STAT, &status);
    printf("size %zu attached %lu mode %o\n", (size_t)status.shm_segsz, (unsigned long)status.shm_nattch, status.shm_perm.mode & 0777);
    pid_t child = fork();
    if (child == 0)
    {
        printf("child sees: %s\n", memory);
        // A second attachment by key in the child shares the same pages.
        char *again = shmat(shmget(key, 0, 0), NULL, 0);
        strcpy(again + 100, "from the child");
        struct shmid_ds mine;
        shmctl(id, IPC_STAT, &mine);
        printf("child: attached %lu\n", (unsigned long)mine.shm_nattch);
        shmdt(again);
        _exit(0);
    }
    wait_child(child);
    printf("parent sees: %s\n", memory + 100);
    char *readonly = shmat(id, NULL, SHM_RDONLY);
    printf("read-only attachment sees: %s\n", readonly);
    SHOW("shmdt read-only", shmdt(readonly));
    SHOW("shmdt not attached", shmdt(memory + 4096));
    SHOW("shmat unaligned", (long)shmat(id, memory + 1, 0));
    SHOW("rmid while attached", shmctl(id, IPC_RMID, NULL));
    printf("still readable: %s\n", memory);
    SHOW("key gone", shmget(key, 0, 0));
    SHOW("shmdt", shmdt(memory));
    SHOW("stat after removal", shmctl(id, IPC_STAT, &status));
}

static void semaphores(void)
{
    int id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    printf("semget: %s\n", id >= 0 ? "ok" : strerror(errno));
    unsigned short values[2] = {0, 5};
    SHOW("setall", semctl(id, 0, SETALL, (union semun){.array = values}));
    SHOW("getval 1", semctl(id, 1, GETVAL));
    pid_t child = fork();
    if (child == 0)
    {
        // Wait for the parent's token, then answer on the second semaphore.
        struct sembuf take = {0, -1, 0};
        semop(id, &take, 1);
        printf("child got the token\n");
        struct sembuf give = {1, 10, 0};
        semop(id, &give, 1);
        _exit(0);
    }
    usleep(20000);
    while (semctl(id, 0, GETNCNT) != 1)
        usleep(1000);
    printf("one waiter for an increase\n");
    struct sembuf give = {0, 1, 0};
    // Results print after the child's lines, which the wake-up lets run at once.
    long given = semop(id, &give, 1);
    wait_child(child);
    printf("give: %ld\n", given);
    SHOW("getval 1 after child", semctl(id, 1, GETVAL));
    SHOW("getpid is child", semctl(id, 1, GETPID) == child);

    // SEM_UNDO: what an exiting process did is undone.
    child = fork();
    if (child == 0)
    {
        struct sembuf ops[2] = {{0, 3, SEM_UNDO}, {1, -15, SEM_UNDO}};
        semop(id, ops, 2);
        printf("child: %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));
        _exit(0);
    }
    wait_child(child);
    printf("after undo: %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));

    // All operations of a call happen at once or not at all.
    struct sembuf both[2] = {{0, -1, IPC_NOWAIT}, {1, -1, IPC_NOWAIT}};
    SHOW("atomic failure", semop(id, both, 2));
    printf("unchanged: %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));
    struct timespec brief = {0, 20 * 1000 * 1000};
    SHOW("semtimedop timeout", semtimedop(id, both, 1, &brief));
    struct sembuf zero = {1, 0, IPC_NOWAIT};
    SHOW("wait for zero", semop(id, &zero, 1));
    struct sembuf bad = {5, 1, 0};
    SHOW("bad number", semop(id, &bad, 1));
    SHOW("setval range", semctl(id, 0, SETVAL, (union semun){.val = 40000}));
    struct semid_ds status;
    SHOW("ipc_stat", semctl(id, 0, IPC_STAT, (union semun){.buf = &status}));
    printf("nsems %lu mode %o\n", (unsigned long)status.sem_nsems, status.sem_perm.mode & 0777);

    // Removal wakes a waiter with EIDRM.
    child = fork();
    if (child == 0)
    {
        struct sembuf take = {0, -100, 0};
        int result = semop(id, &take, 1);
        printf("child: %d %s\n", result, strerror(errno));
        _exit(0);
    }
    while (semctl(id, 0, GETNCNT) != 1)
        usleep(1000);
    long removed = semctl(id, 0, IPC_RMID);
    wait_child(child);
    printf("rmid: %ld\n", removed);
    SHOW("getval removed", semctl(id, 0, GETVAL));
}

struct message
{
    long type;
    char text[32];
};

static void messages(void)
{
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    printf("msgget: %s\n", id >= 0 ? "ok" : strerror(errno));
    const char *texts[] = {"one", "two", "three", "two again"};
    long types[] = {1, 2, 3, 2};
    for (int i = 0; i < 4; i++)
    {
        struct message m = {.type = types[i]};
        strcpy(m.text, texts[i]);
        msgsnd(id, &m, strlen(m.text) + 1, 0);
    }
    struct msqid_ds status;
    msgctl(id, IPC_STAT, &status);
    printf("qnum %lu bytes %lu\n", (unsigned long)status.msg_qnum, (unsigned long)status.__msg_cbytes);
    struct message m;
    SHOW("type 2", msgrcv(id, &m, sizeof m.text, 2, 0));
    printf("  %ld %s\n", m.type, m.text);
    SHOW("except 1", msgrcv(id, &m, sizeof m.text, 1, MSG_EXCEPT));
    printf("  %ld %s\n", m.type, m.text);
    SHOW("lowest up to 3", msgrcv(id, &m, sizeof m.text, -3, 0));
    printf("  %ld %s\n", m.type, m.text);
    SHOW("too small", msgrcv(id, &m, 2, 0, 0));
    SHOW("truncated", msgrcv(id, &m, 2, 0, MSG_NOERROR));
    SHOW("empty", msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT));
    m.type = 0;
    SHOW("type 0", msgsnd(id, &m, 1, 0));
    pid_t child = fork();
    if (child == 0)
    {
        struct message got;
        long n = msgrcv(id, &got, sizeof got.text, 7, 0);
        printf("child received %ld: %ld %s\n", n, got.type, got.text);
        _exit(0);
    }
    usleep(20000);
    struct message late = {.type = 7, .text = "late"};
    msgsnd(id, &late, 5, 0);
    wait_child(child);
    SHOW("rmid", msgctl(id, IPC_RMID, NULL));
    SHOW("send removed", msgsnd(id, &late, 5, 0));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    shared_memory();
    semaphores();
    messages();
    return 0;
}
