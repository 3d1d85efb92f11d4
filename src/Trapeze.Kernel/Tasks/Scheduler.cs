namespace Trapeze.Kernel.Tasks;

/// <summary>
/// Who runs. Each guest thread has a host thread, but only the holder of the run lock executes guest
/// code or kernel code: lock-prefixed instructions are not atomic between two Unicorn engines running
/// at once, and kernel state then needs no other locks. The lock is handed over in FIFO order; a
/// thread that holds it too long while others wait is stopped by the preemption timer.
/// </summary>
public sealed class Scheduler : IDisposable
{
    /// <summary>How long a thread runs while others wait for the CPU.</summary>
    public static readonly TimeSpan TimeSlice = TimeSpan.FromMilliseconds(10);

    private readonly Lock gate = new();
    private readonly Queue<(GuestThread? Thread, Baton Baton)> ready = new();
    private object? running;
    private long runningSince;
    private Thread? timer;
    private volatile bool disposed;

    /// <summary>The thread holding the run lock.</summary>
    public GuestThread? Running => running as GuestThread;

    /// <summary>
    /// A deterministic run: no wall-clock preemption (slices are counted in guest progress), and a
    /// thread takes its place in the queue when the kernel wakes it (<see cref="Reserve"/>), not
    /// when its host thread gets round to asking.
    /// </summary>
    public bool Deterministic { get; set; }

    /// <summary>Puts a thread that is not running in the queue now (woken, or new); its <see cref="Acquire"/> then waits for its turn.</summary>
    internal void Reserve(GuestThread thread)
    {
        lock (gate)
        {
            if (thread.Queued || running == thread)
                return;
            thread.Queued = true;
            if (running is null)
            {
                running = thread;
                runningSince = Environment.TickCount64;
                thread.Baton.Give();
                return;
            }
            ready.Enqueue((thread, thread.Baton));
        }
    }

    /// <summary>Blocks the calling host thread until <paramref name="thread"/> holds the run lock.</summary>
    public void Acquire(GuestThread thread)
    {
        lock (gate)
        {
            if (thread.Queued)
            {
                // Reserve queued it already.
            }
            else if (running is null)
            {
                running = thread;
                runningSince = Environment.TickCount64;
                return;
            }
            else
            {
                ready.Enqueue((thread, thread.Baton));
                thread.Queued = true;
                StartTimer();
            }
        }
        thread.Baton.Wait();
        thread.Queued = false;
    }

    /// <summary>
    /// Takes the run lock for kernel work done by a host thread that is no guest thread (timers, host
    /// signals); the running guest thread is asked to stop at once.
    /// </summary>
    public void AcquireForKernel(Baton baton)
    {
        lock (gate)
        {
            if (running is null)
            {
                running = baton;
                runningSince = Environment.TickCount64;
                return;
            }
            ready.Enqueue((null, baton));
            StartTimer();
            (running as GuestThread)?.Preempt();
        }
        baton.Wait();
    }

    public void ReleaseForKernel(Baton baton) => ReleaseOwner(baton);

    /// <summary>Gives the run lock to the next waiting thread, if any.</summary>
    public void Release(GuestThread thread) => ReleaseOwner(thread);

    private void ReleaseOwner(object owner)
    {
        lock (gate)
        {
            if (running != owner)
                return;
            if (ready.TryDequeue(out var next))
            {
                running = (object?)next.Thread ?? next.Baton;
                runningSince = Environment.TickCount64;
                next.Baton.Give();
            }
            else
            {
                running = null;
            }
        }
    }

    /// <summary>Lets every thread that waits for the CPU run first (sched_yield, preemption); false when none waited.</summary>
    public bool Yield(GuestThread thread)
    {
        lock (gate)
        {
            if (ready.Count == 0 || running != thread)
                return false;
            // Queued behind the others before the next one runs: the order never depends on host timing.
            ready.Enqueue((thread, thread.Baton));
            thread.Queued = true;
            var next = ready.Dequeue();
            running = (object?)next.Thread ?? next.Baton;
            runningSince = Environment.TickCount64;
            next.Baton.Give();
        }
        thread.Baton.Wait();
        thread.Queued = false;
        return true;
    }

    private void StartTimer()
    {
        if (timer is not null || Deterministic)
            return;
        timer = new Thread(Preempt) { IsBackground = true, Name = "trapeze preemption" };
        timer.Start();
    }

    private void Preempt()
    {
        while (!disposed)
        {
            Thread.Sleep(TimeSlice);
            lock (gate)
            {
                if (running is GuestThread thread && ready.Count > 0 && Environment.TickCount64 - runningSince >= (long)TimeSlice.TotalMilliseconds)
                    thread.Preempt();
            }
        }
    }

    public void Dispose() => disposed = true;
}
