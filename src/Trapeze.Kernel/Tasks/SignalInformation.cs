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

    /// <summary>What the kernel reports for a fault that ends in <paramref name="status"/>.</summary>
    public static SignalInformation ForExit(ExitStatus status) => status switch
    {
        { Information: { } information } => information.ToTrace(),
        { Signal: { } signal, FaultAddress: { } address } => new(signal, status.FaultUnmapped ? 1 : 2) { Address = address },
        { Signal: { } signal } => new(signal, Kernel),
        _ => throw new ArgumentException("the process was not killed by a signal", nameof(status)),
    };
}
