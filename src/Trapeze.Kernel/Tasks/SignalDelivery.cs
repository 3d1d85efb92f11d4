using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// Generating signals (pending sets, the thread that takes a process signal, fatal and stop
/// actions) and delivering them on the way back to user space: the handler's frame, EINTR or
/// restart of an interrupted call, and sigreturn. The frame's layout is the ABI's
/// (<see cref="ISignalFrames"/>, from the personality).
/// </summary>
public static class SignalDelivery
{
    private static ulong Bit(int signal) => PendingSignals.Bit(signal);

    // ---- generation ----

    /// <summary>A signal to a whole process (kill, a timer, SIGCHLD): one thread that does not block it takes it.</summary>
    public static void SendToProcess(Process process, SignalInfo info) => Generate(process, null, info);

    /// <summary>A signal to one thread (tkill, tgkill, SIGEV_THREAD_ID timers).</summary>
    public static void SendToThread(GuestThread thread, SignalInfo info) => Generate(thread.Process, thread, info);

    /// <summary>A write to a pipe, FIFO or socket with no reader left: SIGPIPE at the writer, then EPIPE unless that killed it.</summary>
    public static Result BrokenPipe(GuestThread thread)
    {
        SendToThread(thread, SignalInfo.FromUser(Signal.SIGPIPE, SignalInfo.User, thread.Process.Id, thread.Process.Credentials.RealUser));
        return thread.Killed ? Result.ThreadGone : Errno.EPIPE;
    }

    /// <summary>A fault's signal: delivered even when blocked or ignored (then it acts by default).</summary>
    internal static void Force(GuestThread thread, SignalInfo info)
    {
        var actions = thread.Process.Signals;
        var blocked = (thread.SignalMask & Bit(info.Signal)) != 0;
        if (blocked || actions.Handler(info.Signal) == SignalActions.Ignore)
        {
            actions.ResetToDefault(info.Signal);
            thread.SignalMask &= ~Bit(info.Signal);
        }
        thread.Pending.Add(info);
    }

    private static void Generate(Process process, GuestThread? target, SignalInfo info)
    {
        if (process.State != ProcessState.Running || process.Exit is not null || target is { Killed: true })
            return;
        var signal = info.Signal;
        if (signal == (int)Signal.SIGKILL)
        {
            process.Terminate(ExitStatus.Killed(Signal.SIGKILL) with { Information = info });
            return;
        }
        if (signal == (int)Signal.SIGCONT)
        {
            Discard(process, SignalDefaults.StopSignals);
            if (process.Stopped)
                Continue(process);
        }
        else if ((SignalDefaults.StopSignals & Bit(signal)) != 0)
        {
            Discard(process, Bit((int)Signal.SIGCONT));
        }
        // kqueue's EVFILT_SIGNAL counts every attempt to deliver, ignored signals included.
        process.SignalSent?.Invoke(signal);
        if (IsIgnored(process, target, signal))
        {
            // A traced process hears of an ignored signal too, as ptrace's signal-delivery-stop shows it
            // to strace: on the receiver's way back to user space, after the call that sent it.
            if (process.Kernel.Tracer is not null && (target ?? Choose(process, signal) ?? process.MainThread) is { } receiver)
            {
                (receiver.IgnoredSignalsToTrace ??= []).Add(info.ToTrace());
                receiver.StopOnCpu();
            }
            return;
        }
        var queue = target?.Pending ?? process.SharedPending;
        if (!queue.Add(info))
            return;
        process.SignalsQueued.Notify(WaitQueue.InputEvents);
        var chosen = target ?? Choose(process, signal);
        if (chosen is null || (chosen.SignalMask & Bit(signal)) != 0)
            return;
        var actions = process.Signals;
        // Under a supervisor (a debugger) the signal waits for delivery, where the debugger sees it first.
        if (actions.Handler(signal) == SignalActions.Default && SignalDefaults.Of(signal) is DefaultAction.Terminate or DefaultAction.Core
            && process.Kernel.Supervisor is null)
        {
            // A fatal signal ends the whole process at once, even threads asleep in calls that ignore signals.
            queue.Take(signal);
            process.Terminate(ExitStatus.Killed((Signal)signal) with { Information = info });
            return;
        }
        chosen.Interrupt();
    }

