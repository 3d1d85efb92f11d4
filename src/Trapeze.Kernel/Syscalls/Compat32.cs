using System.Buffers.Binary;
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
        return Call(thread, name, (ulong)(long)(int)words[0], words[1], words[2], words[3], words[4], words[5]);
    }

    /// <summary>
    /// The old getdents: struct linux_dirent (d_ino and d_off as longs, d_reclen, d_name, then d_type in
    /// the record's last byte). The getdents64 records are read into the caller's buffer and rewritten
    /// in place, front to back: each old record is shorter than its dirent64.
    /// </summary>
    [Syscall("getdents", Support = Support.Partial, Note = "as getdents64; d_off is cut to 32 bits")]
    public static Result GetDirectoryEntries(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, GuestAddress buffer, uint count)
    {
        var read = FileSystem.GetDirectoryEntries(thread, fd, buffer, count);
        if (read.IsError || read.Raw == 0)
            return read;
        var bytes = new byte[read.Raw];
        if (thread.Memory.Read(buffer, bytes) is var fault and not Errno.None)
            return fault;
        int from = 0, to = 0;
        while (from + 19 < bytes.Length)
        {
            var inode = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(from));
            var offset = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(from + 8));
            var length = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(from + 16));
            var type = bytes[from + 18];
            var name = bytes.AsSpan(from + 19, length - 19);
            var nameLength = name.IndexOf((byte)0) is var end and >= 0 ? end : name.Length;
            if (inode > uint.MaxValue)
                return Errno.EOVERFLOW;
            var size = (10 + nameLength + 2 + 3) & ~3;
            var record = new byte[size];
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)inode);
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)offset);
            BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(8), (ushort)size);
            name[..nameLength].CopyTo(record.AsSpan(10));
            record[size - 1] = type;
            record.CopyTo(bytes, to);
            to += size;
            from += length;
        }
        return thread.Memory.Write(buffer, bytes.AsSpan(0, to)) is var writeFault and not Errno.None ? writeFault : to;
    }

    /// <summary>
    /// ipc(call, first, second, third, ptr, fifth): the System V IPC multiplexer i386's glibc uses
    /// (it calls the direct entries only on kernels from 5.1), in terms of the direct calls.
    /// </summary>
    [Syscall("ipc", Support = Support.Partial, Note = "dispatches to semop, semget, semctl, semtimedop, msgsnd, msgrcv, msgget, msgctl, shmat, shmdt, shmget, shmctl; their structures in the 64-bit layout (IPC_64)")]
    public static Result Ipc(GuestThread thread, uint call, int first, ulong second, ulong third, GuestAddress pointer, long fifth)
    {
        const uint SemOp = 1, SemGet = 2, SemCtl = 3, SemTimedOp = 4, MsgSnd = 11, MsgRcv = 12, MsgGet = 13, MsgCtl = 14, ShmAt = 21, ShmDt = 22, ShmGet = 23, ShmCtl = 24;
        var version = call >> 16;
        var first64 = (ulong)(long)first;
        switch (call & 0xffff)
        {
            case SemOp: return Call(thread, "semop", first64, pointer.Value, second);
            case SemGet: return Call(thread, "semget", first64, second, third);
            case SemCtl:
                // The fourth argument is a union semun passed by address: its word is the value.
                if (thread.Memory.Read(pointer, out uint word) is var semunFault and not Errno.None)
                    return semunFault;
                return Call(thread, "semctl", first64, second, third, word);
            case SemTimedOp: return Call(thread, "semtimedop", first64, pointer.Value, second, (ulong)fifth);
            case MsgSnd: return Call(thread, "msgsnd", first64, pointer.Value, second, third);
            case MsgRcv:
                if (version != 0)
                    return Call(thread, "msgrcv", first64, pointer.Value, second, (ulong)fifth, third);
                // struct ipc_kludge { msgp; msgtyp; }: two longs.
                Span<int> kludge = stackalloc int[2];
                if (thread.Memory.Read(pointer, System.Runtime.InteropServices.MemoryMarshal.AsBytes(kludge)) is var kludgeFault and not Errno.None)
                    return kludgeFault;
                return Call(thread, "msgrcv", first64, (uint)kludge[0], second, (ulong)(long)kludge[1], third);
            case MsgGet: return Call(thread, "msgget", first64, second);
            case MsgCtl: return Call(thread, "msgctl", first64, second, pointer.Value);
            case ShmAt:
                if (version == 1)
                    return Errno.EINVAL;
                var attached = Call(thread, "shmat", first64, pointer.Value, second);
                if (attached.IsError)
                    return attached;
                // The address goes to *third; the call returns 0.
                return thread.Memory.Write(new GuestAddress(third), (uint)attached.Raw) is var attachFault and not Errno.None ? attachFault : 0;
            case ShmDt: return Call(thread, "shmdt", pointer.Value);
            case ShmGet: return Call(thread, "shmget", first64, second, third);
            case ShmCtl: return Call(thread, "shmctl", first64, second, pointer.Value);
            default: return Errno.ENOSYS;
        }
    }

    /// <summary>One of the calls a multiplexer (socketcall, ipc) stands for, by name, with its arguments as registers.</summary>
    private static Result Call(GuestThread thread, string name, params ReadOnlySpan<ulong> arguments)
    {
        if (!Declared.TryGetValue(name, out var definition))
            return Errno.ENOSYS;
        Span<ulong> words = stackalloc ulong[6];
        arguments.CopyTo(words);
        return definition.Invoke(thread, new SyscallArguments { Arg0 = words[0], Arg1 = words[1], Arg2 = words[2], Arg3 = words[3], Arg4 = words[4], Arg5 = words[5] });
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
