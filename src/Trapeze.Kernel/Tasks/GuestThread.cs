using Trapeze.Cpu;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Tasks;

/// <summary>Why a blocked thread woke up; its call, dispatched again, asks through <see cref="GuestThread.Block"/>.</summary>
public enum WakeReason
{
    None,
    Notified,
    TimedOut,
    Interrupted,
}

/// <summary>A system call that blocked: what the run loop needs to dispatch it again and to finish it.</summary>
public sealed class BlockedSyscall
{
    public required ulong Number { get; init; }
    public required SyscallDefinition? Definition { get; init; }
    public required SyscallArguments Arguments { get; init; }

    /// <summary>Where the guest continues, and the RFLAGS it had (R11 on x86-64).</summary>
    public required ulong NextInstruction { get; init; }
    public required ulong Flags { get; init; }

    public required Wait Wait { get; set; }

    /// <summary>The thread let the others run once before this call's first sleep.</summary>
    public bool Yielded { get; set; }

    /// <summary>The tracer's record, entered when the call started and exited when it finishes.</summary>
    public SyscallCall? Trace { get; set; }
}

/// <summary>
/// A guest thread (a Linux task): the unit that makes system calls. It owns its registers (saved in
/// <see cref="Context"/> while another thread has the CPU) and a host thread that runs it under the
/// scheduler's run lock.
/// </summary>
public sealed class GuestThread
{
    private readonly List<Action<ICpu>> startRegisters = [];
    private readonly int wakeDescriptor;

    internal GuestThread(Process process, int id)
    {
        Process = process;
        Id = id;
        const long NonBlocking = 0x800, CloseOnExec = 0x80000;
        wakeDescriptor = (int)HostSyscall.Invoke(HostSyscall.Eventfd2, 0, NonBlocking | CloseOnExec);
    }

    public Process Process { get; }
    public int Id { get; internal set; }
    public Kernel Kernel => Process.Kernel;
    public GuestMemory Memory => Process.Memory;

    /// <summary>set_tid_address: cleared and futex-woken when the thread exits.</summary>
    public GuestAddress ClearChildTid { get; set; }

    /// <summary>set_robust_list: head of the robust futex list.</summary>
    public GuestAddress RobustList { get; set; }

    /// <summary>Blocked signals, bit (n-1) for signal n.</summary>
    public ulong SignalMask { get; set; }

    /// <summary>Signals sent to this thread (tkill, tgkill, faults).</summary>
    public PendingSignals Pending { get; } = new();

    /// <summary>sigaltstack: the alternate stack's base and size (0 when none is set).</summary>
    public ulong AlternateStackBase { get; set; }
    public ulong AlternateStackSize { get; set; }
    public bool AlternateStackAutoDisarm { get; set; }

    /// <summary>sigsuspend's and ppoll's mask in force: the mask a handler's frame saves (restored by rt_sigreturn) instead of the current one.</summary>
    public ulong? SavedMask { get; set; }

    /// <summary>A call a signal interrupted: delivery decides between EINTR (already in RAX) and running it again.</summary>
    internal InterruptedCall? InterruptedCall { get; set; }

    /// <summary>What restart_syscall continues: set by a call that returned <see cref="RestartRule.RestartBlock"/>.</summary>
    internal RestartBlock? RestartBlock { get; set; }

    /// <summary>The call restart_syscall would continue, for the tracer's "&lt;... resuming interrupted nanosleep ...&gt;".</summary>
    public string? RestartedCall => RestartBlock?.Call ?? (RetryState as RestartBlock)?.Call;

    /// <summary>sigreturn or rt_sigreturn was called: the run loop restores the registers from that frame.</summary>
    internal SignalFrameKind? SignalReturnPending { get; set; }

    /// <summary>The registers while the thread is off the CPU (null before it first ran: it starts from the CPU's state).</summary>
    internal ICpuContext? Context { get; set; }

