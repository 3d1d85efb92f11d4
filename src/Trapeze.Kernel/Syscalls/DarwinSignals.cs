using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// Darwin's signal calls (XNU bsd/kern/kern_sig.c): sigaction with struct __sigaction, whose sa_tramp
/// is the trampoline sendsig enters (libSystem's _sigtramp), sigprocmask and sigsuspend on a 32-bit
/// sigset_t, and sigreturn with the ucontext sendsig built. Numbers, flags and sets are Darwin's,
/// translated by name (<see cref="BsdAbi"/>); the kernel keeps Linux's.
/// </summary>
public static class DarwinSignals
{
    private static BsdAbi Abi(GuestThread thread) => ((BsdPersonality)thread.Process.Personality).Abi;

    private static bool Wide(GuestThread thread) => thread.Process.Personality.Architecture == CpuArchitecture.X86_64;

    /// <summary>
    /// sigaction(2): <paramref name="action"/> is struct __sigaction (handler, sa_tramp, sa_mask, sa_flags),
    /// <paramref name="oldAction"/> the user's struct sigaction (handler, sa_mask, sa_flags).
    /// </summary>
    [Syscall("darwin_sigaction", Support = Support.Full, Note = "struct __sigaction with sa_tramp, which the handler is entered through (sendsig's catcher, infostyle, signo, siginfo, ucontext); SA_ONSTACK, SA_RESTART, SA_RESETHAND, SA_NODEFER, SA_SIGINFO, SA_NOCLDSTOP, SA_NOCLDWAIT")]
    public static Result Action(GuestThread thread, [Argument(ArgumentKind.Signal)] int signal, GuestAddress action, GuestAddress oldAction)
    {
        if (signal < 1 || signal > SignalActions.Count)
            return Errno.EINVAL;
        if (!action.IsNull && signal is (int)Signal.SIGKILL or (int)Signal.SIGSTOP)
            return Errno.EINVAL;
        var abi = Abi(thread);
        var word = Wide(thread) ? 8 : 4;
        Span<byte> incoming = stackalloc byte[2 * word + 8];
        if (!action.IsNull && thread.Memory.Read(action, incoming) is var readFault and not Errno.None)
            return readFault;
        var actions = thread.Process.Signals;
        if (!oldAction.IsNull)
        {
            Span<byte> old = stackalloc byte[word + 8];
            WriteWord(old, actions.Handler(signal), word);
            BinaryPrimitives.WriteUInt32LittleEndian(old[word..], (uint)abi.SignalSetFromLinux(actions.Mask(signal)));
            BinaryPrimitives.WriteUInt32LittleEndian(old[(word + 4)..], (uint)abi.ActionFlagsFromLinux(actions.Flags(signal)));
            if (thread.Memory.Write(oldAction, old) is var writeFault and not Errno.None)
                return writeFault;
        }
        if (action.IsNull)
            return 0;
        var handler = ReadWord(incoming, word);
        var trampoline = ReadWord(incoming[word..], word);
        var mask = abi.SignalSetToLinux(BinaryPrimitives.ReadUInt32LittleEndian(incoming[(2 * word)..])) & ~SignalDefaults.Unblockable;
        var flags = abi.ActionFlagsToLinux(BinaryPrimitives.ReadUInt32LittleEndian(incoming[(2 * word + 4)..]));
        var slot = actions.Actions[signal - 1];
        BinaryPrimitives.WriteUInt64LittleEndian(slot, handler);
        BinaryPrimitives.WriteUInt64LittleEndian(slot.AsSpan(8), flags);
        BinaryPrimitives.WriteUInt64LittleEndian(slot.AsSpan(16), trampoline);
        BinaryPrimitives.WriteUInt64LittleEndian(slot.AsSpan(24), mask);
        SignalDelivery.DiscardIgnored(thread.Process, signal);
        if (signal is (int)Signal.SIGSEGV or (int)Signal.SIGBUS && handler > SignalActions.Ignore)
            thread.Process.Cpu.RequestPreciseFaults();
        return 0;
    }

