using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// Generating signals (pending sets, the thread that takes a process signal, fatal and stop
/// actions) and delivering them on the way back to user space: the x86-64 rt_sigframe, EINTR or
/// restart of an interrupted call, and rt_sigreturn.
/// </summary>
public static class SignalDelivery
{
    private const int UcontextOffset = 8, UcontextSize = 304, SigcontextOffset = 40, MaskOffset = 296;
    private const int FrameSize = UcontextOffset + UcontextSize + SignalInfo.Size; // pretcode, uc, info
    private const int FxsaveSize = 512;
    private const int RedZone = 128;

    // sigcontext order: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags.
    private static readonly X64Register[] ContextRegisters =
    [
        X64Register.R8, X64Register.R9, X64Register.R10, X64Register.R11, X64Register.R12, X64Register.R13, X64Register.R14, X64Register.R15,
        X64Register.Rdi, X64Register.Rsi, X64Register.Rbp, X64Register.Rbx, X64Register.Rdx, X64Register.Rax, X64Register.Rcx, X64Register.Rsp,
    ];

    private static ulong Bit(int signal) => PendingSignals.Bit(signal);

    // ---- generation ----

    /// <summary>A signal to a whole process (kill, a timer, SIGCHLD): one thread that does not block it takes it.</summary>
    public static void SendToProcess(Process process, SignalInfo info) => Generate(process, null, info);

    /// <summary>A signal to one thread (tkill, tgkill, SIGEV_THREAD_ID timers).</summary>
    public static void SendToThread(GuestThread thread, SignalInfo info) => Generate(thread.Process, thread, info);

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
        if (IsIgnored(process, target, signal))
            return;
        var queue = target?.Pending ?? process.SharedPending;
        if (!queue.Add(info))
            return;
        var chosen = target ?? Choose(process, signal);
        if (chosen is null || (chosen.SignalMask & Bit(signal)) != 0)
            return;
        var actions = process.Signals;
        if (actions.Handler(signal) == SignalActions.Default && SignalDefaults.Of(signal) is DefaultAction.Terminate or DefaultAction.Core)
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
        => new() { Signal = (int)Signal.SIGCHLD, Code = code, Pid = child.Id, Uid = child.Kernel.Credentials.UserId, Status = status };

