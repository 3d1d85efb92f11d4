using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Signal dispositions and masks. Delivery to handlers comes later: a signal whose
/// default action kills kills, everything else is recorded.</summary>
public static class Signals
{
    private const int SignalCount = 64;
    private const int KernelSigactionSize = 32;
    private const int SignalSetSize = 8;
    private static readonly ulong Unblockable = Bit(Signal.SIGKILL) | Bit(Signal.SIGSTOP);

    [Syscall("rt_sigaction", Support = Support.Partial, Note = "dispositions are recorded; handlers are not yet called")]
    public static Result Action(GuestThread thread, [Argument(ArgumentKind.Signal)] int signal, [Argument(ArgumentKind.SignalAction)] GuestAddress action, [Argument(ArgumentKind.SignalAction, Direction = Direction.Out)] GuestAddress oldAction, ulong setSize)
    {
        if (signal < 1 || signal > SignalCount || setSize != SignalSetSize)
            return Errno.EINVAL;
        if (!action.IsNull && signal is (int)Signal.SIGKILL or (int)Signal.SIGSTOP)
            return Errno.EINVAL;
        var slot = thread.Process.SignalActions[signal - 1];
        if (!oldAction.IsNull && thread.Memory.Write(oldAction, slot) is var writeFault and not Errno.None)
            return writeFault;
        if (!action.IsNull)
        {
            var incoming = new byte[KernelSigactionSize];
            if (thread.Memory.Read(action, incoming) is var readFault and not Errno.None)
                return readFault;
            incoming.CopyTo(slot, 0);
        }
        return 0;
    }

    [Syscall("rt_sigprocmask")]
    public static Result ProcessMask(GuestThread thread, SignalMaskHow how, [Argument(ArgumentKind.SignalSet)] GuestAddress set, [Argument(ArgumentKind.SignalSet, Direction = Direction.Out)] GuestAddress oldSet, ulong setSize)
    {
        if (setSize != SignalSetSize)
            return Errno.EINVAL;
        var current = thread.SignalMask;
        if (!set.IsNull)
        {
            if (thread.Memory.Read(set, out ulong requested) is var fault and not Errno.None)
                return fault;
            requested &= ~Unblockable;
            switch (how)
            {
                case SignalMaskHow.SIG_BLOCK: thread.SignalMask = current | requested; break;
                case SignalMaskHow.SIG_UNBLOCK: thread.SignalMask = current & ~requested; break;
                case SignalMaskHow.SIG_SETMASK: thread.SignalMask = requested; break;
                default: return Errno.EINVAL;
            }
        }
        if (!oldSet.IsNull && thread.Memory.Write(oldSet, current) is var writeFault and not Errno.None)
            return writeFault;
        return 0;
    }

    [Syscall("sigaltstack", Support = Support.Partial, Note = "recorded; used once handlers are delivered")]
    public static Result AlternateStack(GuestThread thread, GuestAddress stack, GuestAddress oldStack)
    {
        const int StackSize = 24;
        const int Disabled = 2; // SS_DISABLE
        if (!oldStack.IsNull)
        {
            var previous = thread.AlternateStack ?? new byte[StackSize];
            if (thread.AlternateStack is null)
                BitConverter.TryWriteBytes(previous.AsSpan(8), Disabled);
            if (thread.Memory.Write(oldStack, previous) is var fault and not Errno.None)
                return fault;
        }
        if (!stack.IsNull)
        {
            var incoming = new byte[StackSize];
            if (thread.Memory.Read(stack, incoming) is var fault and not Errno.None)
                return fault;
            thread.AlternateStack = incoming;
        }
        return 0;
    }

    [Syscall("kill", Support = Support.Partial, Note = "to the calling process only; signals with a handler or ignored are dropped")]
    public static Result Kill(GuestThread thread, int pid, [Argument(ArgumentKind.Signal)] int signal)
    {
        if (pid != thread.Process.Id && pid != 0 && pid != -1)
            return Errno.ESRCH;
        return Raise(thread, signal);
    }

    [Syscall("tgkill", Support = Support.Partial, Note = "to threads of the calling process only")]
    public static Result ThreadGroupKill(GuestThread thread, int group, int tid, [Argument(ArgumentKind.Signal)] int signal)
        => group != thread.Process.Id || tid != thread.Id ? Errno.ESRCH : Raise(thread, signal);

    [Syscall("tkill", Support = Support.Partial, Note = "to the calling thread only")]
    public static Result ThreadKill(GuestThread thread, int tid, [Argument(ArgumentKind.Signal)] int signal)
        => tid != thread.Id ? Errno.ESRCH : Raise(thread, signal);

    /// <summary>Acts on a signal sent to the caller: its default action when it has no handler and is not ignored.</summary>
    private static Result Raise(GuestThread thread, int signal)
    {
        if (signal < 0 || signal > SignalCount)
            return Errno.EINVAL;
        if (signal == 0)
            return 0;
        var handler = BitConverter.ToUInt64(thread.Process.SignalActions[signal - 1]);
        const ulong Default = 0, Ignore = 1;
        var blocked = (thread.SignalMask & Bit((Signal)signal)) != 0;
        if (signal == (int)Signal.SIGKILL || (handler == Default && !blocked && KillsByDefault((Signal)signal)))
            thread.Process.Terminate(ExitStatus.Killed((Signal)signal));
        else if (handler != Ignore && handler != Default)
            thread.Kernel.ReportUnsupported($"signal delivery ({(Signal)signal})", "handlers are not called yet");
        return 0;
    }

    private static bool KillsByDefault(Signal signal)
        => signal is not (Signal.SIGCHLD or Signal.SIGCONT or Signal.SIGURG or Signal.SIGWINCH
            or Signal.SIGSTOP or Signal.SIGTSTP or Signal.SIGTTIN or Signal.SIGTTOU);

    private static ulong Bit(Signal signal) => 1UL << ((int)signal - 1);
}
