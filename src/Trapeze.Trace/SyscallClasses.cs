namespace Trapeze.Trace;

/// <summary>
/// strace's syscall classes for -e trace=%class on x86-64: which calls take a file name, manage
/// processes, use descriptors... Data, kept in one place.
/// </summary>
public static class SyscallClasses
{
    private static readonly string[] File =
    [
        "open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2",
        "readlink", "readlinkat", "getcwd", "chdir", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat",
        "renameat2", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmodat", "chown", "lchown", "fchownat",
        "truncate", "utime", "utimes", "futimesat", "utimensat", "mknod", "mknodat", "execve", "execveat", "statfs",
        "chroot", "acct", "swapon", "swapoff", "mount", "umount2", "pivot_root", "getxattr", "lgetxattr", "setxattr",
        "lsetxattr", "listxattr", "llistxattr", "removexattr", "lremovexattr", "inotify_add_watch", "fanotify_mark",
        "name_to_handle_at", "quotactl", "uselib", "open_tree", "move_mount", "fsconfig", "mount_setattr",
    ];

    private static readonly string[] Process =
    [
        "fork", "vfork", "clone", "clone3", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "kill",
        "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open", "pidfd_send_signal", "unshare",
    ];

    private static readonly string[] Network =
    [
        "socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername",
        "send", "recv", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "setsockopt", "getsockopt",
    ];

    private static readonly string[] Signal =
    [
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
        "rt_tgsigqueueinfo", "rt_sigsuspend", "sigaltstack", "kill", "tkill", "tgkill", "pause", "signalfd",
        "signalfd4", "pidfd_send_signal",
    ];

    private static readonly string[] Ipc =
    [
        "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop", "msgget", "msgsnd", "msgrcv", "msgctl",
    ];

    private static readonly string[] Descriptor =
    [
        "read", "write", "open", "openat", "openat2", "close", "fstat", "newfstatat", "statx", "lseek", "mmap", "ioctl",
        "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2", "pipe", "pipe2", "select",
        "pselect6", "poll", "ppoll", "dup", "dup2", "dup3", "sendfile", "fcntl", "flock", "fsync", "fdatasync",
        "ftruncate", "getdents", "getdents64", "fchdir", "fchmod", "fchmodat", "fchown", "fchownat", "creat",
        "fstatfs", "readahead", "fsetxattr", "fgetxattr", "flistxattr", "fremovexattr", "epoll_create", "epoll_create1",
        "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4",
        "timerfd_create", "timerfd_settime", "timerfd_gettime", "inotify_init", "inotify_init1", "inotify_add_watch",
        "inotify_rm_watch", "splice", "tee", "vmsplice", "sync_file_range", "fallocate", "memfd_create", "copy_file_range",
        "socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername", "sendto",
        "recvfrom", "sendmsg", "recvmsg", "shutdown", "setsockopt", "getsockopt", "mkdirat", "unlinkat", "renameat",
        "renameat2", "linkat", "symlinkat", "readlinkat", "faccessat", "faccessat2", "utimensat", "futimesat", "mknodat",
        "execveat", "close_range", "pidfd_open", "io_uring_setup", "io_uring_enter",
    ];

    private static readonly string[] Memory =
    [
        "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "mlock", "mlock2", "munlock", "mlockall", "munlockall",
        "msync", "mincore", "remap_file_pages", "mbind", "set_mempolicy", "get_mempolicy", "pkey_mprotect", "shmat", "shmdt",
    ];

    private static readonly string[] Clock =
    [
        "clock_gettime", "clock_settime", "clock_getres", "clock_adjtime", "gettimeofday",
        "settimeofday", "adjtimex", "time", "times",
    ];

    private static readonly string[] Credentials =
    [
        "getuid", "geteuid", "getgid", "getegid", "setuid", "setgid", "setreuid", "setregid", "setresuid", "getresuid",
        "setresgid", "getresgid", "setfsuid", "setfsgid", "getgroups", "setgroups", "capget", "capset", "prctl",
    ];

    private static readonly Dictionary<string, string[]> Classes = new()
    {
        ["file"] = File,
        ["process"] = Process,
        ["network"] = Network,
        ["net"] = Network,
        ["signal"] = Signal,
        ["ipc"] = Ipc,
        ["desc"] = Descriptor,
        ["memory"] = Memory,
        ["clock"] = Clock,
        ["creds"] = Credentials,
        ["stat"] = ["stat"],
        ["lstat"] = ["lstat"],
        ["fstat"] = ["fstat", "newfstatat", "statx"],
        ["%stat"] = ["stat", "lstat", "fstat", "newfstatat", "statx", "statfs", "fstatfs", "ustat"],
        ["pure"] = ["getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getpgrp"],
    };

    /// <summary>The calls in class <paramref name="name"/> (without the %), or null for no such class.</summary>
    public static IReadOnlyCollection<string>? Members(string name) => Classes.GetValueOrDefault(name);

    public static IEnumerable<string> Names => Classes.Keys;
}
