using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Signal dispositions, masks, sending and waiting; delivery itself is <see cref="SignalDelivery"/>.</summary>
public static class Signals
{
    private const int SignalCount = 64;
    private const int KernelSigactionSize = 32;
    private const int SignalSetSize = 8;

    private static ulong Bit(int signal) => PendingSignals.Bit(signal);

    [Syscall("rt_sigaction", Support = Support.Partial, Note = "handlers with SA_SIGINFO, SA_RESTART, SA_NODEFER, SA_RESETHAND, SA_ONSTACK, SA_NOCLDSTOP, SA_NOCLDWAIT; SA_RESTORER is required, as on Linux x86-64")]
    public static Result Action(GuestThread thread, [Argument(ArgumentKind.Signal)] int signal, [Argument(ArgumentKind.SignalAction)] GuestAddress action, [Argument(ArgumentKind.SignalAction, Direction = Direction.Out)] GuestAddress oldAction, ulong setSize)
    {
        if (signal < 1 || signal > SignalCount || setSize != SignalSetSize)
            return Errno.EINVAL;
        if (!action.IsNull && signal is (int)Signal.SIGKILL or (int)Signal.SIGSTOP)
            return Errno.EINVAL;
        var slot = thread.Process.SignalActions[signal - 1];
        var incoming = new byte[KernelSigactionSize];
        var structures = thread.Process.Personality.Structures;
        if (!action.IsNull && structures.ReadSignalAction(thread.Memory, action, incoming) is var readFault and not Errno.None)
            return readFault;
        if (!oldAction.IsNull && structures.WriteSignalAction(thread.Memory, oldAction, slot) is var writeFault and not Errno.None)
            return writeFault;
        if (!action.IsNull)
            Install(thread, signal, incoming);
        return 0;
    }

    /// <summary>A new disposition, in the kernel's struct sigaction (handler, flags, restorer, mask), whatever the ABI's was.</summary>
    internal static void Install(GuestThread thread, int signal, byte[] incoming)
    {
        // The mask never holds SIGKILL or SIGSTOP.
        var mask = BinaryPrimitives.ReadUInt64LittleEndian(incoming.AsSpan(24)) & ~SignalDefaults.Unblockable;
        BinaryPrimitives.WriteUInt64LittleEndian(incoming.AsSpan(24), mask);
        BinaryPrimitives.WriteUInt64LittleEndian(incoming.AsSpan(8), BinaryPrimitives.ReadUInt64LittleEndian(incoming.AsSpan(8)) & SignalActions.KnownFlags);
        incoming.CopyTo(thread.Process.SignalActions[signal - 1], 0);
        SignalDelivery.DiscardIgnored(thread.Process, signal);
        var handler = BinaryPrimitives.ReadUInt64LittleEndian(incoming);
        if (signal is (int)Signal.SIGSEGV or (int)Signal.SIGBUS && handler > SignalActions.Ignore)
            thread.Process.Cpu.RequestPreciseFaults();
    }

    [Syscall("rt_sigprocmask", Support = Support.Full)]
    public static Result ProcessMask(GuestThread thread, SignalMaskHow how, [Argument(ArgumentKind.SignalSet)] GuestAddress set, [Argument(ArgumentKind.SignalSet, Direction = Direction.Out)] GuestAddress oldSet, ulong setSize)
    {
        if (setSize != SignalSetSize)
            return Errno.EINVAL;
        var current = thread.SignalMask;
        ulong requested = 0;
        if (!set.IsNull)
        {
            if (thread.Memory.Read(set, out requested) is var fault and not Errno.None)
                return fault;
            if (how is not (SignalMaskHow.SIG_BLOCK or SignalMaskHow.SIG_UNBLOCK or SignalMaskHow.SIG_SETMASK))
                return Errno.EINVAL;
        }
        if (!oldSet.IsNull && thread.Memory.Write(oldSet, current) is var writeFault and not Errno.None)
            return writeFault;
        if (!set.IsNull)
            ChangeMask(thread, how, requested);
        return 0;
    }

