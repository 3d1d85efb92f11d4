using System.Collections.Concurrent;
using Trapeze.Cpu;
using Trapeze.Kernel;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Debugger;

/// <summary>A stop the debugger reports: who stopped, the stop reply, and what the debugger decides on resuming.</summary>
internal sealed class DebugStop(GuestThread? thread, string reply)
{
    public GuestThread? Thread { get; } = thread;
    public string Reply { get; } = reply;
    public SemaphoreSlim Resumed { get; } = new(0);

    /// <summary>The Linux signal to deliver on resuming (gdb's C and S); 0 for none.</summary>
    public int ResumeSignal { get; set; }

    /// <summary>A process exit: nothing resumes; the server only says so.</summary>
    public bool IsExit { get; init; }

    /// <summary>Held by a host thread that is no guest thread (Ctrl-C with every thread asleep or waiting).</summary>
    public bool HeldByKernel { get; init; }

    /// <summary>The signal a signal stop reports (gdb's $_siginfo).</summary>
    public SignalInfo? Signal { get; init; }
}

/// <summary>The debugger's state for one guest thread.</summary>
internal sealed class ThreadControl
{
    public bool Step;

    /// <summary>A forked child waits, without the run lock, until the debugger resumes or detaches it.</summary>
    public bool Held;
    public SemaphoreSlim Released { get; } = new(0);

    /// <summary>A stop found where the thread cannot stop (inside the engine, after a run): reported at its next <see cref="DebugSupervisor.BeforeRun"/>.</summary>
    public string? PendingStop;
    public int PendingSignal = GdbSignals.Trap;

    /// <summary>The syscall whose entry was reported: its second dispatch runs, and its exit is reported.</summary>
    public int SyscallEntered = -1;
    public bool InVfork;
}

/// <summary>
/// The kernel side of the gdb stub: stops guest threads at the kernel's events (<see cref="ISupervisor"/>)
/// and hands each stop to <see cref="GdbServer"/>. A stopped thread keeps the run lock while gdb
/// looks, so no other guest thread runs: gdb's all-stop mode.
/// </summary>
public sealed class DebugSupervisor : ISupervisor
{
    private readonly Lock gate = new();
    private readonly Dictionary<GuestThread, ThreadControl> controls = [];
    private readonly HashSet<Process> attached = [];
    private GuestThread? lastRan;
    private bool started;

    internal DebugSupervisor(Kernel.Kernel kernel)
    {
        Kernel = kernel;
    }

    internal Kernel.Kernel Kernel { get; }

    /// <summary>Stops and exits for the server, in order.</summary>
    internal BlockingCollection<DebugStop> Stops { get; } = [];

    internal bool ReportForks { get; set; }
    internal bool ReportVforks { get; set; }
    internal bool ReportExecs { get; set; }

    /// <summary>QCatchSyscalls: null catches none, empty every call, else these numbers.</summary>
    internal HashSet<int>? CaughtSyscalls { get; set; }

    /// <summary>QPassSignals: Linux signals delivered without a stop.</summary>
    internal HashSet<int> PassedSignals { get; set; } = [];

    /// <summary>The hardware breakpoints (Z1), so their stops say hwbreak rather than swbreak.</summary>
    internal HashSet<(Process, ulong)> HardwareBreakpoints { get; } = [];

    internal bool Detached { get; private set; }

    internal IReadOnlyCollection<Process> Attached
    {
        get
        {
            lock (gate)
                return attached.Where(p => p.State == ProcessState.Running).ToArray();
        }
    }

    internal bool IsAttached(Process process)
    {
        lock (gate)
            return attached.Contains(process);
    }

    internal void Attach(Process process)
    {
        lock (gate)
            attached.Add(process);
    }

    internal ThreadControl ControlOf(GuestThread thread)
    {
        lock (gate)
        {
            if (!controls.TryGetValue(thread, out var control))
                controls[thread] = control = new ThreadControl();
            return control;
        }
    }

    /// <summary>The thread to name when the stop is nobody's own (Ctrl-C): the last one that ran.</summary>
    internal GuestThread? LastRan => lastRan;

