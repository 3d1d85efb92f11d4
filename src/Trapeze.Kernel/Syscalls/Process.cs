using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Process and thread identity and lifetime.</summary>
public static class ProcessCalls
{
    [Syscall("exit", Support = Support.Partial, Note = "ends the process: threads come later")]
    public static Result Exit(GuestThread thread, int status)
    {
        thread.Process.Terminate(ExitStatus.Exited(status));
        return 0;
    }

    [Syscall("exit_group")]
    public static Result ExitGroup(GuestThread thread, int status)
    {
        thread.Process.Terminate(ExitStatus.Exited(status));
        return 0;
    }

    [Syscall("getpid")]
    public static Result GetProcessId(GuestThread thread) => thread.Process.Id;

    [Syscall("getppid")]
    public static Result GetParentProcessId(GuestThread thread) => thread.Process.ParentId;

    [Syscall("gettid")]
    public static Result GetThreadId(GuestThread thread) => thread.Id;

    [Syscall("set_tid_address")]
    public static Result SetThreadIdAddress(GuestThread thread, GuestAddress clearChildTid)
    {
        thread.ClearChildTid = clearChildTid;
        return thread.Id;
    }

    [Syscall("set_robust_list")]
    public static Result SetRobustList(GuestThread thread, GuestAddress head, ulong length)
    {
        const ulong RobustListHeadSize = 24;
        if (length != RobustListHeadSize)
            return Errno.EINVAL;
        thread.RobustList = head;
        return 0;
    }

    // The guest's process id is the host process's, so its process group and session are the host's too.
    [Syscall("getpgrp")]
    public static Result GetProcessGroup(GuestThread thread) => Host.HostSyscall.Invoke(Host.HostSyscall.Getpgrp);

    [Syscall("getpgid")]
    public static Result GetProcessGroupOf(GuestThread thread, int pid)
        => pid == 0 || pid == thread.Process.Id ? Host.HostSyscall.Invoke(Host.HostSyscall.Getpgid, 0) : Errno.ESRCH;

    [Syscall("getsid")]
    public static Result GetSession(GuestThread thread, int pid)
        => pid == 0 || pid == thread.Process.Id ? Host.HostSyscall.Invoke(Host.HostSyscall.Getsid, 0) : Errno.ESRCH;

    [Syscall("rseq", Support = Support.Unsupported, Note = "ENOSYS; glibc then runs without restartable sequences")]
    public static Result RestartableSequences(GuestThread thread, GuestAddress sequence, [Argument(ArgumentKind.Hex)] uint length, int flags, [Argument(ArgumentKind.Hex)] uint signature) => Errno.ENOSYS;
}
