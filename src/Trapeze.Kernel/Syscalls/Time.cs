using System.Diagnostics;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Clocks and sleeping.</summary>
public static class Time
{
    private const long NanosecondsPerSecond = 1_000_000_000;

    [Syscall("clock_gettime", Support = Support.Partial, Note = "CPU-time clocks of other processes and threads (clock_getcpuclockid) are EINVAL")]
    public static Result GetClock(GuestThread thread, ClockId clock, [Argument(ArgumentKind.Timespec, Direction = Direction.Out)] GuestAddress time)
    {
        if (thread.Kernel.Clock.Now(clock) is not { } now)
            return Errno.EINVAL;
        return LinuxStructures.WriteTime(thread, time, ToTimespec(now)) is var fault and not Errno.None ? fault : 0;
    }

    [Syscall("clock_getres", Support = Support.Partial, Note = "CPU-time clocks of other processes and threads are EINVAL")]
    public static Result GetClockResolution(GuestThread thread, ClockId clock, [Argument(ArgumentKind.Timespec, Direction = Direction.Out)] GuestAddress resolution)
    {
        if (thread.Kernel.Clock.Now(clock) is null)
            return Errno.EINVAL;
        var coarse = clock is ClockId.CLOCK_REALTIME_COARSE or ClockId.CLOCK_MONOTONIC_COARSE;
        var value = new Timespec { Seconds = 0, Nanoseconds = coarse ? 4_000_000 : 1 };
        if (resolution.IsNull)
            return 0;
        return LinuxStructures.WriteTime(thread, resolution, value) is var fault and not Errno.None ? fault : 0;
    }

    [Syscall("gettimeofday", Support = Support.Full)]
    public static Result GetTimeOfDay(GuestThread thread, [Argument(ArgumentKind.Timeval, Direction = Direction.Out)] GuestAddress time, GuestAddress zone)
    {
        var now = thread.Kernel.Clock.Now(ClockId.CLOCK_REALTIME)!.Value;
        // A timeval has a timespec's shape: microseconds where nanoseconds would be.
        if (!time.IsNull && LinuxStructures.WriteTime(thread, time, new Timespec { Seconds = now / NanosecondsPerSecond, Nanoseconds = now % NanosecondsPerSecond / 1000 }) is var fault and not Errno.None)
            return fault;
        if (!zone.IsNull && thread.Memory.Write(zone, 0UL) is var zoneFault and not Errno.None)
            return zoneFault;
        return 0;
    }

    [Syscall("time", Support = Support.Full)]
    public static Result GetTime(GuestThread thread, GuestAddress location)
    {
        var seconds = thread.Kernel.Clock.Now(ClockId.CLOCK_REALTIME)!.Value / NanosecondsPerSecond;
        if (!location.IsNull && thread.Process.Personality.Structures.WriteLong(thread.Memory, location, seconds) is var fault and not Errno.None)
            return fault;
        return seconds;
    }

    [Syscall("nanosleep", Support = Support.Partial, Note = "as clock_nanosleep on CLOCK_MONOTONIC")]
    public static Result Sleep(GuestThread thread, [Argument(ArgumentKind.Timespec)] GuestAddress request, [Argument(ArgumentKind.Timespec, Direction = Direction.Out)] GuestAddress remaining)
        => Sleep(thread, "nanosleep", ClockId.CLOCK_MONOTONIC, 0, request, remaining);

    [Syscall("clock_nanosleep", Support = Support.Partial, Note = "CPU-time clocks of other processes are EINVAL")]
    public static Result SleepOnClock(GuestThread thread, ClockId clock, int flags, [Argument(ArgumentKind.Timespec)] GuestAddress request, [Argument(ArgumentKind.Timespec, Direction = Direction.Out)] GuestAddress remaining)
        => Sleep(thread, "clock_nanosleep", clock, flags, request, remaining);

    private static Result Sleep(GuestThread thread, string call, ClockId clock, int flags, GuestAddress request, GuestAddress remaining)
    {
        const int Absolute = 1; // TIMER_ABSTIME
        if (LinuxStructures.ReadTime(thread, request, out var duration) is var fault and not Errno.None)
            return fault;
        if (duration.Seconds < 0 || duration.Nanoseconds is < 0 or >= NanosecondsPerSecond)
            return Errno.EINVAL;
        var clocks = thread.Kernel.Clock;
        if (clocks.Now(clock) is null || clock is ClockId.CLOCK_THREAD_CPUTIME_ID)
            return Errno.EINVAL;
        var nanoseconds = duration.Seconds >= long.MaxValue / NanosecondsPerSecond ? long.MaxValue : duration.Seconds * NanosecondsPerSecond + duration.Nanoseconds;
        if ((flags & Absolute) != 0)
        {
            // An absolute sleep runs again with the same arguments when no handler ran (ERESTARTNOHAND).
            var slept = thread.Block(new Wait(deadline: clocks.ToMonotonic(clock, nanoseconds)));
            return slept.Error == Errno.ETIMEDOUT ? 0 : slept.Control is Restart ? Result.Interrupted(RestartRule.OnlyWithoutHandler) : slept;
        }
        return SleepUntil(thread, call, thread.DeadlineAfter(nanoseconds), remaining, thread.OldTimeLayout);
    }

    /// <summary>
    /// A relative sleep towards <paramref name="deadline"/>: interrupted, it writes the time left and
    /// returns ERESTART_RESTARTBLOCK, so that without a handler (a stop and SIGCONT) restart_syscall
    /// sleeps on to the same deadline.
    /// </summary>
    private static Result SleepUntil(GuestThread thread, string call, long deadline, GuestAddress remaining, bool oldTimeLayout)
    {
        var slept = thread.Block(new Wait(deadline: deadline));
        if (slept.Error == Errno.ETIMEDOUT)
            return 0;
        if (slept.Control is not Restart)
            return slept;
        if (!remaining.IsNull)
        {
            var left = Math.Max(0, deadline - thread.Kernel.Clock.Monotonic);
            thread.OldTimeLayout = oldTimeLayout;
            if (LinuxStructures.WriteTime(thread, remaining, ToTimespec(left)) is var fault and not Errno.None)
                return fault;
        }
        thread.RestartBlock = new RestartBlock(call, resumed => SleepUntil(resumed, call, deadline, remaining, oldTimeLayout));
        return Result.Interrupted(RestartRule.RestartBlock);
    }

    private static Timespec ToTimespec(long nanoseconds)
        => new() { Seconds = nanoseconds / NanosecondsPerSecond, Nanoseconds = nanoseconds % NanosecondsPerSecond };
}