    private static bool IsIgnored(Process process, GuestThread? target, int signal)
    {
        var handler = process.Signals.Handler(signal);
        var ignored = handler == SignalActions.Ignore
            || (handler == SignalActions.Default && SignalDefaults.Of(signal) is DefaultAction.Ignore or DefaultAction.Continue);
        if (!ignored)
            return false;
        // A blocked signal stays pending even when ignored: the handler may change before it is unblocked.
        return target is not null ? (target.SignalMask & Bit(signal)) == 0 : process.Threads.Any(t => (t.SignalMask & Bit(signal)) == 0);
    }

    /// <summary>The main thread if it takes the signal, else the first thread that does; null when all block it.</summary>
    private static GuestThread? Choose(Process process, int signal)
    {
        var main = process.MainThread;
        if (main is { Killed: false } && (main.SignalMask & Bit(signal)) == 0)
            return main;
        foreach (var thread in process.Threads)
        {
            if (!thread.Killed && (thread.SignalMask & Bit(signal)) == 0)
                return thread;
        }
        return null;
    }

    private static void Discard(Process process, ulong mask)
    {
        process.SharedPending.Discard(mask);
        foreach (var thread in process.Threads)
            thread.Pending.Discard(mask);
    }

    /// <summary>sigprocmask unblocked signals, or a handler became SIG_IGN: wake a thread that can take what is pending.</summary>
    internal static void PendingChanged(GuestThread thread)
    {
        if (((thread.Pending.Set | thread.Process.SharedPending.Set) & ~thread.SignalMask) != 0)
            thread.Interrupt();
    }

    /// <summary>sigaction set SIG_IGN (or SIG_DFL for a signal ignored by default): pending instances are dropped.</summary>
    internal static void DiscardIgnored(Process process, int signal)
    {
        var handler = process.Signals.Handler(signal);
        if (handler == SignalActions.Ignore || (handler == SignalActions.Default && SignalDefaults.Of(signal) == DefaultAction.Ignore))
            Discard(process, Bit(signal));
    }

    // ---- stop and continue ----

    private static void Stop(Process process, int signal)
    {
        process.Stopped = true;
        process.StopToReport = signal;
        process.ContinueToReport = false;
        foreach (var thread in process.Threads)
            thread.Interrupt();
        NotifyParent(process, ChildStopped, signal);
    }

    private static void Continue(Process process)
    {
        process.Stopped = false;
        process.StopToReport = null;
        process.ContinueToReport = true;
        process.Continued.Notify();
        NotifyParent(process, ChildContinued, (int)Signal.SIGCONT);
    }

    private const int ChildExited = 1, ChildKilled = 2, ChildDumped = 3, ChildStopped = 5, ChildContinued = 6;

    private static void NotifyParent(Process child, int code, int status)
    {
        if (child.Parent is not { } parent)
            return;
        parent.ChildEvents.Notify();
        if ((parent.Signals.Flags((int)Signal.SIGCHLD) & SignalActions.NoChildStop) != 0)
            return;
        SendToProcess(parent, ChildInformation(child, code, status));
    }

    /// <summary>SIGCHLD's siginfo for a child that exited, was killed, stopped or continued.</summary>
    internal static SignalInfo ChildInformation(Process child, int code, int status)
        => new() { Signal = (int)Signal.SIGCHLD, Code = code, Pid = child.Id, Uid = child.Credentials.RealUser, Status = status };

    /// <summary>A child became a zombie: the exit signal goes to its parent (SIGCHLD with CLD_EXITED / KILLED / DUMPED).</summary>
    internal static void ChildEnded(Process child, Process parent)
    {
        var exit = child.Exit!;
        var code = exit.Signal is null ? ChildExited : exit.CoreDumped ? ChildDumped : ChildKilled;
        var status = exit.Signal is { } signal ? (int)signal : exit.Code;
        if (child.ExitSignal == (int)Signal.SIGCHLD)
            SendToProcess(parent, ChildInformation(child, code, status));
        else if (child.ExitSignal is > 0 and <= 64)
            SendToProcess(parent, new SignalInfo { Signal = child.ExitSignal, Code = code, Pid = child.Id, Uid = child.Credentials.RealUser, Status = status });
    }

    /// <summary>A parent that ignores SIGCHLD (or set SA_NOCLDWAIT) leaves no zombies.</summary>
    internal static bool ParentReapsAutomatically(Process parent)
    {
        var actions = parent.Signals;
        var child = (int)Signal.SIGCHLD;
        return actions.Handler(child) == SignalActions.Ignore || (actions.Flags(child) & SignalActions.NoChildWait) != 0;
    }

