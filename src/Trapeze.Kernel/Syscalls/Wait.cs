using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Waiting for children: wait4, waitid, and process descriptors (pidfd_open).</summary>
public static class WaitCalls
{
    private const int ChildExited = 1, ChildKilled = 2, ChildDumped = 3; // CLD_*

    [Syscall("wait4", Support = Support.Partial, Note = "rusage is zero")]
    public static Result Wait4(GuestThread thread, int pid, [Argument(ArgumentKind.IntPointer, Direction = Direction.Out)] GuestAddress status, [Argument(Enum = typeof(WaitOptions))] uint options, GuestAddress usage)
    {
        const uint Known = (uint)(WaitOptions.WNOHANG | WaitOptions.WUNTRACED | WaitOptions.WCONTINUED | WaitOptions.__WNOTHREAD | WaitOptions.__WALL | WaitOptions.__WCLONE);
        if ((options & ~Known) != 0)
            return Errno.EINVAL;
        var process = thread.Process;
        var candidates = process.Children.Where(child => Matches(process, child, pid)).ToList();
        if (candidates.Count == 0)
            return Errno.ECHILD;
        if (candidates.Find(child => child.State == ProcessState.Zombie) is not { } zombie)
        {
            // Stopped (WUNTRACED) and continued (WCONTINUED) children report once each.
            if ((options & (uint)WaitOptions.WUNTRACED) != 0 && candidates.Find(child => child.StopToReport is not null && child.State == ProcessState.Running) is { } stopped)
            {
                var stopStatus = (stopped.StopToReport!.Value << 8) | 0x7f;
                if (!status.IsNull && thread.Memory.Write(status, stopStatus) is var stopFault and not Errno.None)
                    return stopFault;
                stopped.StopToReport = null;
                return stopped.Id;
            }
            if ((options & (uint)WaitOptions.WCONTINUED) != 0 && candidates.Find(child => child.ContinueToReport && child.State == ProcessState.Running) is { } continued)
            {
                if (!status.IsNull && thread.Memory.Write(status, 0xffff) is var continueFault and not Errno.None)
                    return continueFault;
                continued.ContinueToReport = false;
                return continued.Id;
            }
            return (options & (uint)WaitOptions.WNOHANG) != 0 ? 0 : thread.Block(new Wait(process.ChildEvents));
        }
        if (!status.IsNull && thread.Memory.Write(status, zombie.Exit!.WaitStatus) is var fault and not Errno.None)
            return fault;
        if (!usage.IsNull && thread.Memory.Write(usage, new byte[144]) is var usageFault and not Errno.None)
            return usageFault;
        zombie.Reap();
        return zombie.Id;
    }

