using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Process and thread identity, process groups and sessions, and the end of a thread or process.</summary>
public static class ProcessCalls
{
    [Syscall("exit", Support = Support.Full)]
    public static Result Exit(GuestThread thread, int status)
    {
        // The last thread's exit status is the process's.
        if (thread.Process.Threads.Count(t => !t.Killed) <= 1)
            thread.Process.Terminate(ExitStatus.Exited(status));
        else
            thread.Kill();
        return Result.ThreadGone;
    }

    [Syscall("exit_group", Support = Support.Full)]
    public static Result ExitGroup(GuestThread thread, int status)
    {
        thread.Process.Terminate(ExitStatus.Exited(status));
        return Result.ThreadGone;
    }

    [Syscall("getpid", Support = Support.Full)]
    public static Result GetProcessId(GuestThread thread) => thread.Process.Id;

    [Syscall("getppid", Support = Support.Full)]
    public static Result GetParentProcessId(GuestThread thread) => thread.Process.ParentId;

    [Syscall("gettid", Support = Support.Full)]
    public static Result GetThreadId(GuestThread thread) => thread.Id;

    [Syscall("set_tid_address", Support = Support.Full)]
    public static Result SetThreadIdAddress(GuestThread thread, GuestAddress clearChildTid)
    {
        thread.ClearChildTid = clearChildTid;
        return thread.Id;
    }

    [Syscall("set_robust_list", Support = Support.Full)]
    public static Result SetRobustList(GuestThread thread, GuestAddress head, ulong length)
    {
        // struct robust_list_head: three words.
        var robustListHeadSize = 3 * (ulong)thread.Process.Personality.Structures.Model.WordSize;
        if (length != robustListHeadSize)
            return Errno.EINVAL;
        thread.RobustList = head;
        return 0;
    }

    [Syscall("get_robust_list", Support = Support.Full)]
    public static Result GetRobustList(GuestThread thread, int threadId, GuestAddress head, GuestAddress length)
    {
        var target = threadId == 0 ? thread : thread.Kernel.FindThread(threadId);
        if (target is null)
            return Errno.ESRCH;
        if (thread.Memory.Write(head, target.RobustList.Value) is var fault and not Errno.None)
            return fault;
        return thread.Memory.Write(length, 24UL) is var lengthFault and not Errno.None ? lengthFault : 0;
    }

    [Syscall("getpgrp", Support = Support.Full)]
    public static Result GetProcessGroup(GuestThread thread) => thread.Process.ProcessGroupId;

    [Syscall("getpgid", Support = Support.Full)]
    public static Result GetProcessGroupOf(GuestThread thread, int pid)
        => Find(thread, pid) is { } process ? process.ProcessGroupId : Errno.ESRCH;

    [Syscall("getsid", Support = Support.Full)]
    public static Result GetSession(GuestThread thread, int pid)
        => Find(thread, pid) is { } process ? process.SessionId : Errno.ESRCH;

    [Syscall("setpgid", Support = Support.Full)]
    public static Result SetProcessGroup(GuestThread thread, int pid, int group)
    {
        var caller = thread.Process;
        if (group < 0)
            return Errno.EINVAL;
        if (Find(thread, pid) is not { } target || (target != caller && target.Parent != caller))
            return Errno.ESRCH;
        if (target.SessionId != caller.SessionId || target.SessionId == target.Id)
            return Errno.EPERM;
        if (target != caller && target.Execed)
            return Errno.EACCES;
        var newGroup = group == 0 ? target.Id : group;
        if (newGroup != target.Id && !thread.Kernel.Processes.Any(p => p.ProcessGroupId == newGroup && p.SessionId == caller.SessionId && p.State == ProcessState.Running))
            return Errno.EPERM;
        target.ProcessGroupId = newGroup;
        return 0;
    }

    [Syscall("setsid", Support = Support.Full)]
    public static Result SetSession(GuestThread thread)
    {
        var process = thread.Process;
        if (thread.Kernel.Processes.Any(p => p.ProcessGroupId == process.Id && p.State == ProcessState.Running))
            return Errno.EPERM;
        process.SessionId = process.ProcessGroupId = process.Id;
        return process.Id;
    }

    [Syscall("rseq", Support = Support.Unsupported, Note = "ENOSYS; glibc then runs without restartable sequences")]
    public static Result RestartableSequences(GuestThread thread, GuestAddress sequence, [Argument(ArgumentKind.Hex)] uint length, int flags, [Argument(ArgumentKind.Hex)] uint signature) => Errno.ENOSYS;

    /// <summary>pid 0 is the caller; others must be live processes of this kernel.</summary>
    private static Process? Find(GuestThread thread, int pid)
        => pid == 0 ? thread.Process : pid < 0 ? null : thread.Kernel.FindProcess(pid);
}
