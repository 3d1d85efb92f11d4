using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>
/// A timerfd: a timer whose expiries are counted instead of signalled; a read takes the count,
/// waiting while it is 0. The timer is a <see cref="PosixTimer"/> without a signal, fired by the
/// kernel's timer service; a reader that comes after the deadline counts the expiries itself.
/// </summary>
public sealed class TimerFile : OpenFile
{
    private readonly Kernel kernel;
    private readonly PosixTimer timer;
    private ulong expirations;

    public TimerFile(Process owner, ClockId clock)
    {
        kernel = owner.Kernel;
        Clock = clock;
        timer = new PosixTimer(owner, -1, clock) { Expired = Count };
        StatusFlags = OpenFlags.O_RDWR;
    }

    public ClockId Clock { get; }
    public WaitQueue Changes { get; } = new();
    public override string Path => "anon_inode:[timerfd]";
    private bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

    /// <summary>Nanoseconds to the next expiry (0 when disarmed) and the interval.</summary>
    public (long Value, long Interval) Current()
    {
        CatchUp();
        return (timer.Remaining(kernel), timer.Interval);
    }

    /// <summary>Arms (or with 0 disarms) the timer; <paramref name="initial"/> is relative, a time already past fires at once.</summary>
    public void Arm(long initial, long interval, bool disarm)
    {
        expirations = 0;
        timer.Arm(kernel, disarm ? 0 : Math.Max(1, initial), interval);
        Changes.Notify();
    }

    public override short? Readiness(out WaitQueue? changes)
    {
        changes = Changes;
        CatchUp();
        return expirations > 0 ? (short)(Polling.Readable | Polling.ReadNormal) : (short)0;
    }

    public override Result Read(GuestThread thread, GuestAddress buffer, ulong count)
    {
        if (count < 8)
            return Errno.EINVAL;
        CatchUp();
        if (expirations == 0)
            return NonBlocking ? Errno.EAGAIN : thread.Block(new Wait(Changes));
        if (thread.Memory.Write(buffer, expirations) is var fault and not Errno.None)
            return fault;
        expirations = 0;
        return 8;
    }

    public override Result Status(out LinuxStat status)
    {
        status = new LinuxStat { Mode = 0x180, LinkCount = 1, BlockSize = 4096 };
        return 0;
    }

    /// <summary>The deadline passed but the timer service has not fired yet: count the expiries now.</summary>
    private void CatchUp()
    {
        if (timer.Deadline != 0 && timer.Deadline <= kernel.Clock.Monotonic)
            timer.Fire(kernel, timer.Generation);
    }

    private void Count(int missed)
    {
        expirations += (ulong)missed;
        if (missed > 0)
            Changes.Notify(WaitQueue.InputEvents);
    }

    protected override void Close() => timer.Arm(kernel, 0, 0);
}