    // ---- delivery ----

    /// <summary>
    /// The one place where a thread's way back to user space is decided, with its registers on the
    /// CPU: rt_sigreturn's restore, pending signals (handler frames, default actions, stops), and
    /// whether an interrupted call gets EINTR or runs again.
    /// </summary>
    internal static void ReturnToUser(GuestThread thread)
    {
        var process = thread.Process;
        var cpu = process.Cpu;
        if (thread.SignalReturnPending is { } kind)
        {
            thread.SignalReturnPending = null;
            if (!RestoreFrame(thread, cpu, kind))
            {
                process.Terminate(ExitStatus.Killed(Signal.SIGSEGV, "(bad signal frame at rt_sigreturn)"));
                return;
            }
        }
        if (thread.IgnoredSignalsToTrace is { } ignored)
        {
            thread.IgnoredSignalsToTrace = null;
            foreach (var information in ignored)
                thread.Kernel.Tracer?.SignalDelivered(thread, information);
        }
        while (!thread.Killed)
        {
            if (process.Stopped)
            {
                thread.SleepOutsideCall(new Wait(process.Continued));
                continue;
            }
            if (Dequeue(thread) is not { } info)
                break;
            if (thread.Kernel.Supervisor is { } supervisor)
            {
                // A debugger sees the signal first and decides what is delivered (gdb's "signal" and "handle ... nopass").
                if (supervisor.SignalArrived(thread, info) is not { } chosen)
                    continue;
                info = chosen;
            }
            var signal = info.Signal;
            var actions = process.Signals;
            var handler = actions.Handler(signal);
            if (handler == SignalActions.Ignore)
            {
                thread.Kernel.Tracer?.SignalDelivered(thread, info.ToTrace());
                continue;
            }
            if (handler == SignalActions.Default)
            {
                switch (SignalDefaults.Of(signal))
                {
                    case DefaultAction.Ignore:
                    case DefaultAction.Continue:
                        thread.Kernel.Tracer?.SignalDelivered(thread, info.ToTrace());
                        continue;
                    case DefaultAction.Stop:
                        thread.Kernel.Tracer?.SignalDelivered(thread, info.ToTrace());
                        thread.Kernel.Tracer?.ProcessStopped(thread, (Signal)signal);
                        Stop(process, signal);
                        continue;
                    default:
                        var core = SignalDefaults.Of(signal) == DefaultAction.Core;
                        process.Terminate(FatalStatus(info) with { Information = info, CoreDumped = false });
                        _ = core;
                        return;
                }
            }
            // A personality without frames yet does not run its guest's handlers, rather than give
            // them a frame their code cannot read.
            if (process.Personality.SignalFrames is not { } frames)
                continue;
            var flags = actions.Flags(signal);
            ApplyRestart(thread, cpu, handlerRuns: true, flags);
            if (!SetupFrame(thread, frames, cpu, info, handler, flags))
            {
                process.Terminate(ExitStatus.Killed(Signal.SIGSEGV, $"(no room for the {(Signal)signal} frame on the stack)"));
                return;
            }
        }
        ApplyRestart(thread, cpu, handlerRuns: false, 0);
        // No handler ran: the mask sigsuspend, ppoll or epoll_pwait put in place goes back now.
        if (thread.SavedMask is { } saved)
        {
            thread.SignalMask = saved;
            thread.SavedMask = null;
        }
    }

    /// <summary>The status of a process a signal's default action kills, with what a fault touched for the user's message.</summary>
    private static ExitStatus FatalStatus(SignalInfo info)
    {
        var signal = (Signal)info.Signal;
        if (info.Detail is { } detail)
            return ExitStatus.Killed(signal, detail) with { FaultAddress = info.Address, FaultUnmapped = info.Code == 1 };
        if (info.Address is { } address && signal == Signal.SIGSEGV)
            return ExitStatus.Killed(signal, $"at 0x{address:x}") with { FaultAddress = address, FaultUnmapped = info.Code == 1 };
        return ExitStatus.Killed(signal, info.Address is { } at ? $"at 0x{at:x}" : null);
    }

