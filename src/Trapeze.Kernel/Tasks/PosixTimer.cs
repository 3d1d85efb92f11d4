using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// A timer of a process (timer_create, or alarm/setitimer's ITIMER_REAL). Its deadline is on the
/// monotonic clock; <see cref="TimerService"/> fires it under the run lock.
/// </summary>
internal sealed class PosixTimer(Process process, int id, ClockId clock) : ITimerEntry
{
    public Process Process { get; } = process;
    public int Id { get; } = id;
    public ClockId Clock { get; } = clock;

    /// <summary>0 for SIGEV_NONE.</summary>
    public int Signal { get; set; }
    public int Code { get; init; }
    public ulong Value { get; set; }

    /// <summary>SIGEV_THREAD_ID's thread; null sends to the process.</summary>
    public GuestThread? Thread { get; set; }

    public long Interval { get; private set; }

    /// <summary>Monotonic nanoseconds of the next expiry; 0 when disarmed.</summary>
    public long Deadline { get; private set; }

    public int LastOverrun { get; private set; }

    /// <summary>Called with the number of expiries each time the timer fires (a timerfd counts them).</summary>
    public Action<int>? Expired { get; init; }

    /// <summary>Each arming gets a new generation, so expiries scheduled by an older one are ignored.</summary>
    public long Generation { get; private set; }

    private SignalInfo? queued;

    public long Remaining(Kernel kernel) => Deadline == 0 ? 0 : Math.Max(1, Deadline - kernel.Clock.Monotonic);

    public void Arm(Kernel kernel, long initial, long interval)
    {
        Generation++;
        Interval = interval;
        Deadline = initial <= 0 ? 0 : kernel.Clock.Monotonic + initial;
        if (Deadline != 0)
            kernel.TimerService.Schedule(this, Deadline, Generation);
    }

    /// <summary>The deadline came (called under the run lock).</summary>
    public void Fire(Kernel kernel, long generation)
    {
        if (generation != Generation || Deadline == 0 || Process.State != ProcessState.Running)
            return;
        var now = kernel.Clock.Monotonic;
        // An expiry a reader caught up with early (timerfd) leaves a stale entry in the service's queue.
        if (Deadline > now)
            return;
        var missed = 0;
        if (Interval > 0)
        {
            while (Deadline <= now)
            {
                Deadline += Interval;
                missed++;
            }
            kernel.TimerService.Schedule(this, Deadline, Generation);
        }
        else
        {
            Deadline = 0;
            missed = 1;
        }
        Expired?.Invoke(missed);
        if (Signal == 0)
            return;
        var queue = Thread?.Pending ?? Process.SharedPending;
        if (queued is not null && queue.Holds(queued))
        {
            queued.Overrun += missed;
            LastOverrun = queued.Overrun;
            return;
        }
        LastOverrun = missed - 1;
        queued = new SignalInfo { Signal = Signal, Code = Code, Pid = Id < 0 ? 0 : Id, Value = Id < 0 ? 0 : Value, Overrun = missed - 1, Timer = Id < 0 ? null : this };
        if (Thread is { } target)
            SignalDelivery.SendToThread(target, queued);
        else
            SignalDelivery.SendToProcess(Process, queued);
    }
}

/// <summary>A timer <see cref="TimerService"/> wakes at a deadline: each arming has its own generation, and a stale one is ignored.</summary>
internal interface ITimerEntry
{
    /// <summary>The deadline came (called under the run lock).</summary>
    void Fire(Kernel kernel, long generation);
}

/// <summary>
/// One host thread that sleeps until the next timer deadline, then takes the run lock (as the
/// kernel, not as a guest thread) and fires what is due: signals are queued and threads
/// interrupted under the same lock as everything else.
/// </summary>
public sealed class TimerService : IDisposable
{
    private readonly Kernel kernel;
    private readonly PriorityQueue<(ITimerEntry Timer, long Generation), long> due = new();
    private readonly object gate = new();
    private Thread? worker;
    private bool disposed;

    internal TimerService(Kernel kernel) => this.kernel = kernel;

    internal void Schedule(ITimerEntry timer, long deadline, long generation)
    {
        lock (gate)
        {
            due.Enqueue((timer, generation), deadline);
            if (worker is null)
            {
                worker = new Thread(Run) { IsBackground = true, Name = "trapeze timers" };
                worker.Start();
            }
            Monitor.PulseAll(gate);
        }
    }

    private void Run()
    {
        var fired = new List<(ITimerEntry, long)>();
        while (true)
        {
            lock (gate)
            {
                while (!disposed)
                {
                    if (due.TryPeek(out _, out var deadline))
                    {
                        var wait = deadline - kernel.Clock.Monotonic;
                        if (wait <= 0)
                            break;
                        Monitor.Wait(gate, TimeSpan.FromTicks(Math.Max(1, Math.Min(wait / 100, int.MaxValue))));
                    }
                    else
                    {
                        Monitor.Wait(gate);
                    }
                }
                if (disposed)
                    return;
                var now = kernel.Clock.Monotonic;
                while (due.TryPeek(out var entry, out var deadline) && deadline <= now)
                {
                    due.Dequeue();
                    fired.Add(entry);
                }
            }
            kernel.RunAsKernel(() =>
            {
                foreach (var (timer, generation) in fired)
                    timer.Fire(kernel, generation);
            });
            fired.Clear();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            Monitor.PulseAll(gate);
        }
    }
}
