using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// setitimer's ITIMER_VIRTUAL (the process's user CPU time; SIGVTALRM) and ITIMER_PROF (user and
/// system; SIGPROF). The time is the host CPU time of the host threads that run the process's
/// threads: guest code runs there, and so do the guest's system calls (Trapeze's handlers and the
/// host calls they make), all of it counted as user time (see <see cref="HostCpuClock.Of"/>). A
/// thread that sleeps uses none. <see cref="TimerService"/> wakes the timer when the time could have run out
/// (CPU time grows no faster than the wall clock: one guest thread runs at a time) and it looks.
/// </summary>
internal sealed class CpuTimer(Process process, bool profile) : ITimerEntry
{
    public Process Process { get; } = process;

    /// <summary>SIGVTALRM or SIGPROF.</summary>
    public int Signal => profile ? (int)Abi.Linux.Signal.SIGPROF : (int)Abi.Linux.Signal.SIGVTALRM;

    public long Interval { get; private set; }

    /// <summary>The process's CPU time (nanoseconds) at which the timer runs out; 0 when disarmed.</summary>
    private long expiry;
    private long generation;

    public long Remaining => expiry == 0 ? 0 : Math.Max(1, expiry - Process.CpuTime());

    public void Arm(Kernel kernel, long initial, long interval)
    {
        generation++;
        Interval = interval;
        expiry = initial <= 0 ? 0 : Process.CpuTime() + initial;
        if (expiry != 0)
            kernel.TimerService.Schedule(this, kernel.Clock.Monotonic + initial, generation);
    }

    public void Fire(Kernel kernel, long firedGeneration)
    {
        if (firedGeneration != generation || expiry == 0 || Process.State != ProcessState.Running)
            return;
        var now = Process.CpuTime();
        if (now >= expiry)
        {
            SignalDelivery.SendToProcess(Process, new SignalInfo { Signal = Signal, Code = SignalInfo.KernelCode });
            if (Interval == 0)
            {
                expiry = 0;
                return;
            }
            // Expiries missed while the host was busy elsewhere are one signal, as a standard signal coalesces.
            while (expiry <= now)
                expiry += Interval;
        }
        kernel.TimerService.Schedule(this, kernel.Clock.Monotonic + (expiry - now), generation);
    }
}

/// <summary>CPU time of host threads, from the host kernel's per-thread clocks.</summary>
internal static unsafe class HostCpuClock
{
    private static readonly int ClockGettime = HostSyscall.Number("clock_gettime");
    private static readonly int Gettid = HostSyscall.Number("gettid");

    /// <summary>The calling host thread's id.</summary>
    public static int CurrentThread => (int)HostSyscall.Invoke(Gettid);

    /// <summary>
    /// Nanoseconds of CPU the host thread <paramref name="hostThread"/> has used; 0 when it is gone.
    /// User time and user-and-system are both the scheduler's exact runtime: the host's utime and
    /// stime grow in whole ticks (4 ms at HZ=250) charged to whoever runs when the tick lands, so a
    /// guest that sleeps 300 ms with a 50 ms ITIMER_VIRTUAL armed lost 8-12 ms of it to the few
    /// milliseconds Trapeze ran around the sleep (signal_itimers, one run in four under load). The
    /// system time of Trapeze's own host calls is counted as the guest's user time either way.
    /// </summary>
    public static long Of(int hostThread)
    {
        // MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED): ~tid << 3 | CPUCLOCK_PERTHREAD_MASK (4) | CPUCLOCK_SCHED (2),
        // with ~tid << 3 written as the product it is.
        var clock = (-(long)hostThread - 1) * 8 + 4 + 2;
        Timespec time;
        return HostSyscall.Invoke(ClockGettime, clock, (long)&time) < 0 ? 0 : time.Seconds * 1_000_000_000 + time.Nanoseconds;
    }
}
