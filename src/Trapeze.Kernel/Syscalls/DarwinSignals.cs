using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;
using static Trapeze.Kernel.Syscalls.BsdGuest;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// Darwin's own signal calls (XNU bsd/kern/kern_sig.c): sigaction with struct __sigaction, whose sa_tramp
/// is the trampoline sendsig enters (libSystem's _sigtramp), sigsuspend with its mask by value, and
/// sigreturn(uctx, infostyle, token). sigprocmask, sigpending and sigaltstack are <see cref="BsdSignals"/>'
/// on Darwin's 32-bit sigset_t. Numbers, flags and sets are Darwin's, translated by name; the kernel keeps Linux's.
/// </summary>
public static class DarwinSignals
{
    /// <summary>
    /// sigaction(2): <paramref name="action"/> is struct __sigaction (handler, sa_tramp, sa_mask, sa_flags),
    /// <paramref name="oldAction"/> the user's struct sigaction (handler, sa_mask, sa_flags).
    /// </summary>
    [Syscall("darwin_sigaction", Support = Support.Partial, Note = "struct __sigaction with sa_tramp, which the handler is entered through (sendsig's catcher, infostyle, signo, siginfo, ucontext); SA_ONSTACK, SA_RESTART, SA_RESETHAND, SA_NODEFER, SA_SIGINFO, SA_NOCLDSTOP, SA_NOCLDWAIT; SIGEMT and SIGINFO, which Linux has no number for, are EINVAL")]
    public static Result Action(GuestThread thread, [Argument(ArgumentKind.Signal)] int signal, GuestAddress action, GuestAddress oldAction)
    {
        var word = WordSize(thread);
        return BsdSignals.ExchangeAction(thread, signal, action, new(2 * word + 8, FlagsAt: 2 * word + 4, MaskAt: 2 * word, TrampolineAt: word),
            oldAction, new(word + 8, FlagsAt: word + 4, MaskAt: word));
    }

    /// <summary>sigsuspend(2): the mask arrives by value; the call ends only with EINTR, once a handler has run.</summary>
    [Syscall("darwin_sigsuspend", Support = Support.Full)]
    public static Result Suspend(GuestThread thread, uint mask)
    {
        Span<byte> set = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(set, mask);
        return Signals.SuspendWith(thread, AbiOf(thread).SignalSetToLinux(set));
    }

    /// <summary>
    /// sigreturn(2): the registers, FP state and mask come back from the ucontext's mcontext (the frames
    /// read it at <paramref name="context"/>). UC_SET_ALT_STACK and UC_RESET_ALT_STACK only set the
    /// on-stack state, which Trapeze answers from the stack pointer: they return 0.
    /// </summary>
    [Syscall("darwin_sigreturn", Support = Support.Partial, Note = "the token is not checked (as with sigreturn validation disabled); uc_onstack is answered from the stack pointer")]
    public static Result SignalReturn(GuestThread thread, [Argument(ArgumentKind.SignalReturnFrame)] GuestAddress context, int style, ulong token)
    {
        var abi = AbiOf(thread);
        if ((uint)style == (uint)abi.Constant("UC_SET_ALT_STACK") || (uint)style == (uint)abi.Constant("UC_RESET_ALT_STACK"))
            return 0;
        return Result.SignalReturn(SignalDelivery.SavedResult(thread, SignalFrameKind.RealTime));
    }
}