    /// <summary>
    /// On a CPU that runs threads at once: this thread's handle there, which stops it from any host
    /// thread and counts the CPU time of its guest code. Letting go of one keeps the time it counted.
    /// </summary>
    internal ICpuThread? CpuThread
    {
        get => cpuThread;
        set
        {
            if (cpuThread is { } previous && previous != value)
                earlierGuestTime += previous.CpuTime();
            cpuThread = value;
        }
    }

    private ICpuThread? cpuThread;

    // CPU time of guest code on CPU threads this thread has let go of (an exec on the native platform).
    private long earlierGuestTime;

    /// <summary>Taken by <see cref="Scheduler"/> to hand this thread the run lock.</summary>
    internal Baton Baton { get; } = new();

    /// <summary>In the scheduler's queue, waiting for the run lock.</summary>
    internal bool Queued { get; set; }

    /// <summary>Asleep in <see cref="Sleep"/>, without the run lock.</summary>
    private bool sleeping, wokenWhileYielding;

    /// <summary>The call this thread sleeps in, if any.</summary>
    public BlockedSyscall? Blocked { get; internal set; }

    /// <summary>Why the thread last woke; <see cref="Block"/> turns it into ETIMEDOUT or an interruption.</summary>
    public WakeReason WakeReason { get; private set; }

    /// <summary>A blocking call's own state kept across its dispatches (a vfork child, a futex waiter, bytes written so far).</summary>
    public object? RetryState { get; set; }

    /// <summary>A call's second result, which the BSD ABIs return in RDX/EDX (pipe's write end, fork's "child" flag).</summary>
    public ulong SecondResult { get; set; }

    /// <summary>The end of this thread's life was decided (exit_group, a fatal signal, exec by another thread).</summary>
    public bool Killed { get; private set; }

    /// <summary>A signal or the kernel wants this thread back in its run loop.</summary>
    public bool Interrupted { get; private set; }

    internal bool PreemptRequested { get; private set; }

    /// <summary>An execve that found its program, to be put in place by the run loop.</summary>
    internal ExecRequest? PendingExec { get; set; }

    /// <summary>
    /// The call being dispatched is a 32-bit ABI's old time32 form (clock_gettime, nanosleep... rather
    /// than their *_time64 twins): its timespec and timeval have 32-bit fields. Set by the personality.
    /// </summary>
    public bool OldTimeLayout { get; internal set; }

    /// <summary>i386: this thread's TLS descriptors (GDT entries 12-14), put into the GDT whenever it gets the CPU, as Linux's load_TLS does.</summary>
    internal ulong[]? TlsDescriptors { get; set; }

    /// <summary>The supervisor stopped a call at its entry: the next run starts on its syscall instruction again.</summary>
    internal ulong? RepeatSyscallAt { get; set; }

    /// <summary>Where the call being dispatched returns to (a new thread or child starts there).</summary>
    public ulong NextInstruction { get; internal set; }

    /// <summary>sched_yield: give the CPU to the threads waiting for it once this call returns.</summary>
    public void YieldAfterCall() => Preempt();

    private long? deadline;

    /// <summary>Sleeps on <paramref name="wait"/>, unless the last wake-up was its timeout (ETIMEDOUT) or a signal.</summary>
    public Result Block(Wait wait) => WakeReason switch
    {
        WakeReason.TimedOut => Errno.ETIMEDOUT,
        WakeReason.Interrupted => Result.Interrupted(RestartRule.UnlessHandlerWithoutRestartFlag),
        _ => Result.Blocked(wait),
    };

    /// <summary>A deadline <paramref name="nanoseconds"/> from the call's first dispatch: the same on every retry.</summary>
    public long DeadlineAfter(long nanoseconds)
    {
        deadline ??= nanoseconds >= Wait.NoDeadline - Kernel.Clock.Monotonic ? Wait.NoDeadline : Kernel.Clock.Monotonic + nanoseconds;
        return deadline.Value;
    }

    /// <summary>Registers a new thread starts with, applied when it first gets the CPU (after the parent's context).</summary>
    internal void SetStartRegister(X64Register register, ulong value) => startRegisters.Add(cpu => cpu.WriteRegister(register, value));