    /// <summary>A child became a zombie: the exit signal goes to its parent (SIGCHLD with CLD_EXITED / KILLED / DUMPED).</summary>
    internal static void ChildEnded(Process child, Process parent)
    {
        var exit = child.Exit!;
        var code = exit.Signal is null ? ChildExited : exit.CoreDumped ? ChildDumped : ChildKilled;
        var status = exit.Signal is { } signal ? (int)signal : exit.Code;
        if (child.ExitSignal == (int)Signal.SIGCHLD)
            SendToProcess(parent, ChildInformation(child, code, status));
        else if (child.ExitSignal is > 0 and <= 64)
            SendToProcess(parent, new SignalInfo { Signal = child.ExitSignal, Code = code, Pid = child.Id, Uid = child.Kernel.Credentials.UserId, Status = status });
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
        if (thread.SignalReturnPending)
        {
            thread.SignalReturnPending = false;
            if (!RestoreFrame(thread, cpu))
            {
                process.Terminate(ExitStatus.Killed(Signal.SIGSEGV, "(bad signal frame at rt_sigreturn)"));
                return;
            }
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
            var signal = info.Signal;
            var actions = process.Signals;
            var handler = actions.Handler(signal);
            if (handler == SignalActions.Ignore)
                continue;
            if (handler == SignalActions.Default)
            {
                switch (SignalDefaults.Of(signal))
                {
                    case DefaultAction.Ignore:
                    case DefaultAction.Continue:
                        continue;
                    case DefaultAction.Stop:
                        Stop(process, signal);
                        continue;
                    default:
                        var core = SignalDefaults.Of(signal) == DefaultAction.Core;
                        process.Terminate(FatalStatus(info) with { Information = info, CoreDumped = false });
                        _ = core;
                        return;
                }
            }
            var flags = actions.Flags(signal);
            ApplyRestart(thread, cpu, handlerRuns: true, flags);
            if (!SetupFrame(thread, cpu, info, handler, flags))
            {
                process.Terminate(ExitStatus.Killed(Signal.SIGSEGV, $"(no room for the {(Signal)signal} frame on the stack)"));
                return;
            }
        }
        ApplyRestart(thread, cpu, handlerRuns: false, 0);
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

    /// <summary>A signal interrupted a call: restart it (RIP back on the syscall, RAX its number) or leave its EINTR.</summary>
    private static void ApplyRestart(GuestThread thread, ICpu cpu, bool handlerRuns, ulong flags)
    {
        if (thread.InterruptedCall is not { } call)
            return;
        thread.InterruptedCall = null;
        var restart = handlerRuns
            ? call.Rule == RestartRule.UnlessHandlerWithoutRestartFlag && (flags & SignalActions.Restart) != 0
            : call.Rule != RestartRule.Never;
        if (!restart)
            return;
        if (thread.Process.Personality.SignalFrames is { } frames)
        {
            frames.Rewind(cpu, call.Number, call.SyscallAddress, call.FirstArgument);
            return;
        }
        cpu.WriteRegister(X64Register.Rip, call.SyscallAddress);
        cpu.WriteRegister(X64Register.Rax, call.Number);
    }

    /// <summary>Builds the rt_sigframe (and its fxsave area) and enters the handler.</summary>
    private static bool SetupFrame(GuestThread thread, ICpu cpu, SignalInfo info, ulong handler, ulong flags)
    {
        if (thread.Process.Personality.SignalFrames is { } frames)
            return frames.Enter(thread, cpu, info, handler, flags, TakeSavedMask(thread)) && HandlerEntered(thread, info, flags);
        var signal = info.Signal;
        Span<ulong> registers = stackalloc ulong[ContextRegisters.Length];
        cpu.ReadRegisters(ContextRegisters, registers);
        var rip = cpu.ReadRegister(X64Register.Rip);
        var rflags = cpu.ReadRegister(X64Register.Rflags);
        var originalSp = registers[15];
        var onAlternate = OnAlternateStack(thread, originalSp);
        ulong sp;
        if ((flags & SignalActions.OnStack) != 0 && thread.AlternateStackSize != 0 && !onAlternate)
            sp = thread.AlternateStackBase + thread.AlternateStackSize;
        else
            sp = originalSp - RedZone;
        var fpState = (sp - FxsaveSize) & ~63UL;
        var frame = ((fpState - FrameSize) & ~15UL) - 8;
        if ((flags & SignalActions.Restorer) == 0)
            return false;

        var fxsave = new byte[FxsaveSize];
        cpu.SaveFloatingPoint(fxsave);
        var bytes = new byte[FrameSize];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span, thread.Process.Signals.RestorerAddress(signal));
        var uc = span[UcontextOffset..];
        BinaryPrimitives.WriteUInt64LittleEndian(uc, 6); // UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
        BinaryPrimitives.WriteUInt64LittleEndian(uc[16..], thread.AlternateStackBase);
        BinaryPrimitives.WriteInt32LittleEndian(uc[24..], thread.AlternateStackSize == 0 ? 2 : onAlternate ? 1 : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(uc[32..], thread.AlternateStackSize);
        var context = uc[SigcontextOffset..];
        for (var i = 0; i < registers.Length; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(context[(8 * i)..], registers[i]);
        BinaryPrimitives.WriteUInt64LittleEndian(context[128..], rip);
        BinaryPrimitives.WriteUInt64LittleEndian(context[136..], rflags);
        BinaryPrimitives.WriteUInt16LittleEndian(context[144..], 0x33); // cs
        BinaryPrimitives.WriteUInt16LittleEndian(context[150..], 0x2b); // ss
        BinaryPrimitives.WriteUInt64LittleEndian(context[152..], info.ErrorCode);
        BinaryPrimitives.WriteUInt64LittleEndian(context[160..], (ulong)info.TrapNumber);
        var oldMask = TakeSavedMask(thread);
        BinaryPrimitives.WriteUInt64LittleEndian(context[168..], oldMask);
        BinaryPrimitives.WriteUInt64LittleEndian(context[176..], info.Address is { } address && info.TrapNumber == 14 ? address : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(context[184..], fpState);
        BinaryPrimitives.WriteUInt64LittleEndian(uc[MaskOffset..], oldMask);
        info.ToBytes().CopyTo(span[(UcontextOffset + UcontextSize)..]);

        var memory = thread.Memory;
        if (memory.Write(new GuestAddress(fpState), fxsave) != Errno.None || memory.Write(new GuestAddress(frame), bytes) != Errno.None)
            return false;

        const ulong ClearedFlags = 0x400 | 0x100 | 0x10000 | 0x40000; // DF TF RF AC
        ReadOnlySpan<X64Register> entry = [X64Register.Rsp, X64Register.Rip, X64Register.Rdi, X64Register.Rsi, X64Register.Rdx, X64Register.Rax, X64Register.Rflags];
        ReadOnlySpan<ulong> values = [frame, handler, (ulong)signal, frame + UcontextOffset + UcontextSize, frame + UcontextOffset, 0, rflags & ~ClearedFlags];
        cpu.WriteRegisters(entry, values);
        return HandlerEntered(thread, info, flags);
    }

    /// <summary>The mask the frame saves: sigsuspend's caller's, else the current one.</summary>
    private static ulong TakeSavedMask(GuestThread thread)
    {
        var mask = thread.SavedMask ?? thread.SignalMask;
        thread.SavedMask = null;
        return mask;
    }

    /// <summary>The handler runs: its mask (and the signal unless SA_NODEFER) is blocked, SA_RESETHAND applies.</summary>
    private static bool HandlerEntered(GuestThread thread, SignalInfo info, ulong flags)
    {
        var signal = info.Signal;
        var actions = thread.Process.Signals;
        var mask = actions.Mask(signal) | ((flags & SignalActions.NoDefer) == 0 ? Bit(signal) : 0);
        thread.SignalMask = (thread.SignalMask | mask) & ~SignalDefaults.Unblockable;
        if ((flags & SignalActions.ResetHand) != 0)
            actions.ResetToDefault(signal);
        thread.Kernel.Tracer?.SignalDelivered(thread, info.ToTrace());
        return true;
    }

    internal static bool OnAlternateStack(GuestThread thread, ulong sp)
        => thread.AlternateStackSize != 0 && sp > thread.AlternateStackBase && sp - thread.AlternateStackBase <= thread.AlternateStackSize;

    /// <summary>rt_sigreturn: the registers, mask and FP state the frame at RSP holds (the handler's ret popped pretcode).</summary>
    private static bool RestoreFrame(GuestThread thread, ICpu cpu)
    {
        if (thread.Process.Personality.SignalFrames is { } frames)
            return frames.Return(thread, cpu, realtime: !thread.LegacySignalReturn);
        var uc = cpu.ReadRegister(X64Register.Rsp);
        var bytes = new byte[UcontextSize];
        if (thread.Memory.Read(new GuestAddress(uc), bytes) != Errno.None)
            return false;
        var context = bytes.AsSpan(SigcontextOffset);
        Span<ulong> registers = stackalloc ulong[ContextRegisters.Length];
        for (var i = 0; i < registers.Length; i++)
            registers[i] = BinaryPrimitives.ReadUInt64LittleEndian(context[(8 * i)..]);
        var fpState = BinaryPrimitives.ReadUInt64LittleEndian(context[184..]);
        if (fpState != 0)
        {
            var fxsave = new byte[FxsaveSize];
            if (thread.Memory.Read(new GuestAddress(fpState), fxsave) != Errno.None)
                return false;
            cpu.RestoreFloatingPoint(fxsave);
        }
        cpu.WriteRegisters(ContextRegisters, registers);
        cpu.WriteRegister(X64Register.Rip, BinaryPrimitives.ReadUInt64LittleEndian(context[128..]));
        const ulong Restored = 0x50dd5; // CF PF AF ZF SF TF DF OF RF AC
        var flags = cpu.ReadRegister(X64Register.Rflags);
        cpu.WriteRegister(X64Register.Rflags, (flags & ~Restored) | (BinaryPrimitives.ReadUInt64LittleEndian(context[136..]) & Restored));
        thread.SignalMask = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(MaskOffset)) & ~SignalDefaults.Unblockable;
        return true;
    }

    /// <summary>The RAX the frame at <paramref name="uc"/> will restore (what strace prints as rt_sigreturn's result).</summary>
    internal static long SavedResult(GuestThread thread, ulong uc)
        => thread.Memory.Read(new GuestAddress(uc + SigcontextOffset + 13 * 8), out ulong rax) == Errno.None ? (long)rax : 0;
}
