using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Descriptors that stand for events: eventfd, timerfd, signalfd; and pidfd_send_signal.</summary>
public static class EventDescriptors
{
    private const int SignalSetSize = 8;

    [Syscall("eventfd2", Returns = ResultKind.Fd, Support = Support.Full)]
    public static Result EventFd2(GuestThread thread, uint initial, EventFdFlags flags)
    {
        if ((flags & ~(EventFdFlags.EFD_SEMAPHORE | EventFdFlags.EFD_CLOEXEC | EventFdFlags.EFD_NONBLOCK)) != 0)
            return Errno.EINVAL;
        var file = new EventFile(initial, (flags & EventFdFlags.EFD_SEMAPHORE) != 0)
        {
            StatusFlags = OpenFlags.O_RDWR | ((flags & EventFdFlags.EFD_NONBLOCK) != 0 ? OpenFlags.O_NONBLOCK : 0),
        };
        return Install(thread, file, (flags & EventFdFlags.EFD_CLOEXEC) != 0);
    }

    [Syscall("eventfd", Returns = ResultKind.Fd, Support = Support.Full)]
    public static Result EventFd(GuestThread thread, uint initial) => EventFd2(thread, initial, 0);

    [Syscall("timerfd_create", Returns = ResultKind.Fd, Support = Support.Partial, Note = "the timer stops when the process that created it ends")]
    public static Result TimerCreate(GuestThread thread, ClockId clock, TimerFdFlags flags)
    {
        if ((flags & ~(TimerFdFlags.TFD_CLOEXEC | TimerFdFlags.TFD_NONBLOCK)) != 0)
            return Errno.EINVAL;
        if (clock is not (ClockId.CLOCK_REALTIME or ClockId.CLOCK_MONOTONIC or ClockId.CLOCK_BOOTTIME or ClockId.CLOCK_REALTIME_ALARM or ClockId.CLOCK_BOOTTIME_ALARM))
            return Errno.EINVAL;
        var file = new TimerFile(thread.Process, clock);
        if ((flags & TimerFdFlags.TFD_NONBLOCK) != 0)
            file.StatusFlags |= OpenFlags.O_NONBLOCK;
        return Install(thread, file, (flags & TimerFdFlags.TFD_CLOEXEC) != 0);
    }

