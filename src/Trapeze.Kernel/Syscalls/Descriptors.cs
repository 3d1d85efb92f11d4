using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>File descriptors themselves: dup, fcntl, ioctl, pipe.</summary>
public static class Descriptors
{
    [Syscall("pipe", Support = Support.Partial, Note = "as pipe2")]
    public static Result Pipe(GuestThread thread, GuestAddress descriptors) => Pipe2(thread, descriptors, 0);

    [Syscall("pipe2", Support = Support.Partial, Note = "pipes inside Trapeze; O_DIRECT (packet mode) is accepted but writes are not packets")]
    public static Result Pipe2(GuestThread thread, GuestAddress descriptors, OpenFlags flags)
    {
        var created = CreatePipe(thread, flags);
        if (created.IsError)
            return created;
        var (readEnd, writeEnd) = ((int)created.Raw, (int)thread.SecondResult);
        if (thread.Memory.Write(descriptors, readEnd) is not Errno.None || thread.Memory.Write(descriptors + 4UL, writeEnd) is not Errno.None)
        {
            thread.Process.Files.Close(readEnd);
            thread.Process.Files.Close(writeEnd);
            return Errno.EFAULT;
        }
        return 0;
    }

    /// <summary>A new pipe's read end (the result) and write end (<see cref="GuestThread.SecondResult"/>).</summary>
    internal static Result CreatePipe(GuestThread thread, OpenFlags flags)
    {
        if ((flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK | OpenFlags.O_DIRECT)) != 0)
            return Errno.EINVAL;
        var pipe = new Pipe { Inode = thread.Kernel.NewInode() };
        var status = flags & (OpenFlags.O_NONBLOCK | OpenFlags.O_DIRECT);
        var reader = new PipeEnd(pipe, writer: false, status);
        var writer = new PipeEnd(pipe, writer: true, status);
        var files = thread.Process.Files;
        var closeOnExec = (flags & OpenFlags.O_CLOEXEC) != 0;
        var readEnd = files.Add(reader, closeOnExec);
        if (readEnd.IsError)
        {
            reader.Release();
            writer.Release();
            return readEnd;
        }
        var writeEnd = files.Add(writer, closeOnExec);
        if (writeEnd.IsError)
        {
            files.Close((int)readEnd.Raw);
            writer.Release();
            return writeEnd;
        }
        thread.SecondResult = (ulong)writeEnd.Raw;
        return readEnd;
    }

    [Syscall("dup", Support = Support.Full, Returns = ResultKind.Fd)]
    public static Result Duplicate(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd)
    {
        var files = thread.Process.Files;
        if (files.Get(fd) is not { } file)
            return Errno.EBADF;
        file.AddReference();
        var result = files.Add(file, closeOnExec: false);
        if (result.IsError)
            file.Release();
        return result;
    }

    [Syscall("dup2", Support = Support.Full, Returns = ResultKind.Fd)]
    public static Result Duplicate2(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Fd)] int target)
    {
        if (thread.Process.Files.Get(fd) is null)
            return Errno.EBADF;
        return fd == target ? fd : Duplicate3(thread, fd, target, 0);
    }

    [Syscall("dup3", Support = Support.Full, Returns = ResultKind.Fd)]
    public static Result Duplicate3(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Fd)] int target, [Argument(ArgumentKind.FlagsOnly)] OpenFlags flags)
    {
        var files = thread.Process.Files;
        if ((flags & ~OpenFlags.O_CLOEXEC) != 0 || fd == target)
            return Errno.EINVAL;
        if (files.Get(fd) is not { } file)
            return Errno.EBADF;
        file.AddReference();
        var result = files.Replace(target, file, (flags & OpenFlags.O_CLOEXEC) != 0);
        if (result.IsError)
            file.Release();
        return result;
    }

    /// <summary>F_GETFL's answer for a file whose flags Trapeze keeps (and /proc/PID/fdinfo's flags: line for any file).</summary>
    internal static OpenFlags StatusFlagsOf(OpenFile file)
    {
        if (file is PipeEnd or Net.Socket)
            return file.StatusFlags; // pipe2's and socket's files were never opened by path: no O_LARGEFILE
        if (file.StatusFlagsOnHost && file.HostDescriptor is { } host)
            return (OpenFlags)(int)HostSyscall.Invoke(HostSyscall.Fcntl, host, (long)FcntlCommand.F_GETFL);
        return file.StatusFlags | OpenFlags.O_LARGEFILE; // Linux reports O_LARGEFILE for every file on 64-bit
    }

    [Syscall("fcntl", Returns = ResultKind.Fcntl, Support = Support.Partial, Note = "descriptor flags, status flags, dup, seals; record locks (POSIX and OFD) are Trapeze's own between guest processes, on x86-64 (other personalities' struct flock goes to the host)")]
    public static Result Control(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, FcntlCommand command, [Argument(ArgumentKind.FcntlArgument)] ulong argument)
    {
        var files = thread.Process.Files;
        if (files.Get(fd) is not { } file)
            return Errno.EBADF;
        switch (command)
        {
            case FcntlCommand.F_DUPFD:
            case FcntlCommand.F_DUPFD_CLOEXEC:
                if ((int)argument < 0 || (int)argument >= files.Limit)
                    return Errno.EINVAL;
                file.AddReference();
                var result = files.Add(file, command == FcntlCommand.F_DUPFD_CLOEXEC, (int)argument);
                if (result.IsError)
                    file.Release();
                return result;
            case FcntlCommand.F_GETFD:
                return files.GetCloseOnExec(fd) ? 1 : 0;
            case FcntlCommand.F_SETFD:
                files.SetCloseOnExec(fd, (argument & 1) != 0);
                return 0;
            case FcntlCommand.F_GETFL when file is PipeEnd or Net.Socket || !file.StatusFlagsOnHost:
                return (int)StatusFlagsOf(file);
            case FcntlCommand.F_SETFL when !file.StatusFlagsOnHost:
                const OpenFlags Settable = OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.FASYNC | OpenFlags.O_DIRECT | OpenFlags.O_NOATIME;
                file.StatusFlags = (file.StatusFlags & ~Settable) | ((OpenFlags)(int)argument & Settable);
                return 0;
            case FcntlCommand.F_GETPIPE_SZ when file is PipeEnd end:
                return end.Pipe.Capacity;
            case FcntlCommand.F_SETPIPE_SZ when file is PipeEnd end:
                return end.Pipe.Resize((long)argument);
            case FcntlCommand.F_GETFL:
            case FcntlCommand.F_SETFL:
            case FcntlCommand.F_GETPIPE_SZ:
            case FcntlCommand.F_SETPIPE_SZ:
            case FcntlCommand.F_GET_SEALS:
            case FcntlCommand.F_ADD_SEALS:
                return file.HostDescriptor is { } host ? HostSyscall.Invoke(HostSyscall.Fcntl, host, (long)command, (long)argument) : Errno.EINVAL;
            case FcntlCommand.F_GETLK:
            case FcntlCommand.F_SETLK:
            case FcntlCommand.F_SETLKW:
            case FcntlCommand.F_OFD_GETLK:
            case FcntlCommand.F_OFD_SETLK:
            case FcntlCommand.F_OFD_SETLKW:
                if (thread.Process.Personality.Architecture == Cpu.CpuArchitecture.X86_64)
                    return RecordLocks.Control(thread, file, command, new GuestAddress(argument));
                return file.HostDescriptor is { } lockHost ? Lock(thread, lockHost, command, new GuestAddress(argument)) : Errno.EINVAL;
            default:
                return Errno.EINVAL;
        }
    }

    [Syscall("ioctl", Support = Support.Partial, Note = "TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD on host ttys and files; FIOCLEX/FIONCLEX; others ENOTTY")]
    public static Result InputOutputControl(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, IoctlRequest request, GuestAddress argument)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        switch (request)
        {
            case IoctlRequest.FIOCLEX:
                thread.Process.Files.SetCloseOnExec(fd, true);
                return 0;
            case IoctlRequest.FIONCLEX:
                thread.Process.Files.SetCloseOnExec(fd, false);
                return 0;
            default:
                return file.Control(request, thread.Memory, argument);
        }
    }

    private static unsafe Result Lock(GuestThread thread, int host, FcntlCommand command, GuestAddress argument)
    {
        const int FlockSize = 32;
        var buffer = stackalloc byte[FlockSize];
        var span = new Span<byte>(buffer, FlockSize);
        if (thread.Memory.Read(argument, span) is var fault and not Errno.None)
            return fault;
        var result = HostSyscall.Invoke(HostSyscall.Fcntl, host, (long)command, (long)buffer);
        if (result < 0)
            return result;
        return thread.Memory.Write(argument, span) is var writeFault and not Errno.None ? writeFault : result;
    }
}