    /// <summary>Any other part of a new thread's CPU state (ARM registers, an x86 segment), set when it first runs.</summary>
    internal void SetStartState(Action<ICpu> apply) => startRegisters.Add(apply);

    internal void ApplyStartRegisters()
    {
        foreach (var apply in startRegisters)
            apply(Process.Cpu);
        startRegisters.Clear();
    }

    /// <summary>The call finished: forget what its dispatches shared.</summary>
    internal void CallFinished()
    {
        Blocked = null;
        RetryState = null;
        WakeReason = WakeReason.None;
        deadline = null;
    }

    /// <summary>Wakes the thread from any wait (a wait queue's notification).</summary>
    internal void Wake()
    {
        wokenWhileYielding = true;
        if (sleeping && Kernel.Determinism is not null)
            Kernel.Scheduler.Reserve(this);
        long one = 1;
        unsafe
        {
            HostSyscall.Invoke(HostSyscall.Write, wakeDescriptor, (long)&one, 8);
        }
    }

    /// <summary>Forgets wake-ups that came while the thread did not sleep on the host, so its next sleep does not end at once.</summary>
    private void DrainWakeups()
    {
        long value;
        unsafe
        {
            HostSyscall.Invoke(HostSyscall.Read, wakeDescriptor, (long)&value, 8);
        }
    }

    /// <summary>Brings the thread back to its run loop: out of any wait, and off the CPU if it runs.</summary>
    public void Interrupt()
    {
        Interrupted = true;
        Wake();
        StopOnCpu();
    }

    internal void ClearInterrupt() => Interrupted = false;

    /// <summary>Ends the thread at its next return to the run loop.</summary>
    internal void Kill()
    {
        Killed = true;
        Interrupt();
    }

    /// <summary>The preemption timer: stop running so that waiting threads get the CPU.</summary>
    internal void Preempt()
    {
        PreemptRequested = true;
        StopOnCpu();
    }

    /// <summary>
    /// Ends the thread's run of guest code: on its own CPU thread, or on the shared engine while it
    /// holds the run lock or runs without it.
    /// </summary>
    internal void StopOnCpu()
    {
        if (CpuThread is { } own)
            own.RequestStop();
        else if (Kernel.Scheduler.Running == this || runsWithoutLock)
            Process.Cpu.RequestStop();
    }

    /// <summary>Starts the host thread that runs this guest thread.</summary>
    internal void Start()
    {
        var host = new Thread(() =>
        {
            Main();
            Kernel.HostThreadEnded();
        }, 16 << 20)
        { IsBackground = true, Name = $"guest {Id}" };
        host.Start();
    }

    /// <summary>Ignored signals sent to this thread while it is traced: the tracer hears of them on its way back to user space.</summary>
    internal List<SignalInformation>? IgnoredSignalsToTrace { get; set; }

    /// <summary>The host thread that runs this one (its CPU time is this thread's); 0 before it starts.</summary>
    private int hostThread;

    /// <summary>
    /// CPU time this thread has used, in nanoseconds, for ITIMER_VIRTUAL, ITIMER_PROF and RLIMIT_CPU
    /// alike (no user/system split: see <see cref="HostCpuClock.Of"/>): its host thread's, and its
    /// guest code's where that runs elsewhere.
    /// </summary>
    internal long CpuTime()
        => (hostThread == 0 ? 0 : HostCpuClock.Of(hostThread)) + earlierGuestTime + (cpuThread?.CpuTime() ?? 0);

    /// <summary>Runs the thread to its end on the calling host thread.</summary>
    internal void Main()
    {
        hostThread = HostCpuClock.CurrentThread;
        Kernel.Scheduler.Acquire(this);
        try
        {
            RunLoop();
        }
        catch (Exception exception)
        {
            Kernel.ReportInternalError(this, "the run loop", exception);
        }
        finally
        {
            Process.ThreadExited(this);
            HostSyscall.Invoke(HostSyscall.Close, wakeDescriptor);
            Kernel.Scheduler.Release(this);
        }
    }