    /// <summary>sigprocmask(2) and __pthread_sigmask: SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK of Darwin's values on a 32-bit set; the old set is written last.</summary>
    [Syscall("darwin_sigprocmask", Support = Support.Full)]
    public static Result ProcessMask(GuestThread thread, int how, GuestAddress set, GuestAddress oldSet)
    {
        var abi = Abi(thread);
        var old = (uint)abi.SignalSetFromLinux(thread.SignalMask);
        if (!set.IsNull)
        {
            if (thread.Memory.Read(set, out uint requested) is var fault and not Errno.None)
                return fault;
            var linux = abi.SignalSetToLinux(requested) & ~SignalDefaults.Unblockable;
            if (how == abi.Constant("SIG_BLOCK"))
                thread.SignalMask |= linux;
            else if (how == abi.Constant("SIG_UNBLOCK"))
                thread.SignalMask &= ~linux;
            else if (how == abi.Constant("SIG_SETMASK"))
                thread.SignalMask = linux;
            else
                return Errno.EINVAL;
            SignalDelivery.PendingChanged(thread);
        }
        return oldSet.IsNull ? 0 : thread.Memory.Write(oldSet, old) is var writeFault and not Errno.None ? writeFault : 0;
    }

    /// <summary>sigpending(2): the pending signals the caller blocks, as a 32-bit set.</summary>
    [Syscall("darwin_sigpending", Support = Support.Full)]
    public static Result Pending(GuestThread thread, GuestAddress set)
    {
        var pending = (thread.Pending.Set | thread.Process.SharedPending.Set) & thread.SignalMask;
        return thread.Memory.Write(set, (uint)Abi(thread).SignalSetFromLinux(pending)) is var fault and not Errno.None ? fault : 0;
    }

    /// <summary>sigsuspend(2): the mask arrives by value; the call ends only with EINTR, once a handler has run.</summary>
    [Syscall("darwin_sigsuspend", Support = Support.Full)]
    public static Result Suspend(GuestThread thread, uint mask)
    {
        if (thread.RetryState is not ulong saved)
        {
            saved = thread.SignalMask;
            thread.RetryState = saved;
            thread.SignalMask = Abi(thread).SignalSetToLinux(mask) & ~SignalDefaults.Unblockable;
            if (((thread.Pending.Set | thread.Process.SharedPending.Set) & ~thread.SignalMask) != 0)
            {
                thread.SavedMask = saved;
                return Result.Interrupted(RestartRule.OnlyWithoutHandler);
            }
        }
        var slept = thread.Block(new Wait());
        if (slept.Control is Restart)
        {
            // The handler's frame saves the caller's own mask, which sigreturn puts back.
            thread.SavedMask = saved;
            return Result.Interrupted(RestartRule.OnlyWithoutHandler);
        }
        return slept;
    }

    /// <summary>
    /// sigreturn(2): the registers, FP state and mask come back from the ucontext's mcontext (the frames
    /// read it at <paramref name="context"/>). UC_SET_ALT_STACK and UC_RESET_ALT_STACK only set the
    /// on-stack state, which Trapeze answers from the stack pointer: they return 0.
    /// </summary>
    [Syscall("darwin_sigreturn", Support = Support.Partial, Note = "the token is not checked (as with sigreturn validation disabled); uc_onstack is answered from the stack pointer")]
    public static Result SignalReturn(GuestThread thread, GuestAddress context, int style, ulong token)
    {
        var abi = Abi(thread);
        if ((uint)style == (uint)abi.Constant("UC_SET_ALT_STACK") || (uint)style == (uint)abi.Constant("UC_RESET_ALT_STACK"))
            return 0;
        Span<byte> probe = stackalloc byte[1];
        if (thread.Memory.Read(context, probe) is var fault and not Errno.None)
            return fault;
        return Result.SignalReturn(SignalDelivery.SavedResult(thread, SignalFrameKind.RealTime));
    }

    private static ulong ReadWord(ReadOnlySpan<byte> bytes, int word)
        => word == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes);

    private static void WriteWord(Span<byte> bytes, ulong value, int word)
    {
        if (word == 8)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        else
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)value);
    }
}
