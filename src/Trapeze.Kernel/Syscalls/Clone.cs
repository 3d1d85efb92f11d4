using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>New processes and threads: fork, vfork, clone, clone3.</summary>
public static class CloneCalls
{
    private const CloneFlags Namespaces = CloneFlags.CLONE_NEWNS | CloneFlags.CLONE_NEWCGROUP | CloneFlags.CLONE_NEWUTS | CloneFlags.CLONE_NEWIPC
        | CloneFlags.CLONE_NEWUSER | CloneFlags.CLONE_NEWPID | CloneFlags.CLONE_NEWNET | CloneFlags.CLONE_INTO_CGROUP;

    /// <summary>What clone and clone3 ask for, in one form.</summary>
    private readonly record struct Request(CloneFlags Flags, int ExitSignal, ulong Stack, GuestAddress ParentTid, GuestAddress ChildTid, ulong Tls, GuestAddress PidFd);

    [Syscall("fork", Support = Support.Full)]
    public static Result Fork(GuestThread thread) => Create(thread, new Request(0, (int)Signal.SIGCHLD, 0, default, default, 0, default));

    [Syscall("vfork", Support = Support.Full)]
    public static Result Vfork(GuestThread thread)
        => Create(thread, new Request(CloneFlags.CLONE_VM | CloneFlags.CLONE_VFORK, (int)Signal.SIGCHLD, 0, default, default, 0, default));

    [Syscall("clone", Support = Support.Partial, Note = "namespaces, CLONE_PTRACE, CLONE_UNTRACED and cgroups are refused with EINVAL")]
    public static Result Clone(GuestThread thread, [Argument(Enum = typeof(CloneFlags))] ulong flags, GuestAddress stack, GuestAddress parentTid, GuestAddress childTid, [Argument(ArgumentKind.Hex)] ulong tls)
        => Create(thread, new Request((CloneFlags)(flags & ~0xffUL), (int)(flags & 0xff), stack.Value, parentTid, childTid, tls, parentTid));

    [Syscall("clone3", Support = Support.Partial, Note = "set_tid and cgroups are refused with EINVAL; otherwise as clone")]
    public static Result Clone3(GuestThread thread, GuestAddress arguments, ulong size)
    {
        const int Version0Size = 64;
        if (size < Version0Size || size > 4096)
            return Errno.EINVAL;
        Span<ulong> fields = stackalloc ulong[11];
        fields.Clear();
        var read = (int)Math.Min(size, 88);
        if (thread.Memory.Read(arguments, System.Runtime.InteropServices.MemoryMarshal.AsBytes(fields)[..read]) is var fault and not Errno.None)
            return fault;
        // flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup
        if (fields[8] != 0 || fields[9] != 0 || fields[10] != 0 || fields[4] > 64 || (fields[0] & 0xff) != 0)
            return Errno.EINVAL;
        var stackTop = fields[5] == 0 ? 0 : fields[5] + fields[6];
        return Create(thread, new Request((CloneFlags)fields[0], (int)fields[4], stackTop, new GuestAddress(fields[3]), new GuestAddress(fields[2]), fields[7], new GuestAddress(fields[1])));
    }

    /// <summary>A thread of the caller's process (FreeBSD's thr_new): shares everything, starts where the personality says.</summary>
    internal static Result CreateThread(GuestThread thread, ulong stack, ulong tls)
    {
        const CloneFlags Thread = CloneFlags.CLONE_VM | CloneFlags.CLONE_FS | CloneFlags.CLONE_FILES | CloneFlags.CLONE_SIGHAND
            | CloneFlags.CLONE_THREAD | CloneFlags.CLONE_SYSVSEM | CloneFlags.CLONE_SETTLS;
        return Create(thread, new Request(Thread, 0, stack, default, default, tls, default));
    }