    private void RunLoop()
    {
        while (!Killed)
        {
            if (PendingExec is { } exec)
            {
                PendingExec = null;
                ExecCalls.Complete(this, exec);
                Kernel.Supervisor?.Executed(this);
                continue;
            }
            if (Blocked is { } call)
            {
                // A supervisor sees the thread before it sleeps too (vfork's parent reports the vfork first).
                Kernel.Supervisor?.BeforeRun(this);
                // When the others ran instead, what this call waits for may be there now (a reply on a loopback socket).
                if (!YieldBeforeSleep(call))
                    Sleep(call.Wait);
                if (Killed)
                    break;
                Process.MemoryContext.Load(this);
                Process.Personality.Resume(this, Process.Cpu, call);
                continue;
            }
            Interrupted = false;
            var memory = Process.MemoryContext;
            memory.Load(this);
            // With another thread anywhere, this one may be preempted while it runs.
            if (Kernel.LiveThreads > 1)
                memory.Cpu.EnablePreciseStops();
            // The way back to user space: rt_sigreturn, EINTR or restart, pending signals, stops.
            SignalDelivery.ReturnToUser(this);
            if (Killed)
                break;
            if (Blocked is not null || PendingExec is not null)
                continue;
            if (Kernel.Supervisor is { } supervisor)
            {
                supervisor.BeforeRun(this);
                if (Killed)
                    break;
            }
            Kernel.Determinism?.BeforeRun(this);
            var cpuEvent = RunGuestCode(memory);
            if (Kernel.Determinism is { } determinism && determinism.SliceOver(this))
                PreemptRequested = true;
            var asked = RunEnding;
            if (RepeatSyscallAt is { } syscallAt)
            {
                RepeatSyscallAt = null;
                SetProgramCounter(syscallAt);
            }
            if (PreemptRequested)
            {
                PreemptRequested = false;
                // A thread about to sleep lets go of the CPU there, after it has subscribed to its
                // wait queues: yielding first could miss the wake-up it waits for.
                if (Blocked is null)
                    Kernel.Scheduler.Yield(this);
            }
            if (cpuEvent.Kind == CpuEventKind.Stopped && !asked && StoppedAtHalt(cpuEvent.ProgramCounter))
                cpuEvent = cpuEvent with { Kind = CpuEventKind.GeneralProtection, ProgramCounter = cpuEvent.ProgramCounter - 1 };
            if (Kernel.Supervisor is { } observer && observer.AfterRun(this, cpuEvent))
                continue;
            if (cpuEvent.Kind != CpuEventKind.Stopped && !Killed)
                Kernel.OnCpuEvent(this, cpuEvent);
        }
    }

    /// <summary>Something wants this thread back in its run loop: its run of guest code ends.</summary>
    private bool RunEnding => PreemptRequested || Blocked is not null || PendingExec is not null || Killed || Interrupted || RepeatSyscallAt is not null;

    /// <summary>The thread runs guest code without the run lock (<see cref="MayRunWithoutLock"/>); its events take it back.</summary>
    private bool runsWithoutLock;

    /// <summary>
    /// Guest code alone in its address space, which shares no memory with another, cannot race
    /// another guest thread's memory accesses: it runs without the run lock, so guests of different
    /// processes (a server and its client) run at once. The kernel still runs one thread at a time.
    /// Only while another thread exists (alone, there is no one to let in), and never where the order
    /// of threads is the kernel's to keep (a deterministic run) or a debugger stops them all. Its
    /// descriptors are its own too, so that none is closed under a host call made outside the kernel.
    /// </summary>
    private bool MayRunWithoutLock(MemoryContext memory)
        => Kernel.LiveThreads > 1 && Kernel.Determinism is null && Kernel.Supervisor is null
           && memory.Users == 1 && Process.Threads.Count == 1 && Process.Files.Users == 1
           && !memory.Space.HoldsSharedMemory && !memory.Cpu.RunsThreadsInParallel;

