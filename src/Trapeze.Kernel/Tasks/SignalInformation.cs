using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// The siginfo of a signal being delivered, as far as the tracer prints it. Code is si_code:
/// SI_USER 0, SI_KERNEL 0x80, SI_TKILL -6, or the signal's own codes (SEGV_MAPERR 1, CLD_EXITED 1...).
/// </summary>
public sealed record SignalInformation(Signal Signal, int Code)
{
    public const int User = 0;
    public const int Kernel = 0x80;
    public const int ThreadKill = -6;

    /// <summary>si_pid and si_uid, for signals sent by a process and for SIGCHLD.</summary>
    public int? SenderProcess { get; init; }
    public int? SenderUser { get; init; }

    /// <summary>si_addr, for faults.</summary>
    public ulong? Address { get; init; }

    /// <summary>si_status, for SIGCHLD.</summary>
    public int? Status { get; init; }

    /// <summary>si_value (si_int, si_ptr), for sigqueue's and timers' signals.</summary>
    public ulong? Value { get; init; }

    /// <summary>si_timerid and si_overrun, for a POSIX timer's signal.</summary>
    public int? TimerId { get; init; }
    public int? Overrun { get; init; }

    /// <summary>The signals whose kernel-sent siginfo holds si_addr (strace prints it, NULL included).</summary>
    public static bool HasAddress(Signal signal) => signal is Signal.SIGSEGV or Signal.SIGBUS or Signal.SIGILL or Signal.SIGFPE or Signal.SIGTRAP;

    /// <summary>A siginfo_t as the guest holds it (rt_sigqueueinfo's argument, rt_sigtimedwait's answer), in a layout of <paramref name="wordSize"/>-byte pointers.</summary>
    public static SignalInformation FromBytes(ReadOnlySpan<byte> bytes, int wordSize)
    {
        var signal = (Signal)BinaryPrimitives.ReadInt32LittleEndian(bytes);
        var code = BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
        // The union after si_signo, si_errno and si_code: two ints (si_pid and si_uid, or si_timerid and
        // si_overrun) then si_value or si_status; or si_addr.
        var fields = bytes[(wordSize == 8 ? 16 : 12)..];
        var first = BinaryPrimitives.ReadInt32LittleEndian(fields);
        var second = BinaryPrimitives.ReadInt32LittleEndian(fields[4..]);
        var third = wordSize == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(fields[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(fields[8..]);
        var address = wordSize == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(fields) : BinaryPrimitives.ReadUInt32LittleEndian(fields);
        return code switch
        {
            SignalInfo.TimerCode => new(signal, code) { TimerId = first, Overrun = second, Value = third },
            SignalInfo.Queue => new(signal, code) { SenderProcess = first, SenderUser = second, Value = third },
            <= 0 => new(signal, code) { SenderProcess = first, SenderUser = second },
            _ when signal == Signal.SIGCHLD => new(signal, code) { SenderProcess = first, SenderUser = second, Status = (int)third },
            _ when HasAddress(signal) => new(signal, code) { Address = address },
            _ => new(signal, code),
        };
    }

    /// <summary>What the kernel reports for a fault that ends in <paramref name="status"/>.</summary>
    public static SignalInformation ForExit(ExitStatus status) => status switch
    {
        { Information: { } information } => information.ToTrace(),
        { Signal: { } signal, FaultAddress: { } address } => new(signal, status.FaultUnmapped ? 1 : 2) { Address = address },
        { Signal: { } signal } => new(signal, Kernel),
        _ => throw new ArgumentException("the process was not killed by a signal", nameof(status)),
    };
}
