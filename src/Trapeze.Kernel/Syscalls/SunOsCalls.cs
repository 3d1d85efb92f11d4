using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// SunOS 4's calls whose meaning differs from Linux's (bound by the SunOS table's aliases): the 4.3BSD
/// calls that answer in two registers, brk's 0-or-error, and the 4.2BSD signal masks (bit N-1 for
/// signal N, in SunOS's numbering).
/// </summary>
public static class SunOsCalls
{
    [Syscall("sunos_getpid", Support = Support.Full, Note = "getpid(2): the process ID, and the parent's as the second result (%o1)")]
    public static Result GetProcessIds(GuestThread thread)
    {
        thread.SecondResult = (ulong)thread.Process.ParentId;
        return thread.Process.Id;
    }

    [Syscall("sunos_getuid", Support = Support.Full, Note = "getuid(2): the real user ID, and the effective one as the second result (%o1)")]
    public static Result GetUserIds(GuestThread thread)
    {
        thread.SecondResult = thread.Process.Credentials.EffectiveUser;
        return thread.Process.Credentials.RealUser;
    }

    [Syscall("sunos_getgid", Support = Support.Full, Note = "getgid(2): the real group ID, and the effective one as the second result (%o1)")]
    public static Result GetGroupIds(GuestThread thread)
    {
        thread.SecondResult = thread.Process.Credentials.EffectiveGroup;
        return thread.Process.Credentials.RealGroup;
    }

    /// <summary>brk(2): 0 once the break is at <paramref name="address"/>, ENOMEM when it cannot move there.</summary>
    [Syscall("sunos_brk", Support = Support.Full, Note = "brk(2) of SunOS: 0 or ENOMEM (Linux's answers the new break)")]
    public static Result Break(GuestThread thread, [Argument(ArgumentKind.Address)] ulong address)
    {
        if (address < thread.Process.BreakStart)
            return Errno.ENOMEM;
        return (ulong)MemoryCalls.Break(thread, address).Raw == address ? 0 : Errno.ENOMEM;
    }

    [Syscall("getpagesize", Support = Support.Full, Note = "4096, a sun4c's and sun4m's page")]
    public static Result GetPageSize(GuestThread thread) => (long)AddressSpace.PageSize;

    [Syscall("getdtablesize", Support = Support.Full, Note = "the soft RLIMIT_NOFILE")]
    public static Result GetDescriptorTableSize(GuestThread thread)
        => (long)Math.Min(thread.Process.ResourceLimits[RlimitResource.RLIMIT_NOFILE].Current, int.MaxValue);

    [Syscall("sigblock", Support = Support.Full, Note = "adds to the signal mask; answers the old mask")]
    public static Result Block(GuestThread thread, uint mask) => SetMask(thread, Mask(thread) | mask);

    [Syscall("sigsetmask", Support = Support.Full, Note = "replaces the signal mask; answers the old mask")]
    public static Result SetMask(GuestThread thread, uint mask)
    {
        var old = Mask(thread);
        var abi = BsdAbi.SunOs4;
        ulong linux = 0;
        for (var signal = 1; signal <= 32; signal++)
        {
            if ((mask & (1u << (signal - 1))) != 0 && abi.SignalToLinux(signal) is int translated and > 0)
                linux |= 1UL << (translated - 1);
        }
        thread.SignalMask = linux & ~SignalDefaults.Unblockable;
        SignalDelivery.PendingChanged(thread);
        return old;
    }

    /// <summary>The caller's signal mask in SunOS's numbering.</summary>
    private static uint Mask(GuestThread thread)
    {
        uint mask = 0;
        for (var linux = 1; linux <= 64; linux++)
        {
            if ((thread.SignalMask & (1UL << (linux - 1))) != 0 && BsdAbi.SunOs4.SignalFromLinux(linux) is var signal and >= 1 and <= 32)
                mask |= 1u << (int)(signal - 1);
        }
        return mask;
    }
}
