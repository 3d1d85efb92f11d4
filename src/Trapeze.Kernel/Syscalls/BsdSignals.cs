using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;
using static Trapeze.Kernel.Syscalls.BsdGuest;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// The BSD signal calls (bound by the FreeBSD table's aliases): the same dispositions, masks and
/// alternate stack as <see cref="Signals"/>, in the system's own sigset_t (bit N-1 for its signal N,
/// <see cref="BsdAbi.SignalSetSize"/> bytes), sa_flags and ss_flags. Handlers run through the
/// personality's frames; sigreturn takes the ucontext_t the frame holds.
/// </summary>
public static class BsdSignals
{
    /// <summary>
    /// FreeBSD's struct sigaction (sys/signal.h): the handler, int sa_flags, sigset_t sa_mask, padded
    /// to a word. Stored in the kernel's form with Linux's flags; the trampoline is the kernel's own.
    /// </summary>
    [Syscall("freebsd_sigaction", Support = Support.Partial, Note = "handlers with SA_SIGINFO, SA_RESTART, SA_RESETHAND, SA_NODEFER, SA_ONSTACK, SA_NOCLDSTOP, SA_NOCLDWAIT, entered through the sigcode trampoline Trapeze maps; SIGTHR, SIGLIBRT, SIGEMT and SIGINFO, which Linux has no number for, are EINVAL")]
    public static Result FreeBsdAction(GuestThread thread, [Argument(ArgumentKind.Signal)] int signal, GuestAddress action, GuestAddress oldAction)
    {
        var word = WordSize(thread);
        var layout = new ActionLayout((word + 4 + AbiOf(thread).SignalSetSize + word - 1) / word * word, FlagsAt: word, MaskAt: word + 4);
        return ExchangeAction(thread, signal, action, layout, oldAction, layout);
    }

    /// <summary>Where a BSD struct sigaction keeps its fields after the handler (at 0); TrampolineAt -1: it has none.</summary>
    internal readonly record struct ActionLayout(int Size, int FlagsAt, int MaskAt, int TrampolineAt = -1);

    /// <summary>
    /// sigaction's exchange: the old disposition written in <paramref name="outgoing"/>'s layout, the new
    /// one read in <paramref name="incoming"/>'s and installed in the kernel's form (Linux's flags and set).
    /// </summary>
    internal static Result ExchangeAction(GuestThread thread, int signal, GuestAddress action, ActionLayout incoming, GuestAddress oldAction, ActionLayout outgoing)
    {
        if (signal < 1 || signal > SignalActions.Count)
            return Errno.EINVAL;
        if (!action.IsNull && signal is (int)Signal.SIGKILL or (int)Signal.SIGSTOP)
            return Errno.EINVAL;
        var abi = AbiOf(thread);
        var word = WordSize(thread);
        byte[]? kernelForm = null;
        if (!action.IsNull)
        {
            var guest = new byte[incoming.Size];
            if (thread.Memory.Read(action, guest) is var fault and not Errno.None)
                return fault;
            kernelForm = new byte[32];
            BinaryPrimitives.WriteUInt64LittleEndian(kernelForm, Word(guest, word));
            BinaryPrimitives.WriteUInt64LittleEndian(kernelForm.AsSpan(8), abi.ActionFlags(BinaryPrimitives.ReadUInt32LittleEndian(guest.AsSpan(incoming.FlagsAt)), toLinux: true));
            if (incoming.TrampolineAt >= 0)
                BinaryPrimitives.WriteUInt64LittleEndian(kernelForm.AsSpan(16), Word(guest.AsSpan(incoming.TrampolineAt), word));
            BinaryPrimitives.WriteUInt64LittleEndian(kernelForm.AsSpan(24), abi.SignalSetToLinux(guest.AsSpan(incoming.MaskAt, abi.SignalSetSize)));
        }
        if (!oldAction.IsNull)
        {
            var actions = thread.Process.Signals;
            var old = new byte[outgoing.Size];
            PutWord(old, actions.Handler(signal), word);
            BinaryPrimitives.WriteUInt32LittleEndian(old.AsSpan(outgoing.FlagsAt), (uint)abi.ActionFlags(actions.Flags(signal), toLinux: false));
            abi.SignalSetFromLinux(actions.Mask(signal)).CopyTo(old.AsSpan(outgoing.MaskAt));
            if (thread.Memory.Write(oldAction, old) is var writeFault and not Errno.None)
                return writeFault;
        }
        if (kernelForm is not null)
            Signals.Install(thread, signal, kernelForm);
        return 0;
    }

