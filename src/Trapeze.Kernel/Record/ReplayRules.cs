using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Record;

/// <summary>How a replay treats one system call.</summary>
public enum ReplayKind
{
    /// <summary>Inside the kernel and deterministic: it runs again in the replay.</summary>
    Executed,

    /// <summary>It reaches outside (the host's files, network, identity): the replay gives the recorded result and memory instead of running it.</summary>
    Served,

    /// <summary>It runs again (kernel state depends on it) but the guest sees what was recorded: clock readings.</summary>
    Overwritten,

    /// <summary>mmap of a file from outside: the replay maps anonymous memory at the recorded address and fills it with the recorded bytes.</summary>
    Mapped,
}

/// <summary>
/// Decides, the same way while recording and while replaying, which calls reach outside the kernel.
/// A file from outside is one the guest inherited (stdin, stdout...) or one a served call made; in a
/// replay the latter are <see cref="ReplayFile"/> stand-ins.
/// </summary>
public static class ReplayRules
{
    /// <summary>Calls that take a path but make no contact with the host's files: they run again.</summary>
    private static readonly HashSet<string> RunAgain = ["execve", "execveat", "memfd_create", "close", "close_range", "dup", "dup2", "dup3"];

    /// <summary>The host's identity and figures: served whatever the arguments.</summary>
    private static readonly HashSet<string> HostFigures = ["uname", "getrusage", "times", "sched_getaffinity", "sysinfo"];

    private static readonly HashSet<string> Clocks = ["clock_gettime", "gettimeofday", "time"];

    /// <summary>On inherited descriptors these reach the replay's own stdout and stderr: the output the replay reproduces.</summary>
    private static readonly HashSet<string> Writes = ["write", "writev", "pwrite64", "pwritev", "pwritev2"];

    /// <summary>fcntl commands that only touch the descriptor table.</summary>
    private static readonly HashSet<FcntlCommand> TableCommands = [FcntlCommand.F_DUPFD, FcntlCommand.F_DUPFD_CLOEXEC, FcntlCommand.F_GETFD, FcntlCommand.F_SETFD];

    private const int AddressFamilyInet = 2, AddressFamilyInet6 = 10;

    public static ReplayKind Classify(GuestThread thread, in SyscallCall call, Func<OpenFile, bool> outside, Func<OpenFile, bool> inherited)
    {
        var name = call.Name;
        if (RunAgain.Contains(name) || call.Definition is not { } definition)
            return ReplayKind.Executed;
        if (HostFigures.Contains(name))
            return ReplayKind.Served;
        if (Clocks.Contains(name))
            return ReplayKind.Overwritten;
        var arguments = call.Arguments;
        switch (name)
        {
            case "mmap":
                return ((MapFlags)(int)arguments.Arg3 & MapFlags.MAP_ANONYMOUS) == 0 && File(thread, (int)arguments.Arg4) is { } mapped && outside(mapped)
                    ? ReplayKind.Mapped : ReplayKind.Executed;
            case "socket":
                return thread.Kernel.Network.Mode == Net.NetworkMode.Host && (int)arguments.Arg0 is AddressFamilyInet or AddressFamilyInet6
                    ? ReplayKind.Served : ReplayKind.Executed;
            case "poll" or "ppoll":
                return PollsOutside(thread, new GuestAddress(arguments.Arg0), (uint)arguments.Arg1, outside) ? ReplayKind.Served : ReplayKind.Executed;
            case "fcntl" when TableCommands.Contains((FcntlCommand)(int)arguments.Arg1):
                return ReplayKind.Executed;
        }
        var parameters = definition.Parameters;
        for (var index = 0; index < parameters.Length; index++)
        {
            if (parameters[index].Type == typeof(CString))
                return ReplayKind.Served;
        }
        for (var index = 0; index < parameters.Length; index++)
        {
            if (parameters[index].Kind is not (ArgumentKind.Fd or ArgumentKind.DirectoryFd))
                continue;
            if (File(thread, (int)arguments[index]) is not { } file || !outside(file))
                return ReplayKind.Executed;
            return Writes.Contains(name) && inherited(file) ? ReplayKind.Executed : ReplayKind.Served;
        }
        return ReplayKind.Executed;
    }

    /// <summary>A write to a descriptor the guest inherited (its stdout): a replay that goes back and runs it again does not print it twice.</summary>
    public static bool WritesOutput(GuestThread thread, in SyscallCall call, Func<OpenFile, bool> inherited)
        => Writes.Contains(call.Name) && File(thread, (int)call.Arguments.Arg0) is { } file && inherited(file);

    private static OpenFile? File(GuestThread thread, int fd) => thread.Process.Files.Get(fd);

    /// <summary>A poll that watches a descriptor from outside waits on the host: its answer is recorded.</summary>
    private static bool PollsOutside(GuestThread thread, GuestAddress descriptors, uint count, Func<OpenFile, bool> outside)
    {
        const int PollDescriptorSize = 8;
        for (uint index = 0; index < Math.Min(count, 4096u); index++)
        {
            if (thread.Memory.Read(descriptors + index * PollDescriptorSize, out int fd) != Errno.None)
                return false;
            if (File(thread, fd) is { } file && outside(file))
                return true;
        }
        return false;
    }
}