    [Syscall("timerfd_settime", Support = Support.Partial, Note = "TFD_TIMER_CANCEL_ON_SET is accepted; the realtime clock is never set under Trapeze, so reads never see ECANCELED")]
    public static Result TimerSet(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, TimerFdFlags flags, [Argument(ArgumentKind.IntervalTimerSpec)] GuestAddress value, [Argument(ArgumentKind.IntervalTimerSpec, Direction = Direction.Out)] GuestAddress oldValue)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        if (file is not TimerFile timer)
            return Errno.EINVAL;
        if ((flags & ~(TimerFdFlags.TFD_TIMER_ABSTIME | TimerFdFlags.TFD_TIMER_CANCEL_ON_SET)) != 0)
            return Errno.EINVAL;
        if (ReadIntervalTimer(thread, value, out var interval, out var initial) is var fault and not Errno.None)
            return fault;
        if (interval.Seconds < 0 || interval.Nanoseconds is < 0 or >= 1_000_000_000 || initial.Seconds < 0 || initial.Nanoseconds is < 0 or >= 1_000_000_000)
            return Errno.EINVAL;
        if (!oldValue.IsNull && WriteIntervalTimer(thread, oldValue, timer) is var writeFault and not Errno.None)
            return writeFault;
        var start = initial.Seconds * 1_000_000_000 + initial.Nanoseconds;
        var disarm = start == 0;
        if (!disarm && (flags & TimerFdFlags.TFD_TIMER_ABSTIME) != 0)
            start = thread.Kernel.Clock.ToMonotonic(timer.Clock, start) - thread.Kernel.Clock.Monotonic;
        timer.Arm(start, interval.Seconds * 1_000_000_000 + interval.Nanoseconds, disarm);
        return 0;
    }

    [Syscall("timerfd_gettime", Support = Support.Full)]
    public static Result TimerGet(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.IntervalTimerSpec, Direction = Direction.Out)] GuestAddress value)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        if (file is not TimerFile timer)
            return Errno.EINVAL;
        return WriteIntervalTimer(thread, value, timer) is var fault and not Errno.None ? fault : 0;
    }

    /// <summary>struct itimerspec: it_interval, then it_value.</summary>
    private static Errno ReadIntervalTimer(GuestThread thread, GuestAddress address, out Timespec interval, out Timespec value)
    {
        value = default;
        if (LinuxStructures.ReadTime(thread, address, out interval) is var fault and not Errno.None)
            return fault;
        return LinuxStructures.ReadTime(thread, address + (ulong)(thread.OldTimeLayout ? 8 : 16), out value);
    }

    private static Errno WriteIntervalTimer(GuestThread thread, GuestAddress address, TimerFile timer)
    {
        var (value, interval) = timer.Current();
        if (LinuxStructures.WriteTime(thread, address, Time(interval)) is var fault and not Errno.None)
            return fault;
        return LinuxStructures.WriteTime(thread, address + (ulong)(thread.OldTimeLayout ? 8 : 16), Time(value));
    }

    private static Timespec Time(long nanoseconds) => new() { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };

    [Syscall("signalfd4", Returns = ResultKind.Fd, Support = Support.Full)]
    public static Result SignalFd4(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.SignalSet)] GuestAddress mask, ulong maskSize, SignalFdFlags flags)
    {
        if ((flags & ~(SignalFdFlags.SFD_CLOEXEC | SignalFdFlags.SFD_NONBLOCK)) != 0 || maskSize != SignalSetSize)
            return Errno.EINVAL;
        if (thread.Memory.Read(mask, out ulong signals) is var fault and not Errno.None)
            return fault;
        signals &= ~SignalDefaults.Unblockable;
        if (fd != -1)
        {
            if (thread.Process.Files.Get(fd) is not { } existing)
                return Errno.EBADF;
            if (existing is not SignalFile signalFile)
                return Errno.EINVAL;
            signalFile.Mask = signals;
            thread.Process.SignalsQueued.Notify(WaitQueue.InputEvents);
            return fd;
        }
        var file = new SignalFile(thread.Process)
        {
            Mask = signals,
            StatusFlags = OpenFlags.O_RDWR | ((flags & SignalFdFlags.SFD_NONBLOCK) != 0 ? OpenFlags.O_NONBLOCK : 0),
        };
        return Install(thread, file, (flags & SignalFdFlags.SFD_CLOEXEC) != 0);
    }

    [Syscall("signalfd", Returns = ResultKind.Fd, Support = Support.Full)]
    public static Result SignalFd(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.SignalSet)] GuestAddress mask, ulong maskSize)
        => SignalFd4(thread, fd, mask, maskSize, 0);

    [Syscall("pidfd_send_signal", Support = Support.Partial, Note = "PIDFD_SIGNAL_THREAD signals the main thread: a pidfd names a process here, never a thread")]
    public static Result PidFdSendSignal(GuestThread thread, [Argument(ArgumentKind.Fd)] int pidfd, [Argument(ArgumentKind.Signal)] int signal, GuestAddress information, uint flags)
    {
        const uint Thread = 1, ThreadGroup = 2, ProcessGroup = 4; // PIDFD_SIGNAL_*
        if ((flags & ~(Thread | ThreadGroup | ProcessGroup)) != 0 || System.Numerics.BitOperations.PopCount(flags) > 1 || signal < 0 || signal > 64)
            return Errno.EINVAL;
        if (thread.Process.Files.Get(pidfd) is not { } file)
            return Errno.EBADF;
        if (file is not ProcessFile process)
            return Errno.EBADF;
        if (process.Target.State != ProcessState.Running || process.Target.Exit is not null)
            return Errno.ESRCH;
        SignalInfo? info;
        if (information.IsNull)
            info = SignalInfo.FromUser((Signal)signal, SignalInfo.User, thread.Process.Id, thread.Kernel.Credentials.UserId);
        else if (Signals.ReadQueuedInformation(thread, signal, information, process.Target == thread.Process, out info) is var error and not Errno.None)
            return error;
        if (signal == 0)
            return 0;
        if (flags == Thread && process.Target.MainThread is { } main)
            SignalDelivery.SendToThread(main, info!);
        else if (flags == ProcessGroup)
        {
            foreach (var member in thread.Kernel.Processes.Where(p => p.State == ProcessState.Running && p.ProcessGroupId == process.Target.ProcessGroupId).ToList())
                SignalDelivery.SendToProcess(member, info!);
        }
        else
            SignalDelivery.SendToProcess(process.Target, info!);
        return thread.Killed ? Result.ThreadGone : 0;
    }

    private static Result Install(GuestThread thread, OpenFile file, bool closeOnExec)
    {
        var fd = thread.Process.Files.Add(file, closeOnExec);
        if (fd.IsError)
            file.Release();
        return fd;
    }
}