    private CpuEvent RunGuestCode(MemoryContext memory)
    {
        // A stop asked once the lock is let go ends the run at once: it is never lost before the run starts.
        if (!MayRunWithoutLock(memory) || !memory.Cpu.KeepStopRequests())
            return memory.Cpu.Run();
        runsWithoutLock = true;
        Kernel.Scheduler.Release(this);
        try
        {
            return memory.Cpu.Run();
        }
        finally
        {
            TakeLockBack();
        }
    }

    /// <summary>An event of guest code that ran without the run lock: the kernel is this thread's again. True when it was not.</summary>
    internal bool TakeLockBack()
    {
        if (!runsWithoutLock)
            return false;
        Kernel.Scheduler.Acquire(this);
        runsWithoutLock = false;
        return true;
    }

    /// <summary>After an event handled inside the run (a system call): guest code goes on without the lock again, unless the run ends.</summary>
    internal void LetGoOfLockAgain()
    {
        if (RunEnding || !MayRunWithoutLock(Process.MemoryContext))
            return;
        runsWithoutLock = true;
        Kernel.Scheduler.Release(this);
    }

    /// <summary>
    /// A call of this thread may be served without the kernel (<see cref="IPersonality.ServedOutsideKernel"/>):
    /// the thread runs without the run lock, so its memory and descriptors are its own, and nothing
    /// watches its calls (a tracer, inotify) or is in the middle of one.
    /// </summary>
    internal bool MayServeOutsideKernel
        => runsWithoutLock && Kernel.Tracer is null && !Kernel.Notifications.Active && RetryState is null && Blocked is null;

    /// <summary>
    /// For a host call that needs no kernel state (its buffers are the guest's memory and the
    /// call's own): lets go of the run lock meanwhile when guest code may run without it, and takes
    /// it back when disposed.
    /// </summary>
    internal OutsideKernelScope OutsideKernel()
    {
        if (runsWithoutLock || Kernel.Scheduler.Running != this || !MayRunWithoutLock(Process.MemoryContext))
            return default;
        runsWithoutLock = true;
        Kernel.Scheduler.Release(this);
        return new OutsideKernelScope(this);
    }

    internal readonly struct OutsideKernelScope(GuestThread? thread) : IDisposable
    {
        public void Dispose() => thread?.TakeLockBack();
    }

    private void SetProgramCounter(ulong address)
    {
        if (Process.Personality.SignalFrames is { } frames)
            frames.SetProgramCounter(Process.Cpu, address);
        else
            Process.Cpu.WriteRegister(X64Register.Rip, address);
    }

    /// <summary>The engine ends a run quietly after hlt, which in user mode is a general protection fault.</summary>
    private bool StoppedAtHalt(ulong programCounter)
    {
        const byte Halt = 0xf4;
        Span<byte> previous = stackalloc byte[1];
        return programCounter > 0 && Memory.Space.Find(programCounter - 1) is { } mapping
            && (mapping.Protection & MemoryProtection.Execute) != 0
            && Memory.Read(new GuestAddress(programCounter - 1), previous) == Errno.None && previous[0] == Halt;
    }

    /// <summary>
    /// Before a call sleeps the first time, the threads waiting for the CPU run: one of them is often
    /// what it waits for (a server and its client in one Trapeze), and the call then finishes when it
    /// is dispatched again, without a host sleep and wake-up on each side. Once per call, so a call
    /// that still finds nothing sleeps; not in a deterministic run, where yields are the scheduler's.
    /// </summary>
    private bool YieldBeforeSleep(BlockedSyscall call)
    {
        if (call.Yielded || Kernel.Determinism is not null || Interrupted
            || (call.Wait.Queues.Count == 0 && call.Wait.HostDescriptors.Count == 0))
            return false;
        call.Yielded = true;
        return Kernel.Scheduler.Yield(this);
    }

