using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Tasks;

/// <summary>One queued signal: the fields of its siginfo_t that Trapeze fills.</summary>
public sealed class SignalInfo
{
    public const int Size = 128;

    public required int Signal { get; init; }
    public int Code { get; init; }
    public int Errno { get; init; }

    /// <summary>si_pid and si_uid (kill, sigqueue, SIGCHLD); for timers si_timerid and si_overrun.</summary>
    public int Pid { get; init; }
    public uint Uid { get; init; }
    public int Overrun { get; set; }

    /// <summary>si_value (sigqueue, timers), or si_status for SIGCHLD.</summary>
    public ulong Value { get; init; }
    public int Status { get; init; }

    /// <summary>si_addr for faults.</summary>
    public ulong? Address { get; init; }

    /// <summary>The x86 trap number and error code for a fault (sigcontext's trapno, err, cr2).</summary>
    public int TrapNumber { get; init; }
    public ulong ErrorCode { get; init; }

    /// <summary>For the user's one line when the signal kills (a fault's address and kind).</summary>
    public string? Detail { get; init; }

    /// <summary>The raw bytes rt_sigqueueinfo passed in, kept as the sender wrote them.</summary>
    public byte[]? Raw { get; init; }

    /// <summary>A timer's signal: which timer (for overrun counting while it is pending).</summary>
    internal PosixTimer? Timer { get; init; }

    public const int User = 0, KernelCode = 0x80, Queue = -1, TimerCode = -2, ThreadKill = -6;

    public static SignalInfo FromUser(Signal signal, int code, int pid, uint uid) => new() { Signal = (int)signal, Code = code, Pid = pid, Uid = uid };

    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        if (Raw is { } raw)
        {
            raw.AsSpan(0, Math.Min(raw.Length, Size)).CopyTo(bytes);
            BinaryPrimitives.WriteInt32LittleEndian(bytes, Signal);
            return bytes;
        }
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, Signal);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], Errno);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], Code);
        if (Address is { } address)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[16..], address);
            return bytes;
        }
        if (Timer is not null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[16..], Pid);
            BinaryPrimitives.WriteInt32LittleEndian(span[20..], Overrun);
            BinaryPrimitives.WriteUInt64LittleEndian(span[24..], Value);
            return bytes;
        }
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], Pid);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], Uid);
        if (Signal == (int)Abi.Linux.Signal.SIGCHLD)
            BinaryPrimitives.WriteInt32LittleEndian(span[24..], Status);
        else
            BinaryPrimitives.WriteUInt64LittleEndian(span[24..], Value);
        return bytes;
    }

    /// <summary>What the tracer prints.</summary>
    public SignalInformation ToTrace()
    {
        var code = Code;
        var isChild = Signal == (int)Abi.Linux.Signal.SIGCHLD && code > 0;
        var timer = code == TimerCode && Timer is not null;
        return new SignalInformation((Signal)Signal, code)
        {
            SenderProcess = Address is null && !timer && code <= 0 || isChild ? Pid : null,
            SenderUser = Address is null && !timer && code <= 0 || isChild ? (int)Uid : null,
            Address = code > 0 && SignalInformation.HasAddress((Signal)Signal) ? Address ?? 0 : Address,
            Status = isChild ? Status : null,
            Value = code == Queue || timer ? Value : null,
            TimerId = timer ? Pid : null,
            Overrun = timer ? Overrun : null,
        };
    }
}

/// <summary>A pending set: standard signals coalesce (one each), real-time signals queue with their values.</summary>
public sealed class PendingSignals
{
    private readonly List<SignalInfo> queue = [];

    /// <summary>Bit (n-1) for each pending signal n.</summary>
    public ulong Set { get; private set; }

    public static ulong Bit(int signal) => 1UL << (signal - 1);

    /// <summary>Queues <paramref name="info"/>; false when a standard signal of that number was already pending.</summary>
    public bool Add(SignalInfo info)
    {
        if (info.Signal < 32 && (Set & Bit(info.Signal)) != 0)
            return false;
        queue.Add(info);
        Set |= Bit(info.Signal);
        return true;
    }

    public bool Contains(int signal) => (Set & Bit(signal)) != 0;

    /// <summary>This very instance is still queued (a timer counts overruns instead of queueing again).</summary>
    public bool Holds(SignalInfo info) => queue.Contains(info);

    /// <summary>Takes the oldest queued instance of <paramref name="signal"/>.</summary>
    public SignalInfo? Take(int signal)
    {
        var index = queue.FindIndex(info => info.Signal == signal);
        if (index < 0)
            return null;
        var info = queue[index];
        queue.RemoveAt(index);
        if (!queue.Exists(other => other.Signal == signal))
            Set &= ~Bit(signal);
        return info;
    }