    /// <summary>sigprocmask(2): no size argument; the old mask is written only when the call succeeds.</summary>
    [Syscall("bsd_sigprocmask", Support = Support.Full)]
    public static Result ProcessMask(GuestThread thread, SignalMaskHow how, GuestAddress set, GuestAddress oldSet)
    {
        var abi = AbiOf(thread);
        var current = thread.SignalMask;
        ulong requested = 0;
        if (!set.IsNull)
        {
            if (ReadSet(thread, abi, set, out requested) is var fault and not Errno.None)
                return fault;
            if (how is not (SignalMaskHow.SIG_BLOCK or SignalMaskHow.SIG_UNBLOCK or SignalMaskHow.SIG_SETMASK))
                return Errno.EINVAL;
        }
        if (!oldSet.IsNull && thread.Memory.Write(oldSet, abi.SignalSetFromLinux(current)) is var writeFault and not Errno.None)
            return writeFault;
        if (!set.IsNull)
            Signals.ChangeMask(thread, how, requested);
        return 0;
    }

    [Syscall("bsd_sigpending", Support = Support.Full)]
    public static Result Pending(GuestThread thread, GuestAddress set)
        => thread.Memory.Write(set, AbiOf(thread).SignalSetFromLinux(Signals.PendingBlocked(thread))) is var fault and not Errno.None ? fault : 0;

    /// <summary>sigsuspend(2): the mask in place until a handler returns; always EINTR, never restarted after a handler.</summary>
    [Syscall("bsd_sigsuspend", Support = Support.Full)]
    public static Result Suspend(GuestThread thread, GuestAddress set)
    {
        if (thread.RetryState is ulong)
            return Signals.SuspendWith(thread, 0);
        return ReadSet(thread, AbiOf(thread), set, out var mask) is var fault and not Errno.None ? fault : Signals.SuspendWith(thread, mask);
    }

    /// <summary>sigreturn(2): the registers, FP state and mask of the ucontext_t given (the frame's, or one getcontext filled).</summary>
    [Syscall("bsd_sigreturn", Support = Support.Partial, Note = "a ucontext_t that cannot be read kills the process with SIGSEGV (FreeBSD answers EFAULT); mc_flags' segment registers are not loaded; the alternate stack in uc_stack is not set again")]
    public static Result SignalReturn(GuestThread thread, [Argument(ArgumentKind.SignalReturnFrame)] GuestAddress context)
        => Result.SignalReturn(SignalDelivery.SavedResult(thread, SignalFrameKind.RealTime));

    /// <summary>sigaltstack(2) with BSD's stack_t: ss_sp, ss_size, ss_flags (SS_ONSTACK 1, SS_DISABLE 4 on FreeBSD); a flag but SS_DISABLE is EINVAL.</summary>
    [Syscall("bsd_sigaltstack", Support = Support.Full)]
    public static Result AlternateStack(GuestThread thread, GuestAddress stack, GuestAddress oldStack)
    {
        var abi = AbiOf(thread);
        var word = WordSize(thread);
        var onStack = (int)abi.ConstantOr("SS_ONSTACK", 1);
        var disable = (int)abi.ConstantOr("SS_DISABLE", 4);
        var bytes = new byte[3 * word];
        ulong newBase = 0, newSize = 0;
        var newFlags = 0;
        if (!stack.IsNull)
        {
            if (thread.Memory.Read(stack, bytes) is var fault and not Errno.None)
                return fault;
            newBase = Word(bytes, word);
            newSize = Word(bytes.AsSpan(word), word);
            var flags = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(2 * word));
            // Only SS_DISABLE may be asked for (kern_sigaltstack).
            if ((flags & ~disable) != 0)
                return Errno.EINVAL;
            newFlags = (flags & disable) != 0 ? 2 : 0;
        }
        if (!oldStack.IsNull)
        {
            var (oldBase, linuxFlags, oldSize) = Signals.CurrentAlternateStack(thread);
            Array.Clear(bytes);
            PutWord(bytes, oldBase, word);
            PutWord(bytes.AsSpan(word), oldSize, word);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(2 * word), ((linuxFlags & 1) != 0 ? onStack : 0) | ((linuxFlags & 2) != 0 ? disable : 0));
            if (thread.Memory.Write(oldStack, bytes) is var writeFault and not Errno.None)
                return writeFault;
        }
        return stack.IsNull ? 0 : Signals.SetAlternateStack(thread, newBase, newFlags, newSize);
    }

    private static Errno ReadSet(GuestThread thread, BsdAbi abi, GuestAddress address, out ulong mask)
    {
        mask = 0;
        var set = new byte[abi.SignalSetSize];
        if (thread.Memory.Read(address, set) is var fault and not Errno.None)
            return fault;
        mask = abi.SignalSetToLinux(set);
        return Errno.None;
    }
}
