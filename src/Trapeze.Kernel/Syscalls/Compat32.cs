using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// Calls only the 32-bit Linux ABIs have, in terms of the common handlers: mmap2 (offset in pages),
/// _llseek (a 64-bit offset in two words, the result through a pointer), socketcall (one entry for
/// every socket call, its arguments in an array of words), the ARM private calls.
/// </summary>
public static class Compat32
{
    [Syscall("mmap2", Returns = ResultKind.Address, Support = Support.Partial, Note = "as mmap")]
    public static Result MapPages(GuestThread thread, GuestAddress address, ulong length, ProtectionFlags protection, MapFlags flags, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Pages)] ulong pageOffset)
        => MemoryCalls.Map(thread, address, length, protection, flags, fd, (long)(pageOffset * 4096));

    /// <summary>_llseek(fd, offset_high, offset_low, result, whence): the personality joins the offset's two words.</summary>
    [Syscall("_llseek", Support = Support.Full)]
    public static Result LongSeek(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, long offset, [Argument(ArgumentKind.LongLongPointer, Direction = Direction.Out)] GuestAddress result, SeekWhence whence)
    {
        var position = FileIo.Seek(thread, fd, offset, whence);
        if (position.IsError)
            return position;
        return thread.Memory.Write(result, position.Raw) is var fault and not Errno.None ? fault : 0;
    }

    /// <summary>socketcall's call numbers (linux/net.h SYS_*), with how many words of arguments each takes.</summary>
    private static readonly (string Name, int Count)[] SocketCalls =
    [
        ("", 0), ("socket", 3), ("bind", 3), ("connect", 3), ("listen", 2), ("accept", 3), ("getsockname", 3),
        ("getpeername", 3), ("socketpair", 4), ("send", 4), ("recv", 4), ("sendto", 6), ("recvfrom", 6),
        ("shutdown", 2), ("setsockopt", 5), ("getsockopt", 5), ("sendmsg", 3), ("recvmsg", 3), ("accept4", 4),
        ("recvmmsg", 5), ("sendmmsg", 4),
    ];

    private static readonly Dictionary<string, SyscallDefinition> Declared = SyscallCatalog.Definitions.ToDictionary(d => d.Name);

    [Syscall("socketcall", Support = Support.Partial, Note = "dispatches to the socket calls Trapeze has; send and recv become sendto and recvfrom")]
    public static Result SocketCall(GuestThread thread, int call, GuestAddress arguments)
    {
        if (call <= 0 || call >= SocketCalls.Length)
            return Errno.EINVAL;
        var (name, count) = SocketCalls[call];
        Span<uint> words = stackalloc uint[6];
        if (thread.Memory.Read(arguments, System.Runtime.InteropServices.MemoryMarshal.AsBytes(words[..count])) is var fault and not Errno.None)
            return fault;
        // send(fd, buf, len, flags) is sendto(fd, buf, len, flags, NULL, 0); recv likewise recvfrom.
        name = name switch { "send" => "sendto", "recv" => "recvfrom", _ => name };
        if (!Declared.TryGetValue(name, out var definition))
            return Errno.ENOSYS;
        var decoded = new SyscallArguments
        {
            Arg0 = (ulong)(long)(int)words[0],
            Arg1 = words[1],
            Arg2 = words[2],
            Arg3 = words[3],
            Arg4 = words[4],
            Arg5 = words[5],
        };
        return definition.Invoke(thread, decoded);
    }

    /// <summary>The old sigreturn: struct sigframe of a handler without SA_SIGINFO (the run loop restores it).</summary>
    [Syscall("sigreturn", Support = Support.Full)]
    public static Result LegacySignalReturn(GuestThread thread)
        => thread.Process.Personality.SignalFrames is { } frames
            ? Result.SignalReturn(frames.SavedResult(thread, thread.Process.Cpu, SignalFrameKind.Legacy), SignalFrameKind.Legacy)
            : Errno.ENOSYS;

    [Syscall("set_tls", Support = Support.Full)]
    public static Result SetTls(GuestThread thread, [Argument(ArgumentKind.Hex)] uint pointer)
    {
        thread.Process.Cpu.WriteRegister(Trapeze.Cpu.ArmRegister.Tls, pointer);
        return 0;
    }

    [Syscall("get_tls", Support = Support.Full)]
    public static Result GetTls(GuestThread thread) => (long)thread.Process.Cpu.ReadRegister(Trapeze.Cpu.ArmRegister.Tls);

    [Syscall("cacheflush", Support = Support.Full, Note = "drops translated code, so rewritten instructions run")]
    public static Result CacheFlush(GuestThread thread, [Argument(ArgumentKind.Hex)] uint start, [Argument(ArgumentKind.Hex)] uint end, int flags)
    {
        if (end < start)
            return Errno.EINVAL;
        thread.Process.Cpu.FlushTranslations();
        return 0;
    }
}
