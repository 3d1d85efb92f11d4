using Trapeze.Cpu;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// The ABI's part of signal delivery: the frame a handler runs on and how the handler is entered,
/// what sigreturn and rt_sigreturn read back, and how an interrupted call is set to run again.
/// <see cref="SignalDelivery"/> decides which signal, which stack and which mask; this lays out the bytes.
/// </summary>
public abstract class SignalFrames
{
    /// <summary>The stack pointer (sigaltstack asks whether the thread runs on its alternate stack).</summary>
    public abstract ulong StackPointer(ICpu cpu);

    /// <summary>
    /// Builds the frame for <paramref name="info"/> and points the CPU at <paramref name="handler"/>; the
    /// frame saves <paramref name="savedMask"/>. False when the frame cannot be written (no room, or a bad stack).
    /// </summary>
    public abstract bool Enter(GuestThread thread, ICpu cpu, SignalInfo info, ulong handler, ulong flags, ulong savedMask);

    /// <summary>sigreturn (<paramref name="realtime"/> false) or rt_sigreturn: registers, mask and FP state from the frame.</summary>
    public abstract bool Return(GuestThread thread, ICpu cpu, bool realtime);

    /// <summary>The result register the frame at the stack pointer will restore (strace prints it as sigreturn's result).</summary>
    public abstract long SavedResult(GuestThread thread, ICpu cpu, bool realtime);

    /// <summary>Puts the program counter on a faulting instruction, which the handler's frame saves.</summary>
    public abstract void SetProgramCounter(ICpu cpu, ulong address);

    /// <summary>Sets an interrupted call to run again: the program counter on its syscall instruction and its registers as they were.</summary>
    public abstract void Rewind(ICpu cpu, ulong number, ulong syscallAddress, ulong firstArgument);

    /// <summary>The top of the stack the frame goes on: the alternate stack when the handler asks for it and the thread is not on it already.</summary>
    private protected static ulong StackTop(GuestThread thread, ulong sp, ulong flags, out bool onAlternate)
    {
        onAlternate = SignalDelivery.OnAlternateStack(thread, sp);
        return (flags & SignalActions.OnStack) != 0 && thread.AlternateStackSize != 0 && !onAlternate
            ? thread.AlternateStackBase + thread.AlternateStackSize
            : sp;
    }

    /// <summary>uc_stack's ss_flags: SS_ONSTACK, SS_DISABLE or 0.</summary>
    private protected static int StackFlags(GuestThread thread, bool onAlternate) => thread.AlternateStackSize == 0 ? 2 : onAlternate ? 1 : 0;
}
