using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>epoll: instances (<see cref="EpollFile"/>), their interest lists and waits.</summary>
public static class Epoll
{
    private const EpollEvents InputOutput = EpollEvents.EPOLLIN | EpollEvents.EPOLLOUT | EpollEvents.EPOLLRDNORM | EpollEvents.EPOLLRDBAND | EpollEvents.EPOLLWRNORM | EpollEvents.EPOLLWRBAND;
    private const EpollEvents ExclusiveAllowed = InputOutput | EpollEvents.EPOLLERR | EpollEvents.EPOLLHUP | EpollEvents.EPOLLWAKEUP | EpollEvents.EPOLLET | EpollEvents.EPOLLEXCLUSIVE;
    private const int MaximumEvents = int.MaxValue / 16;

    [Syscall("epoll_create", Returns = ResultKind.Fd, Support = Support.Full)]
    public static Result Create(GuestThread thread, int size)
        => size <= 0 ? Errno.EINVAL : NewInstance(thread, closeOnExec: false);

    [Syscall("epoll_create1", Returns = ResultKind.Fd, Support = Support.Full)]
    public static Result Create1(GuestThread thread, [Argument(ArgumentKind.FlagsOnly)] OpenFlags flags)
        => (flags & ~OpenFlags.O_CLOEXEC) != 0 ? Errno.EINVAL : NewInstance(thread, (flags & OpenFlags.O_CLOEXEC) != 0);

    private static Result NewInstance(GuestThread thread, bool closeOnExec)
    {
        if (EpollFile.Create(out var error) is not { } epoll)
            return error;
        var fd = thread.Process.Files.Add(epoll, closeOnExec);
        if (fd.IsError)
            epoll.Release();
        return fd;
    }

    [Syscall("epoll_ctl", Support = Support.Partial, Note = "EPOLLEXCLUSIVE may wake every waiter of a Trapeze file (it is a hint); EPOLLWAKEUP is ignored")]
    public static Result Control(GuestThread thread, [Argument(ArgumentKind.Fd)] int epfd, EpollOperation operation, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.EpollEvent)] GuestAddress eventAddress)
    {
        var files = thread.Process.Files;
        if (files.Get(epfd) is not { } instanceFile || files.Get(fd) is not { } target)
            return Errno.EBADF;
        var events = (EpollEvents)0;
        ulong data = 0;
        if (operation != EpollOperation.EPOLL_CTL_DEL)
        {
            Span<byte> record = stackalloc byte[EventSize(thread)];
            if (thread.Memory.Read(eventAddress, record) is var fault and not Errno.None)
                return fault;
            events = (EpollEvents)BinaryPrimitives.ReadUInt32LittleEndian(record);
            data = BinaryPrimitives.ReadUInt64LittleEndian(record[(record.Length - 8)..]);
        }
        if (instanceFile is not EpollFile epoll || target == instanceFile)
            return Errno.EINVAL;
        if ((events & EpollEvents.EPOLLEXCLUSIVE) != 0
            && (operation == EpollOperation.EPOLL_CTL_MOD || target is EpollFile || (events & ~ExclusiveAllowed) != 0))
            return Errno.EINVAL;
        return operation switch
        {
            EpollOperation.EPOLL_CTL_ADD when target is EpollFile inner && (inner.Reaches(epoll) || inner == epoll) => Errno.ELOOP,
            EpollOperation.EPOLL_CTL_ADD => epoll.Add(thread, fd, target, events, data),
            EpollOperation.EPOLL_CTL_MOD => epoll.Modify(fd, target, events, data),
            EpollOperation.EPOLL_CTL_DEL => epoll.Delete(fd, target),
            _ => Errno.EINVAL,
        };
    }

    [Syscall("epoll_wait", Support = Support.Full)]
    public static Result WaitForEvents(GuestThread thread, [Argument(ArgumentKind.Fd)] int epfd, [Argument(ArgumentKind.EpollEvents, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress events, int maximum, int timeout)
        => WaitOn(thread, epfd, events, maximum, MillisecondDeadline(thread, timeout));

    [Syscall("epoll_pwait", Support = Support.Full)]
    public static Result WaitWithMask(GuestThread thread, [Argument(ArgumentKind.Fd)] int epfd, [Argument(ArgumentKind.EpollEvents, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress events, int maximum, int timeout, [Argument(ArgumentKind.SignalSet)] GuestAddress signalMask, ulong maskSize)
        => Polling.WithSignalMask(thread, signalMask, maskSize, () => WaitOn(thread, epfd, events, maximum, MillisecondDeadline(thread, timeout)));

    [Syscall("epoll_pwait2", Support = Support.Full)]
    public static Result WaitWithMaskAndTimespec(GuestThread thread, [Argument(ArgumentKind.Fd)] int epfd, [Argument(ArgumentKind.EpollEvents, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress events, int maximum, [Argument(ArgumentKind.Timespec)] GuestAddress timeout, [Argument(ArgumentKind.SignalSet)] GuestAddress signalMask, ulong maskSize)
    {
        if (Polling.TimespecDeadline(thread, timeout, out var deadline) is var error and not Errno.None)
            return error;
        return Polling.WithSignalMask(thread, signalMask, maskSize, () => WaitOn(thread, epfd, events, maximum, deadline));
    }

    private static long MillisecondDeadline(GuestThread thread, int timeout)
        => timeout < 0 ? Wait.NoDeadline : timeout == 0 ? 0 : thread.DeadlineAfter(timeout * 1_000_000L);

    /// <summary>struct epoll_event: packed (12 bytes) on x86; ARM EABI aligns its 64-bit data (16 bytes).</summary>
    private static int EventSize(GuestThread thread)
        => thread.Process.Personality.Structures.Model is { WordSize: 4, LongLongAlignment: 8 } ? 16 : 12;

    private static Result WaitOn(GuestThread thread, int epfd, GuestAddress events, int maximum, long deadline)
    {
        if (maximum <= 0 || maximum > MaximumEvents)
            return Errno.EINVAL;
        if (thread.Process.Files.Get(epfd) is not { } file)
            return Errno.EBADF;
        if (file is not EpollFile epoll)
            return Errno.EINVAL;
        var ready = epoll.Collect(thread, maximum, consume: true);
        if (ready.Count > 0)
            return WriteEvents(thread, events, ready);
        if (deadline == 0 || (deadline != Wait.NoDeadline && deadline <= thread.Kernel.Clock.Monotonic))
            return 0;
        var wait = new Wait(epoll.Changes, deadline);
        wait.OnHost(epoll.HostDescriptor!.Value, Polling.Readable);
        var slept = thread.Block(wait);
        if (slept.Error == Errno.ETIMEDOUT)
            return 0;
        // epoll_wait answers EINTR even when no handler runs (a stop and SIGCONT), as Linux does.
        return slept.Control is Restart ? Result.Interrupted(RestartRule.Never) : slept;
    }

    private static Result WriteEvents(GuestThread thread, GuestAddress events, List<(EpollEvents Events, ulong Data)> ready)
    {
        var size = EventSize(thread);
        var bytes = new byte[size * ready.Count];
        for (var i = 0; i < ready.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * size), (uint)ready[i].Events);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * size + size - 8), ready[i].Data);
        }
        return thread.Memory.Write(events, bytes) is var fault and not Errno.None ? fault : ready.Count;
    }
}