    private static Result Create(GuestThread thread, Request request)
    {
        // A vfork parent waits here, dispatched again until its child execs or exits.
        if (thread.RetryState is Process vforkChild)
            return vforkChild.ReleasedVforkParent ? vforkChild.Id : Result.Blocked(new Wait(vforkChild.VforkRelease));

        var flags = request.Flags;
        if ((flags & Namespaces) != 0 || (flags & (CloneFlags.CLONE_PTRACE | CloneFlags.CLONE_UNTRACED)) != 0)
            return Errno.EINVAL;
        if (((flags & CloneFlags.CLONE_THREAD) != 0 && (flags & CloneFlags.CLONE_SIGHAND) == 0)
            || ((flags & CloneFlags.CLONE_SIGHAND) != 0 && (flags & CloneFlags.CLONE_VM) == 0)
            || ((flags & CloneFlags.CLONE_PIDFD) != 0 && (flags & (CloneFlags.CLONE_THREAD | CloneFlags.CLONE_PARENT_SETTID)) != 0 && request.PidFd == request.ParentTid))
            return Errno.EINVAL;

        var kernel = thread.Kernel;
        var parent = thread.Process;
        if (kernel.AtTaskLimit(parent))
            return Errno.EAGAIN;
        GuestThread child;
        if ((flags & CloneFlags.CLONE_THREAD) != 0)
        {
            child = parent.AddThread(kernel.Pids.Allocate());
        }
        else if (NewProcess(thread, flags, request.ExitSignal) is { } process)
        {
            child = process.AddThread(process.Id);
        }
        else
        {
            return Errno.EAGAIN;
        }

        child.SignalMask = thread.SignalMask;
        if ((flags & CloneFlags.CLONE_VM) == 0 || (flags & CloneFlags.CLONE_VFORK) != 0)
        {
            // The alternate stack is inherited where the child runs on the same stack memory.
            child.AlternateStackBase = thread.AlternateStackBase;
            child.AlternateStackSize = thread.AlternateStackSize;
        }
        // The registers are the personality's business: which one returns 0, which holds the TLS.
        thread.Process.Personality.StartChild(thread, child, thread.NextInstruction, request.Stack, (flags & CloneFlags.CLONE_SETTLS) != 0 ? request.Tls : null);

        if ((flags & CloneFlags.CLONE_PARENT_SETTID) != 0)
            thread.Memory.Write(request.ParentTid, child.Id);
        if ((flags & CloneFlags.CLONE_CHILD_SETTID) != 0)
            child.Memory.Write(request.ChildTid, child.Id);
        if ((flags & CloneFlags.CLONE_CHILD_CLEARTID) != 0)
            child.ClearChildTid = request.ChildTid;
        if ((flags & CloneFlags.CLONE_PIDFD) != 0)
        {
            var pidfd = parent.Files.Add(new ProcessFile(child.Process), closeOnExec: true);
            if (!pidfd.IsError)
                thread.Memory.Write(request.PidFd, (int)pidfd.Raw);
        }

        kernel.Supervisor?.ThreadCreated(thread, child, vfork: (flags & CloneFlags.CLONE_VFORK) != 0);
        kernel.StartThread(child);
        if ((flags & CloneFlags.CLONE_VFORK) != 0)
        {
            thread.RetryState = child.Process;
            return Result.Blocked(new Wait(child.Process.VforkRelease));
        }
        return child.Id;
    }

    /// <summary>The child process with each piece shared or copied as the flags say; null at the process limit or out of memory.</summary>
    private static Process? NewProcess(GuestThread thread, CloneFlags flags, int exitSignal)
    {
        var kernel = thread.Kernel;
        var parent = thread.Process;
        var memory = (flags & CloneFlags.CLONE_VM) != 0 ? parent.MemoryContext.AddUser() : parent.MemoryContext.Fork(kernel.Platform);
        if (memory is null)
            return null;
        var files = (flags & CloneFlags.CLONE_FILES) != 0 ? parent.Files.AddUser() : parent.Files.Copy();
        var fileSystem = parent.FileSystem;
        if ((flags & CloneFlags.CLONE_FS) != 0)
            fileSystem.Users++;
        else
            fileSystem = fileSystem.Copy();
        var signals = parent.Signals;
        if ((flags & CloneFlags.CLONE_SIGHAND) != 0)
            signals.Users++;
        else
            signals = signals.Copy();
        var realParent = (flags & CloneFlags.CLONE_PARENT) != 0 && parent.Parent is { } grandparent ? grandparent : parent;
        var process = kernel.CreateProcess(realParent, memory, files, fileSystem, signals, exitSignal);
        if (process is null)
        {
            memory.Release();
            files.Release();
            fileSystem.Release();
        }
        return process;
    }
}