    public void BeforeRun(GuestThread thread)
    {
        if (Detached || !IsAttached(thread.Process))
            return;
        var control = ControlOf(thread);
        while (control.Held && !Detached && !thread.Killed)
        {
            Kernel.Scheduler.Release(thread);
            control.Released.Wait();
            Kernel.Scheduler.Acquire(thread);
            thread.Process.MemoryContext.Load(thread);
        }
        if (thread.Killed || !IsAttached(thread.Process))
            return;
        if (thread.Blocked is null)
            lastRan = thread;
        if (!started)
        {
            started = true;
            Park(thread, GdbSignals.Trap, "");
            TakeReverse(thread, control);
        }
        if (control.InVfork && thread.Blocked is null && control.PendingStop is null)
        {
            control.InVfork = false;
            control.PendingStop = "vforkdone:;";
        }
        while (control.PendingStop is { } reason)
        {
            control.PendingStop = null;
            var stop = Park(thread, control.PendingSignal, reason);
            control.PendingSignal = GdbSignals.Trap;
            if (stop.ResumeSignal != 0)
                SignalDelivery.SendToThread(thread, SignalInfo.FromUser((Signal)stop.ResumeSignal, SignalInfo.KernelCode, 0, 0));
            TakeReverse(thread, control);
        }
        if (thread.Blocked is null && thread.Process.Cpu is ICpuDebugging cpu)
        {
            cpu.SingleStep = control.Step;
            Reverse?.BeforeRun(thread, cpu);
        }
    }

    /// <summary>gdb went backwards (bs, bc) from this stop: either the answer is ready now, or the thread runs to it.</summary>
    private void TakeReverse(GuestThread thread, ThreadControl control)
    {
        if (Reverse is { } reverse && thread.Blocked is null && thread.Process.Cpu is ICpuDebugging cpu && reverse.Start(thread, cpu, out var arrived))
            control.PendingStop = arrived;
    }

    /// <summary>Reverse execution, when the guest is a replay (`trapeze replay --gdb`).</summary>
    internal ReverseExecution? Reverse { get; set; }

    public bool AfterRun(GuestThread thread, CpuEvent cpuEvent)
    {
        if (Detached || !IsAttached(thread.Process))
            return false;
        var control = ControlOf(thread);
        if (Reverse is { } reverse && thread.Process.Cpu is ICpuDebugging reversing && reverse.AfterRun(thread, reversing, cpuEvent, out var arrived))
        {
            if (arrived is not null)
                control.PendingStop = arrived;
            return true;
        }
        var stepped = control.Step;
        if (stepped)
        {
            control.Step = false;
            if (thread.Process.Cpu is ICpuDebugging cpu)
                cpu.SingleStep = false;
        }
        switch (cpuEvent.Kind)
        {
            case CpuEventKind.Breakpoint:
                control.PendingStop ??= HardwareBreakpoints.Contains((thread.Process, cpuEvent.Address)) ? "hwbreak:;" : "swbreak:;";
                return true;
            case CpuEventKind.Watchpoint:
                var name = (WatchKind)cpuEvent.Number switch { WatchKind.Write => "watch", WatchKind.Read => "rwatch", _ => "awatch" };
                control.PendingStop ??= $"{name}:{cpuEvent.Address:x};";
                return true;
            case CpuEventKind.Stopped:
                // A step that ended in a call that sleeps is over when the call returns.
                if (stepped)
                    control.PendingStop ??= "";
                return false;
            default:
                // A fault becomes the guest's signal, which gdb sees on its way to delivery.
                return false;
        }
    }

    public SignalInfo? SignalArrived(GuestThread thread, SignalInfo info)
    {
        if (Detached || !IsAttached(thread.Process) || PassedSignals.Contains(info.Signal) || Reverse is { Busy: true })
            return info;
        var stop = Park(thread, GdbSignals.FromLinux(info.Signal), "", info);
        if (stop.ResumeSignal == 0)
            return null;
        return stop.ResumeSignal == info.Signal ? info : SignalInfo.FromUser((Signal)stop.ResumeSignal, SignalInfo.KernelCode, 0, 0);
    }

    public bool StopAtSyscall(GuestThread thread, int number, bool entry)
    {
        if (CaughtSyscalls is not { } caught || Detached || !IsAttached(thread.Process) || Reverse is { Busy: true })
            return false;
        var control = ControlOf(thread);
        if (entry)
        {
            if (control.SyscallEntered == number)
                return false;
            if (caught.Count > 0 && !caught.Contains(number))
                return false;
            control.SyscallEntered = number;
            control.PendingStop ??= $"syscall_entry:{number:x};";
            return true;
        }
        if (control.SyscallEntered != number)
            return false;
        control.SyscallEntered = -1;
        control.PendingStop ??= $"syscall_return:{number:x};";
        return true;
    }

