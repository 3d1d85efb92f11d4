using System.Buffers.Binary;
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
        thread.SignalMask = MaskToLinux(mask) & ~SignalDefaults.Unblockable;
        SignalDelivery.PendingChanged(thread);
        return old;
    }

    /// <summary>
    /// sigvec(2) with struct sigvec (sv_handler, sv_mask, sv_flags): 4.2BSD's restarting calls unless
    /// SV_INTERRUPT, SV_ONSTACK, SV_RESETHAND and SA_NOCLDSTOP. The kernel enters sv_handler itself with
    /// (sig, code, scp, addr); the C library's trampoline returns through sigcleanup.
    /// </summary>
    [Syscall("sigvec", Support = Support.Partial, Note = "sv_handler is entered with (sig, code, scp, addr), code 0 and addr 0 for a signal sent by kill; SIGEMT and SIGLOST, which Linux has no number for, are EINVAL")]
    public static Result Vector(GuestThread thread, [Argument(ArgumentKind.Signal)] int signal, GuestAddress vector, GuestAddress oldVector)
    {
        if (signal < 1 || signal > SignalActions.Count)
            return Errno.EINVAL;
        if (!vector.IsNull && signal is (int)Signal.SIGKILL or (int)Signal.SIGSTOP)
            return Errno.EINVAL;
        var abi = BsdAbi.SunOs4;
        var guest = new byte[12];
        byte[]? incoming = null;
        if (!vector.IsNull)
        {
            if (thread.Memory.Read(vector, guest) is var fault and not Errno.None)
                return fault;
            var flags = BinaryPrimitives.ReadUInt32BigEndian(guest.AsSpan(8));
            ulong linuxFlags = (flags & abi.Constant("SV_INTERRUPT")) != 0 ? 0 : SignalActions.Restart;
            if ((flags & abi.Constant("SV_ONSTACK")) != 0)
                linuxFlags |= SignalActions.OnStack;
            if ((flags & abi.Constant("SV_RESETHAND")) != 0)
                linuxFlags |= SignalActions.ResetHand;
            if ((flags & abi.Constant("SA_NOCLDSTOP")) != 0)
                linuxFlags |= SignalActions.NoChildStop;
            incoming = new byte[32];
            BinaryPrimitives.WriteUInt64LittleEndian(incoming, BinaryPrimitives.ReadUInt32BigEndian(guest));
            BinaryPrimitives.WriteUInt64LittleEndian(incoming.AsSpan(8), linuxFlags);
            BinaryPrimitives.WriteUInt64LittleEndian(incoming.AsSpan(24), MaskToLinux(BinaryPrimitives.ReadUInt32BigEndian(guest.AsSpan(4))));
        }
        if (!oldVector.IsNull)
        {
            var actions = thread.Process.Signals;
            var flags = actions.Flags(signal);
            var oldFlags = ((flags & SignalActions.Restart) == 0 ? abi.Constant("SV_INTERRUPT") : 0)
                | ((flags & SignalActions.OnStack) != 0 ? abi.Constant("SV_ONSTACK") : 0)
                | ((flags & SignalActions.ResetHand) != 0 ? abi.Constant("SV_RESETHAND") : 0)
                | ((flags & SignalActions.NoChildStop) != 0 ? abi.Constant("SA_NOCLDSTOP") : 0);
            BinaryPrimitives.WriteUInt32BigEndian(guest, (uint)actions.Handler(signal));
            BinaryPrimitives.WriteUInt32BigEndian(guest.AsSpan(4), MaskFromLinux(actions.Mask(signal)));
            BinaryPrimitives.WriteUInt32BigEndian(guest.AsSpan(8), (uint)oldFlags);
            if (thread.Memory.Write(oldVector, guest) is var writeFault and not Errno.None)
                return writeFault;
        }
        if (incoming is not null)
            Signals.Install(thread, signal, incoming);
        return 0;
    }

    /// <summary>sigcleanup: the trampoline's way back, with the struct sigcontext the kernel gave the handler in %o0 (its registers, mask and stack).</summary>
    [Syscall("sigcleanup", Support = Support.Partial, Note = "takes the sigcontext's address in %o0; sc_onstack is answered from the stack pointer")]
    public static Result Cleanup(GuestThread thread, [Argument(ArgumentKind.SignalReturnFrame)] GuestAddress context)
        => Result.SignalReturn(SignalDelivery.SavedResult(thread, SignalFrameKind.RealTime));

    /// <summary>A SunOS signal mask (bit n-1 for its signal n) as the kernel's.</summary>
    internal static ulong MaskToLinux(uint mask)
    {
        ulong linux = 0;
        for (var signal = 1; signal <= 32; signal++)
        {
            if ((mask & (1u << (signal - 1))) != 0 && BsdAbi.SunOs4.SignalToLinux(signal) is int translated and > 0)
                linux |= 1UL << (translated - 1);
        }
        return linux;
    }

    /// <summary>The kernel's mask in SunOS's numbering.</summary>
    internal static uint MaskFromLinux(ulong linuxMask)
    {
        uint mask = 0;
        for (var linux = 1; linux <= 64; linux++)
        {
            if ((linuxMask & (1UL << (linux - 1))) != 0 && BsdAbi.SunOs4.SignalFromLinux(linux) is var signal and >= 1 and <= 32)
                mask |= 1u << (int)(signal - 1);
        }
        return mask;
    }

    /// <summary>The caller's signal mask in SunOS's numbering.</summary>
    private static uint Mask(GuestThread thread) => MaskFromLinux(thread.SignalMask);
}
