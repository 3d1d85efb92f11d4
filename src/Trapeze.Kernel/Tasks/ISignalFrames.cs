using Trapeze.Cpu;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Tasks;

/// <summary>Which frame a sigreturn unwinds: rt_sigreturn's (SA_SIGINFO-style, every handler on x86-64) or the legacy sigreturn's (32-bit ABIs).</summary>
public enum SignalFrameKind
{
    RealTime,
    Legacy,
}

/// <summary>A handler about to run: what the common delivery code decided and the ABI's frame records.</summary>
/// <param name="Info">The signal's siginfo.</param>
/// <param name="Handler">sa_handler.</param>
/// <param name="Flags">sa_flags (SA_SIGINFO, SA_RESTORER...).</param>
/// <param name="Restorer">sa_restorer, where the handler returns to.</param>
/// <param name="SavedMask">The mask the frame saves and sigreturn puts back (sigsuspend's caller's, not its temporary one).</param>
/// <param name="SwitchToAlternateStack">SA_ONSTACK with an alternate stack the thread is not on yet: the frame goes at its top.</param>
/// <param name="OnAlternateStack">The interrupted code already runs on the alternate stack (uc_stack's SS_ONSTACK).</param>
public readonly record struct SignalHandlerEntry(SignalInfo Info, ulong Handler, ulong Flags, ulong Restorer, ulong SavedMask, bool SwitchToAlternateStack, bool OnAlternateStack);

/// <summary>A call a signal interrupted: delivery decides between its EINTR (already in the result register) and running it again.</summary>
/// <param name="Rule">The call's ERESTART* code.</param>
/// <param name="Number">The call's number.</param>
/// <param name="SyscallAddress">The syscall instruction, where a restart begins.</param>
/// <param name="FirstArgument">The first argument's register as the call found it (ARM returns the result over it: a restart puts it back).</param>
public readonly record struct InterruptedCall(RestartRule Rule, ulong Number, ulong SyscallAddress, ulong FirstArgument);

/// <summary>Linux's restart_block: how restart_syscall continues an interrupted call (<paramref name="Call"/> names it for the tracer).</summary>
public sealed record RestartBlock(string Call, Func<GuestThread, Result> Resume);

/// <summary>
/// The per-ABI half of signal delivery: the frame a handler gets on the guest stack, what sigreturn
/// restores from it, and how an interrupted call is put back on its syscall instruction.
/// <see cref="SignalDelivery"/> decides for every ABI which signal runs, on which stack, with which
/// masks, and whether a call restarts. A personality without frames (null) has its handlers skipped.
/// </summary>
public interface ISignalFrames
{
    /// <summary>The thread's stack pointer (sigaltstack's "on the alternate stack" question).</summary>
    ulong StackPointer(ICpu cpu);

    /// <summary>Writes the frame and points the registers at the handler; false when it cannot be written (the process dies of SIGSEGV).</summary>
    bool Enter(GuestThread thread, ICpu cpu, in SignalHandlerEntry entry);

    /// <summary>sigreturn: the registers (FP state included) from the frame at the stack pointer, and the mask it saved; false for a frame that cannot be read.</summary>
    bool Return(GuestThread thread, ICpu cpu, SignalFrameKind kind, out ulong mask);

    /// <summary>The result register's value the frame at the stack pointer will restore (what strace prints as sigreturn's result).</summary>
    long SavedResult(GuestThread thread, ICpu cpu, SignalFrameKind kind);

    /// <summary>The mask the frame at the stack pointer will put back (strace prints it at sigreturn); null where the ABI's frames do not say.</summary>
    ulong? SavedMask(GuestThread thread, ICpu cpu, SignalFrameKind kind) => null;

    /// <summary>Puts the thread back on the call's syscall instruction to run call <paramref name="number"/> (the call itself, or restart_syscall).</summary>
    void Restart(ICpu cpu, in InterruptedCall call, ulong number);

    /// <summary>
    /// Code the kernel maps into every new program for handlers to return through (FreeBSD's sigcode in
    /// its shared page; <see cref="Loader.SignalTrampoline"/>); null where the C library brings its own.
    /// </summary>
    byte[]? Trampoline => null;

    /// <summary>Puts the program counter on a faulting instruction, which the handler's frame saves (ARM keeps its Thumb state).</summary>
    void SetProgramCounter(ICpu cpu, ulong address) => cpu.WriteRegister(X64Register.Rip, address);
}