    /// <summary>Drops every instance of the signals in <paramref name="mask"/> (SIGCONT discards stops, and the reverse; SIG_IGN).</summary>
    public void Discard(ulong mask)
    {
        queue.RemoveAll(info => (mask & Bit(info.Signal)) != 0);
        Set &= ~mask;
    }
}

/// <summary>Signal dispositions: what CLONE_SIGHAND shares. Each is the kernel's struct sigaction.</summary>
public sealed class SignalActions
{
    public const int Count = 64;
    public const ulong Default = 0, Ignore = 1;
    public const ulong OnStack = 0x08000000, Restart = 0x10000000, NoDefer = 0x40000000, ResetHand = 0x80000000,
        Information = 4, Restorer = 0x04000000, NoChildStop = 1, NoChildWait = 2, ExposeTagBits = 0x800;

    /// <summary>UAPI_SA_FLAGS: the sa_flags bits Linux keeps; others (a sign-extended int's) are dropped when stored.</summary>
    public const ulong KnownFlags = NoChildStop | NoChildWait | Information | OnStack | Restart | NoDefer | ResetHand | ExposeTagBits | Restorer;

    /// <summary>The raw struct sigaction per signal (handler, flags, restorer, mask), as rt_sigaction stored it.</summary>
    public byte[][] Actions { get; } = Enumerable.Range(0, Count).Select(_ => new byte[32]).ToArray();

    /// <summary>Processes sharing these dispositions (CLONE_SIGHAND without CLONE_THREAD).</summary>
    internal int Users { get; set; } = 1;

    public ulong Handler(int signal) => BinaryPrimitives.ReadUInt64LittleEndian(Actions[signal - 1]);
    public ulong Flags(int signal) => BinaryPrimitives.ReadUInt64LittleEndian(Actions[signal - 1].AsSpan(8));
    public ulong RestorerAddress(int signal) => BinaryPrimitives.ReadUInt64LittleEndian(Actions[signal - 1].AsSpan(16));
    public ulong Mask(int signal) => BinaryPrimitives.ReadUInt64LittleEndian(Actions[signal - 1].AsSpan(24));

    public void ResetToDefault(int signal) => Array.Clear(Actions[signal - 1]);

    /// <summary>SA_RESETHAND after the handler is entered: sa_handler becomes SIG_DFL and the rest stays, as Linux leaves it.</summary>
    public void ResetHandler(int signal) => Array.Clear(Actions[signal - 1], 0, 8);

    public SignalActions Copy()
    {
        var copy = new SignalActions();
        for (var i = 0; i < Count; i++)
            Actions[i].CopyTo(copy.Actions[i], 0);
        return copy;
    }
}

/// <summary>What a signal does when its disposition is SIG_DFL.</summary>
public enum DefaultAction
{
    Terminate,
    Core,
    Ignore,
    Stop,
    Continue,
}

public static class SignalDefaults
{
    public static DefaultAction Of(int signal) => (Signal)signal switch
    {
        Signal.SIGCHLD or Signal.SIGURG or Signal.SIGWINCH => DefaultAction.Ignore,
        Signal.SIGCONT => DefaultAction.Continue,
        Signal.SIGSTOP or Signal.SIGTSTP or Signal.SIGTTIN or Signal.SIGTTOU => DefaultAction.Stop,
        Signal.SIGQUIT or Signal.SIGILL or Signal.SIGTRAP or Signal.SIGABRT or Signal.SIGBUS or Signal.SIGFPE
            or Signal.SIGSEGV or Signal.SIGXCPU or Signal.SIGXFSZ or Signal.SIGSYS => DefaultAction.Core,
        _ => DefaultAction.Terminate,
    };

    /// <summary>Synchronous signals (faults) go first, as Linux's next_signal picks them.</summary>
    public static readonly ulong Synchronous = PendingSignals.Bit((int)Signal.SIGSEGV) | PendingSignals.Bit((int)Signal.SIGBUS)
        | PendingSignals.Bit((int)Signal.SIGILL) | PendingSignals.Bit((int)Signal.SIGTRAP) | PendingSignals.Bit((int)Signal.SIGFPE) | PendingSignals.Bit((int)Signal.SIGSYS);

    public static readonly ulong Unblockable = PendingSignals.Bit((int)Signal.SIGKILL) | PendingSignals.Bit((int)Signal.SIGSTOP);

    public static readonly ulong StopSignals = PendingSignals.Bit((int)Signal.SIGSTOP) | PendingSignals.Bit((int)Signal.SIGTSTP)
        | PendingSignals.Bit((int)Signal.SIGTTIN) | PendingSignals.Bit((int)Signal.SIGTTOU);
}
