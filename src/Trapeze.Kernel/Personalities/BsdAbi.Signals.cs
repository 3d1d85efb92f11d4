using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// The signal vocabulary of a BSD-derived system next to Linux's, which the kernel keeps (dispositions,
/// masks and pending sets are Linux's bits): signal sets, sa_flags and si_code by name from the system's
/// constant table, for any system's sigaction, sigprocmask and signal frames.
/// </summary>
public sealed partial class BsdAbi
{
    /// <summary>The system's sa_flags and the kernel's (Linux's) bit for each, by name.</summary>
    private static readonly (string Name, ulong Linux)[] ActionFlagNames =
    [
        ("SA_ONSTACK", SignalActions.OnStack), ("SA_RESTART", SignalActions.Restart), ("SA_RESETHAND", SignalActions.ResetHand),
        ("SA_NODEFER", SignalActions.NoDefer), ("SA_SIGINFO", SignalActions.Information), ("SA_NOCLDSTOP", SignalActions.NoChildStop),
        ("SA_NOCLDWAIT", SignalActions.NoChildWait),
    ];

    /// <summary>A signal set of the system (bit n-1 for its signal n) as the kernel's; signals Linux lacks (SIGEMT, SIGINFO) drop out.</summary>
    public ulong SignalSetToLinux(ulong set)
    {
        ulong linux = 0;
        for (var signal = 1; signal <= 64; signal++)
        {
            if ((set & (1UL << (signal - 1))) != 0 && SignalToLinux(signal) is var translated and > 0)
                linux |= PendingSignals.Bit(translated);
        }
        return linux;
    }

    /// <summary>The kernel's signal set in the system's numbering.</summary>
    public ulong SignalSetFromLinux(ulong linux)
    {
        ulong set = 0;
        for (var signal = 1; signal <= 64; signal++)
        {
            if ((linux & PendingSignals.Bit(signal)) != 0 && SignalFromLinux(signal) is var translated and >= 1 and <= 64)
                set |= 1UL << (int)(translated - 1);
        }
        return set;
    }

    /// <summary>sa_flags of the system as the kernel's; flags the system does not define stay out.</summary>
    public ulong ActionFlagsToLinux(ulong flags)
    {
        ulong linux = 0;
        foreach (var (name, bit) in ActionFlagNames)
        {
            if (constants.TryGetValue(name, out var value) && (flags & (ulong)value) != 0)
                linux |= bit;
        }
        return linux;
    }

    public ulong ActionFlagsFromLinux(ulong linux)
    {
        ulong flags = 0;
        foreach (var (name, bit) in ActionFlagNames)
        {
            if (constants.TryGetValue(name, out var value) && (linux & bit) != 0)
                flags |= (ulong)value;
        }
        return flags;
    }

    /// <summary>
    /// si_code as the system spells it: the user codes (SI_USER, SI_QUEUE, SI_TIMER; a thread kill is
    /// SI_USER) are the system's own; fault and child codes (SEGV_MAPERR, CLD_EXITED...) agree with Linux's.
    /// </summary>
    public int SignalCodeFromLinux(SignalInfo info)
    {
        var user = (int)constants.GetValueOrDefault("SI_USER", SignalInfo.User);
        return info.Code switch
        {
            SignalInfo.User or SignalInfo.ThreadKill => user,
            SignalInfo.Queue => (int)constants.GetValueOrDefault("SI_QUEUE", SignalInfo.Queue),
            SignalInfo.TimerCode => (int)constants.GetValueOrDefault("SI_TIMER", SignalInfo.TimerCode),
            SignalInfo.KernelCode => 0,
            _ => info.Code,
        };
    }

    /// <summary>A constant the table may lack, with a fallback.</summary>
    public long ConstantOr(string name, long fallback) => constants.GetValueOrDefault(name, fallback);
}