    public void ThreadCreated(GuestThread creator, GuestThread child, bool vfork)
    {
        if (Detached || !IsAttached(creator.Process) || child.Process == creator.Process)
            return;
        if (vfork ? !ReportVforks : !ReportForks)
            return;
        Attach(child.Process);
        ControlOf(child).Held = true;
        var control = ControlOf(creator);
        control.PendingStop = $"{(vfork ? "vfork" : "fork")}:p{child.Process.Id:x}.{child.Id:x};";
        control.InVfork = vfork;
        creator.Process.Cpu.RequestStop();
    }

    public void Executed(GuestThread thread)
    {
        if (Detached || !IsAttached(thread.Process))
            return;
        (thread.Process.Cpu as ICpuDebugging)?.RemoveAllDebugPoints();
        lock (gate)
            HardwareBreakpoints.RemoveWhere(b => b.Item1 == thread.Process);
        if (ReportExecs)
            ControlOf(thread).PendingStop = $"exec:{Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(thread.Process.ExecutablePath))};";
    }

    public void ProcessExited(Process process, ExitStatus status)
    {
        lock (gate)
        {
            if (!attached.Remove(process))
                return;
            foreach (var thread in controls.Keys.Where(t => t.Process == process).ToArray())
                controls.Remove(thread);
        }
        if (Detached)
            return;
        var reply = status.Signal is { } signal ? $"X{GdbSignals.FromLinux((int)signal):x2};process:{process.Id:x}" : $"W{status.Code & 0xff:x2};process:{process.Id:x}";
        var exit = new DebugStop(null, reply) { IsExit = true };
        Stops.Add(exit);
        // The stub says so before the kernel goes on (the first process's end ends Trapeze).
        exit.Resumed.Wait(TimeSpan.FromSeconds(5));
    }

    /// <summary>Stops <paramref name="thread"/> (holding the run lock) until gdb resumes it.</summary>
    private DebugStop Park(GuestThread thread, int gdbSignal, string reason, SignalInfo? signal = null)
    {
        var stop = new DebugStop(thread, $"T{gdbSignal:x2}thread:{GdbServer.ThreadId(thread)};{reason}") { Signal = signal };
        Stops.Add(stop);
        stop.Resumed.Wait();
        // gdb may have looked at other threads of this CPU meanwhile.
        if (!thread.Killed)
            thread.Process.MemoryContext.Load(thread);
        return stop;
    }

    /// <summary>Ctrl-C: every guest thread stops; the stop names the thread that ran last.</summary>
    internal void Interrupt()
    {
        var host = new Thread(() =>
        {
            var baton = new Baton();
            Kernel.Scheduler.AcquireForKernel(baton);
            try
            {
                if (Detached)
                    return;
                var thread = lastRan is { Killed: false } last && IsAttached(last.Process) ? last : Attached.SelectMany(p => p.Threads).FirstOrDefault();
                if (thread is null)
                    return;
                var stop = new DebugStop(thread, $"T{GdbSignals.Interrupt:x2}thread:{GdbServer.ThreadId(thread)};") { HeldByKernel = true };
                Stops.Add(stop);
                stop.Resumed.Wait();
            }
            finally
            {
                Kernel.Scheduler.ReleaseForKernel(baton);
            }
        })
        { IsBackground = true, Name = "gdb interrupt" };
        host.Start();
    }

    /// <summary>gdb let go of <paramref name="process"/> (D), or of everything: it runs on without stops.</summary>
    internal void Detach(Process? process)
    {
        List<ThreadControl> held;
        lock (gate)
        {
            var leaving = process is null ? attached.ToList() : [process];
            foreach (var gone in leaving)
            {
                attached.Remove(gone);
                if (gone.Cpu is ICpuDebugging cpu)
                {
                    cpu.RemoveAllDebugPoints();
                    cpu.SingleStep = false;
                }
                HardwareBreakpoints.RemoveWhere(b => b.Item1 == gone);
            }
            held = controls.Where(c => leaving.Contains(c.Key.Process)).Select(c => c.Value).ToList();
            foreach (var thread in controls.Keys.Where(t => leaving.Contains(t.Process)).ToArray())
                controls.Remove(thread);
            if (attached.Count == 0)
                Detached = true;
        }
        foreach (var control in held)
            Release(control);
    }

    internal static void Release(ThreadControl control)
    {
        if (!control.Held)
            return;
        control.Held = false;
        control.Released.Release();
    }
}