    /// <summary>sigprocmask's change, with a valid <paramref name="how"/>: SIGKILL and SIGSTOP are never blocked.</summary>
    internal static void ChangeMask(GuestThread thread, SignalMaskHow how, ulong requested)
    {
        var current = thread.SignalMask;
        requested &= ~SignalDefaults.Unblockable;
        thread.SignalMask = how switch
        {
            SignalMaskHow.SIG_BLOCK => current | requested,
            SignalMaskHow.SIG_UNBLOCK => current & ~requested,
            _ => requested,
        };
        SignalDelivery.PendingChanged(thread);
    }

    [Syscall("rt_sigpending", Support = Support.Full)]
    public static Result Pending(GuestThread thread, [Argument(ArgumentKind.SignalSet, Direction = Direction.Out)] GuestAddress set, ulong setSize)
    {
        if (setSize > SignalSetSize)
            return Errno.EINVAL;
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, PendingBlocked(thread));
        return thread.Memory.Write(set, bytes[..(int)setSize]) is var fault and not Errno.None ? fault : 0;
    }

    /// <summary>The signals pending for the thread (its own and its process's) that it blocks: sigpending's answer.</summary>
    internal static ulong PendingBlocked(GuestThread thread) => (thread.Pending.Set | thread.Process.SharedPending.Set) & thread.SignalMask;

    [Syscall("sigaltstack", Support = Support.Partial, Note = "SS_AUTODISARM is accepted and not acted on; rt_sigreturn does not set the alternate stack again from the frame's uc_stack")]
    public static Result AlternateStack(GuestThread thread, [Argument(ArgumentKind.SignalStack)] GuestAddress stack, [Argument(ArgumentKind.SignalStack, Direction = Direction.Out)] GuestAddress oldStack)
    {
        var structures = thread.Process.Personality.Structures;
        ulong newBase = 0, size = 0;
        var flags = 0;
        if (!stack.IsNull && structures.ReadSignalStack(thread.Memory, stack, out newBase, out flags, out size) is var fault and not Errno.None)
            return fault;
        if (!oldStack.IsNull)
        {
            var (oldBase, oldFlags, oldSize) = CurrentAlternateStack(thread);
            if (structures.WriteSignalStack(thread.Memory, oldStack, oldBase, oldFlags, oldSize) is var writeFault and not Errno.None)
                return writeFault;
        }
        return stack.IsNull ? 0 : SetAlternateStack(thread, newBase, flags, size);
    }

    private const int AlternateStackOn = 1, AlternateStackDisable = 2, AlternateStackAutoDisarm = 1 << 31;

    /// <summary>The thread's alternate stack as sigaltstack reports it: base, Linux's ss_flags, size.</summary>
    internal static (ulong Base, int Flags, ulong Size) CurrentAlternateStack(GuestThread thread)
    {
        var sp = thread.Process.Personality.SignalFrames?.StackPointer(thread.Process.Cpu) ?? 0;
        var flags = SignalDelivery.AlternateStackFlags(thread, SignalDelivery.OnAlternateStack(thread, sp));
        if (thread.AlternateStackAutoDisarm)
            flags |= AlternateStackAutoDisarm;
        return (thread.AlternateStackBase, flags, thread.AlternateStackSize);
    }

    /// <summary>sigaltstack's change, with Linux's ss_flags: not while running on the alternate stack.</summary>
    internal static Result SetAlternateStack(GuestThread thread, ulong stackBase, int flags, ulong size)
    {
        const ulong MinimumSize = 2048;
        var sp = thread.Process.Personality.SignalFrames?.StackPointer(thread.Process.Cpu) ?? 0;
        if (SignalDelivery.OnAlternateStack(thread, sp))
            return Errno.EPERM;
        var mode = flags & ~AlternateStackAutoDisarm;
        if (mode is not (0 or AlternateStackDisable or AlternateStackOn))
            return Errno.EINVAL;
        if (mode == AlternateStackDisable)
        {
            thread.AlternateStackBase = 0;
            thread.AlternateStackSize = 0;
            return 0;
        }
        if (size < MinimumSize)
            return Errno.ENOMEM;
        thread.AlternateStackBase = stackBase;
        thread.AlternateStackSize = size;
        thread.AlternateStackAutoDisarm = (flags & AlternateStackAutoDisarm) != 0;
        return 0;
    }

    [Syscall("rt_sigreturn", Support = Support.Partial, Note = "the registers, FP/SSE state and signal mask come back from the frame; the alternate stack in its uc_stack does not (a handler's change to it is lost)")]
    public static Result SignalReturn(GuestThread thread, [Argument(ArgumentKind.SignalReturnFrame)] GuestAddress frame)
        => Result.SignalReturn(SignalDelivery.SavedResult(thread, SignalFrameKind.RealTime));

    [Syscall("kill", Support = Support.Full)]
    public static Result Kill(GuestThread thread, int pid, [Argument(ArgumentKind.Signal)] int signal)
    {
        if (signal < 0 || signal > SignalCount)
            return Errno.EINVAL;
        var kernel = thread.Kernel;
        var sender = thread.Process;
        if (pid == int.MinValue)
            return Errno.ESRCH;
        List<Process> targets;
        if (pid > 0)
            targets = kernel.FindProcess(pid) is { } one ? [one] : [];
        else if (pid == -1)
            targets = kernel.Processes.Where(p => p.State == ProcessState.Running && p != sender && p != kernel.Init).ToList();
        else
        {
            var group = pid == 0 ? sender.ProcessGroupId : -pid;
            targets = kernel.Processes.Where(p => p.State == ProcessState.Running && p.ProcessGroupId == group).ToList();
        }
        if (targets.Count == 0)
            return Errno.ESRCH;
        // One process: its answer. A group: success when any member could be signalled. Everyone (-1):
        // success unless an error other than EPERM.
        var permitted = targets.Where(target => MaySignal(sender, target, signal)).ToList();
        if (permitted.Count == 0 && pid != -1)
            return Errno.EPERM;
        if (signal == 0)
            return 0;
        // The caller goes last, so that a fatal signal to its own group reaches the others first.
        var info = SignalInfo.FromUser((Signal)signal, SignalInfo.User, sender.Id, sender.Credentials.RealUser);
        foreach (var target in permitted.OrderBy(p => p == sender))
            SignalDelivery.SendToProcess(target, info);
        return thread.Killed ? Result.ThreadGone : 0;
    }

    /// <summary>
    /// Linux's check_kill_permission: the sender's real or effective uid is the target's real or saved
    /// uid, or the sender is privileged (euid 0 standing for CAP_KILL); SIGCONT within a session.
    /// </summary>
    private static bool MaySignal(Process sender, Process target, int signal)
    {
        if (sender == target)
            return true;
        var from = sender.Credentials;
        var to = target.Credentials;
        if (from.EffectiveUser == 0 || from.EffectiveUser == to.SavedUser || from.EffectiveUser == to.RealUser
            || from.RealUser == to.SavedUser || from.RealUser == to.RealUser)
            return true;
        return signal == (int)Signal.SIGCONT && sender.SessionId == target.SessionId;
    }

    [Syscall("tgkill", Support = Support.Full)]
    public static Result ThreadGroupKill(GuestThread thread, int group, int tid, [Argument(ArgumentKind.Signal)] int signal)
    {
        if (group <= 0 || tid <= 0)
            return Errno.EINVAL;
        var target = thread.Kernel.FindThread(tid);
        return target is null || target.Process.Id != group ? Errno.ESRCH : SendToThread(thread, target, signal, SignalInfo.ThreadKill);
    }

    [Syscall("tkill", Support = Support.Full)]
    public static Result ThreadKill(GuestThread thread, int tid, [Argument(ArgumentKind.Signal)] int signal)
    {
        if (tid <= 0)
            return Errno.EINVAL;
        return thread.Kernel.FindThread(tid) is { } target ? SendToThread(thread, target, signal, SignalInfo.ThreadKill) : Errno.ESRCH;
    }

    private static Result SendToThread(GuestThread thread, GuestThread target, int signal, int code)
    {
        if (signal < 0 || signal > SignalCount)
            return Errno.EINVAL;
        if (!MaySignal(thread.Process, target.Process, signal))
            return Errno.EPERM;
        if (signal == 0)
            return 0;
        SignalDelivery.SendToThread(target, SignalInfo.FromUser((Signal)signal, code, thread.Process.Id, thread.Process.Credentials.RealUser));
        return thread.Killed ? Result.ThreadGone : 0;
    }

    [Syscall("rt_sigqueueinfo", Support = Support.Full)]
    public static Result QueueInformation(GuestThread thread, int pid, [Argument(ArgumentKind.Signal)] int signal, [Argument(ArgumentKind.SignalInformation)] GuestAddress information)
    {
        if (ReadQueuedInformation(thread, signal, information, pid == thread.Process.Id, out var info) is var error and not Errno.None)
            return error;
        if (thread.Kernel.FindProcess(pid) is not { } target)
            return Errno.ESRCH;
        if (!MaySignal(thread.Process, target, signal))
            return Errno.EPERM;
        if (signal != 0)
            SignalDelivery.SendToProcess(target, info!);
        return thread.Killed ? Result.ThreadGone : 0;
    }

    [Syscall("rt_tgsigqueueinfo", Support = Support.Full)]
    public static Result ThreadQueueInformation(GuestThread thread, int group, int tid, [Argument(ArgumentKind.Signal)] int signal, [Argument(ArgumentKind.SignalInformation)] GuestAddress information)
    {
        if (ReadQueuedInformation(thread, signal, information, tid == thread.Id, out var info) is var error and not Errno.None)
            return error;
        if (thread.Kernel.FindThread(tid) is not { } target || target.Process.Id != group)
            return Errno.ESRCH;
        if (!MaySignal(thread.Process, target.Process, signal))
            return Errno.EPERM;
        if (signal != 0)
            SignalDelivery.SendToThread(target, info!);
        return thread.Killed ? Result.ThreadGone : 0;
    }

    internal static Errno ReadQueuedInformation(GuestThread thread, int signal, GuestAddress information, bool toSelf, out SignalInfo? info)
    {
        info = null;
        if (signal < 0 || signal > SignalCount)
            return Errno.EINVAL;
        var raw = new byte[SignalInfo.Size];
        if (thread.Memory.Read(information, raw) is var fault and not Errno.None)
            return fault;
        var code = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(8));
        // Only the kernel (or a caller signalling itself) may claim SI_USER, SI_TKILL or a kernel code.
        if ((code >= 0 || code == SignalInfo.ThreadKill) && !toSelf)
            return Errno.EPERM;
        info = new SignalInfo
        {
            Signal = signal,
            Code = code,
            Pid = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(16)),
            Uid = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(20)),
            Value = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(24)),
            Raw = raw,
        };
        return Errno.None;
    }

    [Syscall("restart_syscall", Support = Support.Full)]
    public static Result RestartSyscall(GuestThread thread, [Argument(ArgumentKind.RestartedCall)] GuestAddress resumed)
    {
        // The block is taken on the first dispatch; a resumed call that blocks keeps it in RetryState.
        if (thread.RetryState is not RestartBlock block)
        {
            if (thread.RestartBlock is not { } pending)
                return Errno.EINTR;
            thread.RestartBlock = null;
            thread.RetryState = block = pending;
        }
        return block.Resume(thread);
    }

    [Syscall("pause", Support = Support.Full)]
    public static Result Pause(GuestThread thread)
    {
        var slept = thread.Block(new Wait());
        return slept.Control is Restart ? Result.Interrupted(RestartRule.OnlyWithoutHandler) : slept;
    }

    [Syscall("rt_sigsuspend", Support = Support.Full)]
    public static Result Suspend(GuestThread thread, [Argument(ArgumentKind.SignalSet)] GuestAddress set, ulong setSize)
    {
        if (setSize != SignalSetSize)
            return Errno.EINVAL;
        if (thread.RetryState is ulong)
            return SuspendWith(thread, 0);
        return thread.Memory.Read(set, out ulong mask) is var fault and not Errno.None ? fault : SuspendWith(thread, mask);
    }

    /// <summary>sigsuspend with the mask read (a retry's is ignored: the first call put it in place).</summary>
    internal static Result SuspendWith(GuestThread thread, ulong mask)
    {
        if (thread.RetryState is not ulong saved)
        {
            saved = thread.SignalMask;
            thread.RetryState = saved;
            thread.SignalMask = mask & ~SignalDefaults.Unblockable;
            if (((thread.Pending.Set | thread.Process.SharedPending.Set) & ~thread.SignalMask) != 0)
            {
                thread.SavedMask = saved;
                return Result.Interrupted(RestartRule.OnlyWithoutHandler);
            }
        }
        var slept = thread.Block(new Wait());
        if (slept.Control is Restart)
        {
            // The handler's frame saves the old mask, which rt_sigreturn puts back.
            thread.SavedMask = saved;
            return Result.Interrupted(RestartRule.OnlyWithoutHandler);
        }
        return slept;
    }

    [Syscall("rt_sigtimedwait", Support = Support.Full, Returns = ResultKind.Signal)]
    public static Result TimedWait(GuestThread thread, [Argument(ArgumentKind.SignalSet)] GuestAddress set, [Argument(ArgumentKind.SignalInformation, Direction = Direction.Out)] GuestAddress information, [Argument(ArgumentKind.Timespec)] GuestAddress timeout, ulong setSize)
    {
        if (setSize != SignalSetSize)
            return Errno.EINVAL;
        if (thread.Memory.Read(set, out ulong wanted) is var fault and not Errno.None)
            return fault;
        wanted &= ~SignalDefaults.Unblockable;
        long deadline = Wait.NoDeadline;
        if (!timeout.IsNull)
        {
            if (LinuxStructures.ReadTime(thread, timeout, out var limit) is var timeoutFault and not Errno.None)
                return timeoutFault;
            if (limit.Seconds < 0 || limit.Nanoseconds is < 0 or >= 1_000_000_000)
                return Errno.EINVAL;
            deadline = thread.DeadlineAfter(limit.Seconds * 1_000_000_000 + limit.Nanoseconds);
        }
        foreach (var queue in (ReadOnlySpan<PendingSignals>)[thread.Pending, thread.Process.SharedPending])
        {
            var ready = queue.Set & wanted;
            if (ready == 0)
                continue;
            var signal = System.Numerics.BitOperations.TrailingZeroCount(ready) + 1;
            var info = queue.Take(signal)!;
            if (!information.IsNull && thread.Memory.Write(information, thread.Process.Personality.Structures.SignalInformation(info)) is var writeFault and not Errno.None)
                return writeFault;
            return signal;
        }
        if (deadline != Wait.NoDeadline && deadline <= thread.Kernel.Clock.Monotonic)
            return Errno.EAGAIN;
        // The awaited signals wake this thread while it waits, as if unblocked.
        var mask = thread.SignalMask;
        thread.SignalMask &= ~wanted;
        var slept = thread.Block(new Wait(deadline: deadline));
        thread.SignalMask = mask;
        if (slept.Error == Errno.ETIMEDOUT)
            return Errno.EAGAIN;
        if (slept.Control is Restart && ((thread.Pending.Set | thread.Process.SharedPending.Set) & wanted) != 0)
            return TimedWait(thread, set, information, timeout, setSize);
        return slept.Control is Restart ? Errno.EINTR : slept;
    }

    // ---- timers ----

    [Syscall("alarm", Support = Support.Full)]
    public static Result Alarm(GuestThread thread, uint seconds)
    {
        var timer = RealTimer(thread.Process);
        var left = timer.Remaining(thread.Kernel);
        timer.Arm(thread.Kernel, seconds * 1_000_000_000L, 0);
        return left <= 0 ? 0 : Math.Max(1, (left + 500_000_000) / 1_000_000_000);
    }

    [Syscall("setitimer", Support = Support.Partial, Note = "ITIMER_VIRTUAL and ITIMER_PROF both count the exact runtime of the host threads running the process's threads (Trapeze's handling of the guest's system calls included, user and system alike)")]
    public static Result SetIntervalTimer(GuestThread thread, IntervalTimer which, GuestAddress value, GuestAddress oldValue)
    {
        if (which is not (IntervalTimer.ITIMER_REAL or IntervalTimer.ITIMER_VIRTUAL or IntervalTimer.ITIMER_PROF))
            return Errno.EINVAL;
        Span<long> fields = stackalloc long[4];
        if (!value.IsNull && thread.Process.Personality.Structures.ReadLongs(thread.Memory, value, fields) is var fault and not Errno.None)
            return fault;
        if (!oldValue.IsNull && WriteIntervalTimer(thread, oldValue, which) is var writeFault and not Errno.None)
            return writeFault;
        if (value.IsNull)
            return 0;
        if (fields[1] is < 0 or >= 1_000_000 || fields[3] is < 0 or >= 1_000_000 || fields[0] < 0 || fields[2] < 0)
            return Errno.EINVAL;
        long initial = fields[2] * 1_000_000_000 + fields[3] * 1000, interval = fields[0] * 1_000_000_000 + fields[1] * 1000;
        if (which == IntervalTimer.ITIMER_REAL)
            RealTimer(thread.Process).Arm(thread.Kernel, initial, interval);
        else
            CpuTimer(thread.Process, which).Arm(thread.Kernel, initial, interval);
        return 0;
    }

    [Syscall("getitimer", Support = Support.Partial, Note = "ITIMER_VIRTUAL and ITIMER_PROF both count the exact runtime of the host threads running the process's threads (Trapeze's handling of the guest's system calls included, user and system alike)")]
    public static Result GetIntervalTimer(GuestThread thread, IntervalTimer which, GuestAddress value)
        => which is not (IntervalTimer.ITIMER_REAL or IntervalTimer.ITIMER_VIRTUAL or IntervalTimer.ITIMER_PROF) ? Errno.EINVAL
            : WriteIntervalTimer(thread, value, which) is var fault and not Errno.None ? fault : 0;

    /// <summary>struct itimerval: the interval, then the time left, each as seconds and microseconds.</summary>
    private static Errno WriteIntervalTimer(GuestThread thread, GuestAddress address, IntervalTimer which)
    {
        var (interval, left) = which == IntervalTimer.ITIMER_REAL
            ? (RealTimer(thread.Process).Interval, RealTimer(thread.Process).Remaining(thread.Kernel))
            : (CpuTimer(thread.Process, which).Interval, CpuTimer(thread.Process, which).Remaining);
        // A timer about to fire reads as 1µs left, never 0 (which means disarmed).
        var leftMicroseconds = left <= 0 ? 0 : Math.Max(1, (left + 999) / 1000);
        ReadOnlySpan<long> fields = [interval / 1_000_000_000, interval % 1_000_000_000 / 1000, leftMicroseconds / 1_000_000, leftMicroseconds % 1_000_000];
        return thread.Process.Personality.Structures.WriteLongs(thread.Memory, address, fields);
    }

    private static CpuTimer CpuTimer(Process process, IntervalTimer which)
        => which == IntervalTimer.ITIMER_VIRTUAL
            ? process.VirtualTimer ??= new CpuTimer(process, profile: false)
            : process.ProfileTimer ??= new CpuTimer(process, profile: true);

    private static PosixTimer RealTimer(Process process)
        => process.RealTimer ??= new PosixTimer(process, -1, ClockId.CLOCK_MONOTONIC) { Signal = (int)Signal.SIGALRM, Code = SignalInfo.KernelCode };

    [Syscall("timer_create", Support = Support.Partial, Note = "CLOCK_REALTIME, CLOCK_MONOTONIC (and BOOTTIME) with SIGEV_SIGNAL, SIGEV_THREAD_ID and SIGEV_NONE; the CPU-time clocks and the *_ALARM clocks are EINVAL (Linux has them)")]
    public static Result TimerCreate(GuestThread thread, ClockId clock, GuestAddress eventAddress, GuestAddress timerId)
    {
        const int SignalNotify = 0, NoNotify = 1, ThreadIdNotify = 4;
        if (clock is not (ClockId.CLOCK_REALTIME or ClockId.CLOCK_MONOTONIC or ClockId.CLOCK_BOOTTIME))
            return Errno.EINVAL;
        var process = thread.Process;
        var id = 0;
        while (process.Timers.ContainsKey(id))
            id++;
        var timer = new PosixTimer(process, id, clock) { Signal = (int)Signal.SIGALRM, Code = SignalInfo.TimerCode, Value = (ulong)id };
        if (!eventAddress.IsNull)
        {
            if (thread.Process.Personality.Structures.ReadSignalEvent(thread.Memory, eventAddress, out var value, out var signal, out var notify, out var tid) is var fault and not Errno.None)
                return fault;
            timer.Value = value;
            switch (notify)
            {
                case NoNotify:
                    timer.Signal = 0;
                    break;
                case SignalNotify:
                case ThreadIdNotify:
                    if (signal < 1 || signal > SignalCount)
                        return Errno.EINVAL;
                    timer.Signal = signal;
                    if (notify == ThreadIdNotify)
                    {
                        if (thread.Kernel.FindThread(tid) is not { } target || target.Process != process)
                            return Errno.EINVAL;
                        timer.Thread = target;
                    }
                    break;
                default:
                    return Errno.EINVAL;
            }
        }
        if (thread.Memory.Write(timerId, id) is var idFault and not Errno.None)
            return idFault;
        process.Timers[id] = timer;
        return 0;
    }

    [Syscall("timer_settime", Support = Support.Partial, Note = "as timer_create")]
    public static Result TimerSet(GuestThread thread, int id, int flags, GuestAddress value, GuestAddress oldValue)
    {
        const int Absolute = 1;
        if (!thread.Process.Timers.TryGetValue(id, out var timer))
            return Errno.EINVAL;
        if (ReadTimerSpec(thread, value, out var spec) is var fault and not Errno.None)
            return fault;
        if (!Valid(spec.Interval) || !Valid(spec.Value))
            return Errno.EINVAL;
        if (!oldValue.IsNull && WriteTimerSpec(thread, oldValue, Describe(thread, timer)) is var writeFault and not Errno.None)
            return writeFault;
        var initial = Nanoseconds(spec.Value);
        if (initial != 0 && (flags & Absolute) != 0)
            initial = Math.Max(1, thread.Kernel.Clock.ToMonotonic(timer.Clock, initial) - thread.Kernel.Clock.Monotonic);
        timer.Arm(thread.Kernel, initial, Nanoseconds(spec.Interval));
        return 0;
    }

    [Syscall("timer_gettime", Support = Support.Partial, Note = "as timer_create")]
    public static Result TimerGet(GuestThread thread, int id, GuestAddress value)
    {
        if (!thread.Process.Timers.TryGetValue(id, out var timer))
            return Errno.EINVAL;
        return WriteTimerSpec(thread, value, Describe(thread, timer)) is var fault and not Errno.None ? fault : 0;
    }

    [Syscall("timer_getoverrun", Support = Support.Partial, Note = "as timer_create")]
    public static Result TimerGetOverrun(GuestThread thread, int id)
        => thread.Process.Timers.TryGetValue(id, out var timer) ? timer.LastOverrun : Errno.EINVAL;

    [Syscall("timer_delete", Support = Support.Partial, Note = "as timer_create")]
    public static Result TimerDelete(GuestThread thread, int id)
    {
        if (!thread.Process.Timers.Remove(id, out var timer))
            return Errno.EINVAL;
        timer.Arm(thread.Kernel, 0, 0);
        return 0;
    }

    private struct TimerSpec
    {
        public Timespec Interval;
        public Timespec Value;
    }

    /// <summary>struct itimerspec: two timespecs, of 32-bit fields in a 32-bit ABI's time32 calls.</summary>
    private static Errno ReadTimerSpec(GuestThread thread, GuestAddress address, out TimerSpec spec)
    {
        spec = default;
        if (LinuxStructures.ReadTime(thread, address, out spec.Interval) is var fault and not Errno.None)
            return fault;
        return LinuxStructures.ReadTime(thread, address + (thread.OldTimeLayout ? 8UL : 16UL), out spec.Value);
    }

    private static Errno WriteTimerSpec(GuestThread thread, GuestAddress address, in TimerSpec spec)
        => LinuxStructures.WriteTime(thread, address, spec.Interval) is var fault and not Errno.None
            ? fault
            : LinuxStructures.WriteTime(thread, address + (thread.OldTimeLayout ? 8UL : 16UL), spec.Value);

    private static bool Valid(Timespec time) => time.Seconds >= 0 && time.Nanoseconds is >= 0 and < 1_000_000_000;

    private static long Nanoseconds(Timespec time) => time.Seconds >= long.MaxValue / 1_000_000_000 ? long.MaxValue / 2 : time.Seconds * 1_000_000_000 + time.Nanoseconds;

    private static TimerSpec Describe(GuestThread thread, PosixTimer timer)
    {
        var left = Math.Max(0, timer.Remaining(thread.Kernel));
        return new TimerSpec
        {
            Interval = new Timespec { Seconds = timer.Interval / 1_000_000_000, Nanoseconds = timer.Interval % 1_000_000_000 },
            Value = new Timespec { Seconds = left / 1_000_000_000, Nanoseconds = left % 1_000_000_000 },
        };
    }
}