    /// <summary>Sleeps outside any call (a stopped process) until <paramref name="wait"/> is over or a signal comes.</summary>
    internal void SleepOutsideCall(Wait wait)
    {
        Sleep(wait);
        WakeReason = WakeReason.None;
    }

    /// <summary>Lets go of the run lock until the wait is over, then takes it back.</summary>
    private void Sleep(Wait wait)
    {
        foreach (var queue in wait.Queues)
            queue.Subscribe(this);
        bool timedOut;
        if (Kernel.Determinism is not null && wait.Deadline != Wait.NoDeadline && wait.HostDescriptors.Count == 0)
        {
            // Virtual time: the others run first; unless one of them wakes this thread, time jumps to the deadline.
            wokenWhileYielding = false;
            Kernel.Scheduler.Yield(this);
            timedOut = !wokenWhileYielding && !Interrupted && !Killed;
            if (timedOut && Kernel.Clock is VirtualClock clock)
                clock.SkipTo(wait.Deadline);
            DrainWakeups();
        }
        else
        {
            sleeping = true;
            Kernel.Scheduler.Release(this);
            timedOut = HostWait(wait);
            Kernel.Scheduler.Acquire(this);
            sleeping = false;
        }
        foreach (var queue in wait.Queues)
            queue.Unsubscribe(this);
        WakeReason = Interrupted || Killed ? WakeReason.Interrupted : timedOut ? WakeReason.TimedOut : WakeReason.Notified;
        Interrupted = false;
    }

    /// <summary>ppoll on the wake-up descriptor and the awaited host descriptors; true when the deadline passed.</summary>
    private unsafe bool HostWait(Wait wait)
    {
        var count = 1 + wait.HostDescriptors.Count;
        Span<PollDescriptor> descriptors = count <= 16 ? stackalloc PollDescriptor[count] : new PollDescriptor[count];
        descriptors[0] = new PollDescriptor { Descriptor = wakeDescriptor, Events = 1 };
        for (var i = 0; i < wait.HostDescriptors.Count; i++)
            descriptors[i + 1] = new PollDescriptor { Descriptor = wait.HostDescriptors[i].Descriptor, Events = wait.HostDescriptors[i].Events };
        var spinUntil = System.Diagnostics.Stopwatch.GetTimestamp() + SpinBeforeSleep;
        while (true)
        {
            long result;
            var remaining = wait.Deadline == Wait.NoDeadline ? -1 : Math.Max(0, wait.Deadline - Kernel.Clock.Monotonic);
            var spinning = remaining != 0 && System.Diagnostics.Stopwatch.GetTimestamp() < spinUntil;
            if (spinning)
                remaining = 0;
            var timeout = new Abi.Linux.Timespec { Seconds = remaining / 1_000_000_000, Nanoseconds = remaining % 1_000_000_000 };
            fixed (PollDescriptor* pointer = descriptors)
                result = HostSyscall.Invoke(HostSyscall.Ppoll, (long)pointer, count, remaining < 0 ? 0 : (long)&timeout, 0, 8);
            if (result == -(long)Errno.EINTR || (spinning && result == 0))
                continue;
            if ((descriptors[0].Returned & 1) != 0)
            {
                long value;
                HostSyscall.Invoke(HostSyscall.Read, wakeDescriptor, (long)&value, 8);
            }
            return result == 0;
        }
    }

    /// <summary>
    /// How long a sleep first looks for its wake-up without sleeping on the host: a reply from
    /// another guest on loopback often comes within tens of microseconds, and a host sleep and
    /// wake-up costs about as much again (tcp_echo's 20,000 round trips: 0.80 s without the spin, 0.56 s with it).
    /// </summary>
    private static readonly long SpinBeforeSleep = System.Diagnostics.Stopwatch.Frequency * 50 / 1_000_000;

    private struct PollDescriptor
    {
        public int Descriptor;
        public short Events;
#pragma warning disable CS0649 // the host's ppoll writes it
        public short Returned;
#pragma warning restore CS0649
    }
}
