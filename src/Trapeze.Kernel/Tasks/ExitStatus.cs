using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Tasks;

/// <summary>How a process ended: an exit code, or a signal (with what caused it, for the user).</summary>
public sealed record ExitStatus(int Code, Signal? Signal = null, string? Detail = null)
{
    public static ExitStatus Exited(int code) => new(code & 0xff);

    public static ExitStatus Killed(Signal signal, string? detail = null) => new(128 + (int)signal, signal, detail);

    /// <summary>For a fault: the address touched, and whether it was unmapped (SEGV_MAPERR) or protected (SEGV_ACCERR).</summary>
    public ulong? FaultAddress { get; init; }
    public bool FaultUnmapped { get; init; }

    /// <summary>The siginfo of the signal that killed the process (strace's last "--- SIG... ---" line).</summary>
    public SignalInfo? Information { get; init; }

    /// <summary>A core dump was produced (WCOREDUMP); Trapeze writes none, so only the signals code sets it.</summary>
    public bool CoreDumped { get; init; }

    /// <summary>The wait(2) status word.</summary>
    public int WaitStatus => Signal is { } signal ? (int)signal | (CoreDumped ? 0x80 : 0) : (Code & 0xff) << 8;

    /// <summary>strsignal(3)'s text for the signals a program commonly dies of.</summary>
    public static string Describe(Signal signal) => signal switch
    {
        Abi.Linux.Signal.SIGSEGV => "Segmentation fault",
        Abi.Linux.Signal.SIGBUS => "Bus error",
        Abi.Linux.Signal.SIGILL => "Illegal instruction",
        Abi.Linux.Signal.SIGFPE => "Floating point exception",
        Abi.Linux.Signal.SIGABRT => "Aborted",
        Abi.Linux.Signal.SIGTRAP => "Trace/breakpoint trap",
        Abi.Linux.Signal.SIGKILL => "Killed",
        Abi.Linux.Signal.SIGTERM => "Terminated",
        Abi.Linux.Signal.SIGINT => "Interrupt",
        Abi.Linux.Signal.SIGPIPE => "Broken pipe",
        Abi.Linux.Signal.SIGSYS => "Bad system call",
        Abi.Linux.Signal.SIGALRM => "Alarm clock",
        Abi.Linux.Signal.SIGHUP => "Hangup",
        _ => signal.ToString(),
    };
}
