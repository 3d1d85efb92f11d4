using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Trace;

/// <summary>strace's signal line: "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---".</summary>
public static class SignalFormatter
{
    public static string Line(SignalInformation information)
        => $"--- {ArgumentFormatter.SignalName((int)information.Signal)} {Fields(information)} ---";

    /// <summary>A siginfo_t as strace prints it: {si_signo=SIGUSR1, si_code=SI_QUEUE, si_pid=1, si_uid=0, si_int=42, si_ptr=0x2a}.</summary>
    public static string Fields(SignalInformation information)
    {
        var signal = information.Signal;
        var fields = new List<string> { $"si_signo={ArgumentFormatter.SignalName((int)signal)}", $"si_code={CodeName(signal, information.Code)}" };
        if (information.TimerId is { } timer)
            fields.AddRange([$"si_timerid={(timer == 0 ? "0" : $"0x{timer:x}")}", $"si_overrun={information.Overrun ?? 0}"]);
        if (information.SenderProcess is { } sender)
            fields.Add($"si_pid={sender}");
        if (information.SenderUser is { } user)
            fields.Add($"si_uid={user}");
        if (signal == Signal.SIGCHLD && information.Status is { } status)
            fields.AddRange([$"si_status={(information.Code == ChildExited ? status.ToString() : ArgumentFormatter.SignalName(status))}", "si_utime=0", "si_stime=0"]);
        if (information.Value is { } value)
            fields.AddRange([$"si_int={(int)value}", $"si_ptr={ArgumentFormatter.Address(value)}"]);
        if (information.Address is { } address)
            fields.Add($"si_addr={ArgumentFormatter.Address(address)}");
        return $"{{{string.Join(", ", fields)}}}";
    }

    private const int ChildExited = 1;

    /// <summary>si_code by name: the generic codes, and those of the fault and child signals.</summary>
    private static string CodeName(Signal signal, int code)
    {
        var specific = signal switch
        {
            Signal.SIGSEGV => code switch { 1 => "SEGV_MAPERR", 2 => "SEGV_ACCERR", _ => null },
            Signal.SIGBUS => code switch { 1 => "BUS_ADRALN", 2 => "BUS_ADRERR", 3 => "BUS_OBJERR", _ => null },
            Signal.SIGILL => code switch { 1 => "ILL_ILLOPC", 2 => "ILL_ILLOPN", 3 => "ILL_ILLADR", 4 => "ILL_ILLTRP", _ => null },
            Signal.SIGFPE => code switch { 1 => "FPE_INTDIV", 2 => "FPE_INTOVF", 3 => "FPE_FLTDIV", _ => null },
            Signal.SIGTRAP => code switch { 1 => "TRAP_BRKPT", 2 => "TRAP_TRACE", _ => null },
            Signal.SIGCHLD => code switch { 1 => "CLD_EXITED", 2 => "CLD_KILLED", 3 => "CLD_DUMPED", 4 => "CLD_TRAPPED", 5 => "CLD_STOPPED", 6 => "CLD_CONTINUED", _ => null },
            _ => null,
        };
        if (specific is not null && code > 0 && code < SignalInformation.Kernel)
            return specific;
        return code switch
        {
            SignalInformation.User => "SI_USER",
            SignalInformation.Kernel => "SI_KERNEL",
            -1 => "SI_QUEUE",
            -2 => "SI_TIMER",
            -3 => "SI_MESGQ",
            -4 => "SI_ASYNCIO",
            SignalInformation.ThreadKill => "SI_TKILL",
            _ => code.ToString(),
        };
    }
}
