using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>
/// A signalfd: reading it takes signals of its mask from the reader's pending sets (its thread's,
/// then its process's) as signalfd_siginfo records, instead of delivering them.
/// </summary>
public sealed class SignalFile(Process owner) : OpenFile
{
    public const int RecordSize = 128;

    /// <summary>The signals this descriptor takes, bit (n-1) for signal n; never SIGKILL or SIGSTOP.</summary>
    public ulong Mask { get; set; }

    public override string Path => "anon_inode:[signalfd]";
    private bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

    public override short? Readiness(out WaitQueue? changes) => Readiness(owner, null, out changes);

    public override short? Readiness(GuestThread thread, out WaitQueue? changes) => Readiness(thread.Process, thread, out changes);

    private short? Readiness(Process process, GuestThread? thread, out WaitQueue? changes)
    {
        changes = process.SignalsQueued;
        var pending = (thread?.Pending.Set ?? 0) | process.SharedPending.Set;
        return (pending & Mask) != 0 ? (short)(Polling.Readable | Polling.ReadNormal) : (short)0;
    }

    public override Result Read(GuestThread thread, GuestAddress buffer, ulong count)
    {
        if (count < RecordSize)
            return Errno.EINVAL;
        var taken = 0UL;
        while (taken + RecordSize <= count && Take(thread) is { } info)
        {
            if (thread.Memory.Write(buffer + taken, Record(info)) is var fault and not Errno.None)
                return taken > 0 ? (long)taken : fault;
            taken += RecordSize;
        }
        if (taken > 0)
            return taken;
        return NonBlocking ? Errno.EAGAIN : thread.Block(new Wait(thread.Process.SignalsQueued));
    }

    /// <summary>The next signal of the mask: the thread's own before the process's, faults first, then by number (as dequeue_signal).</summary>
    private SignalInfo? Take(GuestThread thread)
    {
        foreach (var queue in (ReadOnlySpan<PendingSignals>)[thread.Pending, thread.Process.SharedPending])
        {
            var ready = queue.Set & Mask;
            if (ready == 0)
                continue;
            var synchronous = ready & SignalDefaults.Synchronous;
            var signal = System.Numerics.BitOperations.TrailingZeroCount(synchronous != 0 ? synchronous : ready) + 1;
            return queue.Take(signal);
        }
        return null;
    }

    /// <summary>struct signalfd_siginfo (linux/signalfd.h) from a siginfo, by the layout its code selects (signalfd_copyinfo).</summary>
    private static byte[] Record(SignalInfo info)
    {
        const int TimerCode = -2, Fault = 1;
        var raw = info.ToBytes();
        var record = new byte[RecordSize];
        var span = record.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, info.Signal);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], info.Errno);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], info.Code);
        var signal = (Signal)info.Signal;
        var union = raw.AsSpan(16);
        if (info.Code >= Fault && signal is Signal.SIGSEGV or Signal.SIGBUS or Signal.SIGILL or Signal.SIGFPE or Signal.SIGTRAP)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[72..], BinaryPrimitives.ReadUInt64LittleEndian(union)); // ssi_addr
        }
        else if (info.Code >= Fault && signal == Signal.SIGCHLD)
        {
            union[..8].CopyTo(span[12..]); // ssi_pid, ssi_uid
            BinaryPrimitives.WriteInt32LittleEndian(span[40..], BinaryPrimitives.ReadInt32LittleEndian(union[8..])); // ssi_status
            BinaryPrimitives.WriteUInt64LittleEndian(span[56..], BinaryPrimitives.ReadUInt64LittleEndian(union[16..])); // ssi_utime
            BinaryPrimitives.WriteUInt64LittleEndian(span[64..], BinaryPrimitives.ReadUInt64LittleEndian(union[24..])); // ssi_stime
        }
        else if (info.Code == TimerCode)
        {
            union[..4].CopyTo(span[24..]); // ssi_tid
            union.Slice(4, 4).CopyTo(span[32..]); // ssi_overrun
            union.Slice(8, 4).CopyTo(span[44..]); // ssi_int
            union.Slice(8, 8).CopyTo(span[48..]); // ssi_ptr
        }
        else
        {
            union[..8].CopyTo(span[12..]); // ssi_pid, ssi_uid
            if (info.Code < 0)
            {
                union.Slice(8, 4).CopyTo(span[44..]); // ssi_int
                union.Slice(8, 8).CopyTo(span[48..]); // ssi_ptr
            }
        }
        return record;
    }

    public override Result Status(out LinuxStat status)
    {
        status = new LinuxStat { Mode = 0x180, LinkCount = 1, BlockSize = 4096 };
        return 0;
    }
}