    /// <summary>Takes the next deliverable signal: the thread's own before the process's, faults first, then by number.</summary>
    private static SignalInfo? Dequeue(GuestThread thread)
    {
        foreach (var queue in (ReadOnlySpan<PendingSignals>)[thread.Pending, thread.Process.SharedPending])
        {
            var ready = queue.Set & ~(thread.SignalMask & ~SignalDefaults.Unblockable);
            if (ready == 0)
                continue;
            var synchronous = ready & SignalDefaults.Synchronous;
            var pick = synchronous != 0 ? synchronous : ready;
            var signal = System.Numerics.BitOperations.TrailingZeroCount(pick) + 1;
            return queue.Take(signal);
        }
        return null;
    }

    /// <summary>A signal interrupted a call: restart it (back on its syscall instruction) or leave its EINTR.</summary>
    private static void ApplyRestart(GuestThread thread, ICpu cpu, bool handlerRuns, ulong flags)
    {
        if (thread.InterruptedCall is not { } call)
            return;
        thread.InterruptedCall = null;
        var restart = handlerRuns
            ? call.Rule == RestartRule.UnlessHandlerWithoutRestartFlag && (flags & SignalActions.Restart) != 0
            : call.Rule != RestartRule.Never;
        if (!restart || handlerRuns)
            thread.RestartBlock = null;
        if (!restart || thread.Process.Personality.SignalFrames is not { } frames)
            return;
        var number = call.Number;
        if (call.Rule == RestartRule.RestartBlock)
        {
            var table = thread.Process.Personality.Table;
            number = (ulong)table.FirstOrDefault(entry => entry.Name == "restart_syscall", (Name: "", Number: -1, Definition: null)).Number;
        }
        frames.Restart(cpu, call, number);
    }

    /// <summary>Enters the handler through the ABI's frame, then applies sa_mask, SA_NODEFER and SA_RESETHAND.</summary>
    private static bool SetupFrame(GuestThread thread, ISignalFrames frames, ICpu cpu, SignalInfo info, ulong handler, ulong flags)
    {
        var signal = info.Signal;
        var actions = thread.Process.Signals;
        var onAlternate = OnAlternateStack(thread, frames.StackPointer(cpu));
        var switchStack = (flags & SignalActions.OnStack) != 0 && thread.AlternateStackSize != 0 && !onAlternate;
        var savedMask = thread.SavedMask ?? thread.SignalMask;
        thread.SavedMask = null;
        var entry = new SignalHandlerEntry(info, handler, flags, actions.RestorerAddress(signal), savedMask, switchStack, onAlternate);
        if (!frames.Enter(thread, cpu, entry))
            return false;
        var mask = actions.Mask(signal) | ((flags & SignalActions.NoDefer) == 0 ? Bit(signal) : 0);
        thread.SignalMask = (thread.SignalMask | mask) & ~SignalDefaults.Unblockable;
        if ((flags & SignalActions.ResetHand) != 0)
            actions.ResetHandler(signal);
        thread.Kernel.Tracer?.SignalDelivered(thread, info.ToTrace());
        return true;
    }

    internal static bool OnAlternateStack(GuestThread thread, ulong sp)
        => thread.AlternateStackSize != 0 && sp > thread.AlternateStackBase && sp - thread.AlternateStackBase <= thread.AlternateStackSize;

    /// <summary>uc_stack's (and sigaltstack's) ss_flags: SS_DISABLE without an alternate stack, SS_ONSTACK while on it.</summary>
    internal static int AlternateStackFlags(GuestThread thread, bool onAlternate)
        => thread.AlternateStackSize == 0 ? 2 : onAlternate ? 1 : 0;

    /// <summary>sigreturn: the ABI's frame at the stack pointer gives the registers and the mask back.</summary>
    private static bool RestoreFrame(GuestThread thread, ICpu cpu, SignalFrameKind kind)
    {
        if (thread.Process.Personality.SignalFrames is not { } frames || !frames.Return(thread, cpu, kind, out var mask))
            return false;
        thread.SignalMask = mask & ~SignalDefaults.Unblockable;
        return true;
    }

    /// <summary>The result register the frame at the stack pointer will restore (what strace prints as sigreturn's result).</summary>
    internal static long SavedResult(GuestThread thread, SignalFrameKind kind)
        => thread.Process.Personality.SignalFrames is { } frames ? frames.SavedResult(thread, thread.Process.Cpu, kind) : 0;
}