    [Syscall("waitid", Support = Support.Partial, Note = "rusage is zero")]
    public static Result WaitId(GuestThread thread, IdType type, int id, GuestAddress information, [Argument(Enum = typeof(WaitOptions))] uint options, GuestAddress usage)
    {
        const uint Known = (uint)(WaitOptions.WNOHANG | WaitOptions.WSTOPPED | WaitOptions.WEXITED | WaitOptions.WCONTINUED | WaitOptions.WNOWAIT
            | WaitOptions.__WNOTHREAD | WaitOptions.__WALL | WaitOptions.__WCLONE);
        if ((options & ~Known) != 0 || (options & (uint)(WaitOptions.WEXITED | WaitOptions.WSTOPPED | WaitOptions.WCONTINUED)) == 0)
            return Errno.EINVAL;
        var process = thread.Process;
        var pid = type switch
        {
            IdType.P_ALL => -1,
            IdType.P_PID when id > 0 => id,
            IdType.P_PGID => id == 0 ? 0 : -id,
            IdType.P_PIDFD => process.Files.Get(id) is ProcessFile file ? file.Target.Id : int.MinValue,
            _ => int.MinValue + 1,
        };
        if (pid == int.MinValue)
            return Errno.EBADF;
        if (pid == int.MinValue + 1)
            return Errno.EINVAL;
        var candidates = process.Children.Where(child => Matches(process, child, pid)).ToList();
        if (candidates.Count == 0)
            return Errno.ECHILD;
        var zombie = (options & (uint)WaitOptions.WEXITED) != 0 ? candidates.Find(child => child.State == ProcessState.Zombie) : null;
        if (zombie is null)
        {
            var noWait = (options & (uint)WaitOptions.WNOWAIT) != 0;
            if ((options & (uint)WaitOptions.WSTOPPED) != 0 && candidates.Find(child => child.StopToReport is not null && child.State == ProcessState.Running) is { } stopped)
            {
                if (!information.IsNull && thread.Memory.Write(information, SignalDelivery.ChildInformation(stopped, 5, stopped.StopToReport!.Value).ToBytes()) is var stopFault and not Errno.None)
                    return stopFault;
                if (!noWait)
                    stopped.StopToReport = null;
                return 0;
            }
            if ((options & (uint)WaitOptions.WCONTINUED) != 0 && candidates.Find(child => child.ContinueToReport && child.State == ProcessState.Running) is { } continued)
            {
                if (!information.IsNull && thread.Memory.Write(information, SignalDelivery.ChildInformation(continued, 6, (int)Signal.SIGCONT).ToBytes()) is var continueFault and not Errno.None)
                    return continueFault;
                if (!noWait)
                    continued.ContinueToReport = false;
                return 0;
            }
            if ((options & (uint)WaitOptions.WNOHANG) == 0)
                return thread.Block(new Wait(process.ChildEvents));
            // Linux zeroes si_pid (and si_signo) when nothing is waitable yet.
            return information.IsNull || thread.Memory.Write(information, new byte[128]) is Errno.None ? 0 : Errno.EFAULT;
        }
        if (!information.IsNull && thread.Memory.Write(information, ChildInformation(zombie, zombie.Credentials.RealUser)) is var fault and not Errno.None)
            return fault;
        if (!usage.IsNull && thread.Memory.Write(usage, new byte[144]) is var usageFault and not Errno.None)
            return usageFault;
        if ((options & (uint)WaitOptions.WNOWAIT) == 0)
            zombie.Reap();
        return 0;
    }

    [Syscall("pidfd_open", Returns = ResultKind.Fd, Support = Support.Partial, Note = "readable (poll) once the process ended; PIDFD_NONBLOCK accepted")]
    public static Result PidFdOpen(GuestThread thread, int pid, uint flags)
    {
        const uint NonBlocking = 0x800;
        if ((flags & ~NonBlocking) != 0 || pid <= 0)
            return Errno.EINVAL;
        if (thread.Kernel.FindProcess(pid) is not { } target)
            return Errno.ESRCH;
        return thread.Process.Files.Add(new ProcessFile(target), closeOnExec: true);
    }

    /// <summary>wait's pid argument: a pid, -1 any child, 0 the caller's process group, -G group G.</summary>
    private static bool Matches(Process parent, Process child, int pid) => pid switch
    {
        > 0 => child.Id == pid,
        -1 => true,
        0 => child.ProcessGroupId == parent.ProcessGroupId,
        _ => child.ProcessGroupId == -pid,
    };

    /// <summary>The siginfo_t waitid fills: SIGCHLD, how the child ended, its pid, uid and status.</summary>
    private static byte[] ChildInformation(Process child, uint userId)
    {
        var information = new byte[128];
        var status = child.Exit!;
        var code = status.Signal is null ? ChildExited : status.CoreDumped ? ChildDumped : ChildKilled;
        BitConverter.TryWriteBytes(information.AsSpan(0), (int)Signal.SIGCHLD);
        BitConverter.TryWriteBytes(information.AsSpan(8), code);
        BitConverter.TryWriteBytes(information.AsSpan(16), child.Id);
        BitConverter.TryWriteBytes(information.AsSpan(20), userId);
        BitConverter.TryWriteBytes(information.AsSpan(24), status.Signal is { } signal ? (int)signal : status.Code);
        return information;
    }
}
