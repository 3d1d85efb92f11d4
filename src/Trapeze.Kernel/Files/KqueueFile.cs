using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>The kqueue filters Trapeze serves, by what they watch.</summary>
public enum KqueueFilter
{
    Read,
    Write,
    Signal,
    Timer,
}

/// <summary>One event a kevent wait reports: the knote's ident, filter, EV_* flags, data and udata.</summary>
public readonly record struct KernelEvent(ulong Ident, KqueueFilter Filter, ushort Flags, bool EndOfFile, long Data, ulong UserData);

/// <summary>
/// A FreeBSD kqueue, built on the readiness machinery epoll uses: read and write knotes are interests
/// of two inner epoll instances (one per filter, so one descriptor can have both), which already keep
/// Trapeze's files and host descriptors, edges (EV_CLEAR) and one-shots. Timers are deadlines on the
/// monotonic clock, counted when a wait looks; signal knotes count each signal generated for the
/// owning process, ignored ones too, as EVFILT_SIGNAL does.
/// </summary>
public sealed class KqueueFile : OpenFile
{
    private readonly EpollFile reads, writes;
    private readonly Dictionary<(ulong Ident, KqueueFilter Filter), Knote> knotes = [];
    private Process? signalOwner;

    private sealed class Knote
    {
        public ulong UserData { get; set; }

        /// <summary>The EV_* flags a report carries (the system's bits, as registered).</summary>
        public ushort Flags { get; set; }
        public bool OneShot { get; set; }
        public bool Clear { get; set; }
        public bool Disabled { get; set; }
        public OpenFile? File { get; set; }

        /// <summary>EVFILT_TIMER: the period in nanoseconds and the next expiry (monotonic).</summary>
        public long Period { get; set; }
        public long Next { get; set; }

        /// <summary>EVFILT_SIGNAL: deliveries since the last report.</summary>
        public long Count { get; set; }
    }

    private KqueueFile(EpollFile reads, EpollFile writes)
    {
        this.reads = reads;
        this.writes = writes;
        StatusFlags = OpenFlags.O_RDWR;
        reads.Changes.AddListener(Changes);
        writes.Changes.AddListener(Changes);
    }

    public static KqueueFile? Create(out Errno error)
    {
        if (EpollFile.Create(out error) is not { } reads)
            return null;
        if (EpollFile.Create(out error) is not { } writes)
        {
            reads.Release();
            return null;
        }
        return new KqueueFile(reads, writes);
    }

    /// <summary>Notified when a watched file, timer or signal may have made an event.</summary>
    public WaitQueue Changes { get; } = new();

    public override string Path => "anon_inode:[kqueue]";

    public override short? Readiness(GuestThread thread, out WaitQueue? changes)
    {
        changes = Changes;
        return reads.Readiness(thread, out _) is > 0 || writes.Readiness(thread, out _) is > 0 || EarliestTimer() <= thread.Kernel.Clock.Monotonic
            || knotes.Values.Any(k => k.Count > 0 && !k.Disabled) ? (short)(Polling.Readable | Polling.ReadNormal) : (short)0;
    }

    public override short? Readiness(out WaitQueue? changes)
    {
        changes = Changes;
        return 0;
    }

    /// <summary>EV_ADD: a new knote, or new flags and udata for an existing one (which is enabled again).</summary>
    public Errno Add(GuestThread thread, ulong ident, KqueueFilter filter, ushort flags, bool oneShot, bool clear, bool disabled, long period, ulong userData)
    {
        var key = (ident, filter);
        var existing = knotes.TryGetValue(key, out var knote);
        knote ??= new Knote();
        (knote.UserData, knote.Flags, knote.OneShot, knote.Clear, knote.Disabled) = (userData, flags, oneShot, clear, disabled);
        switch (filter)
        {
            case KqueueFilter.Read or KqueueFilter.Write:
                if (thread.Process.Files.Get((int)ident) is not { } file)
                    return Errno.EBADF;
                knote.File = file;
                if (existing)
                    Watched(filter).Delete((int)ident, file);
                if (!disabled && Watch(thread, ident, filter, knote) is var error and not Errno.None)
                    return error;
                break;
            case KqueueFilter.Timer:
                if (period < 0)
                    return Errno.EINVAL;
                knote.Period = Math.Max(period, 1);
                knote.Next = thread.Kernel.Clock.Monotonic + knote.Period;
                break;
            case KqueueFilter.Signal:
                if (ident is 0 or > 64)
                    return Errno.EINVAL;
                if (signalOwner is null)
                {
                    signalOwner = thread.Process;
                    signalOwner.SignalSent += OnSignal;
                }
                break;
        }
        knotes[key] = knote;
        Changes.Notify();
        return Errno.None;
    }

    public Errno Delete(ulong ident, KqueueFilter filter)
    {
        if (!knotes.Remove((ident, filter), out var knote))
            return Errno.ENOENT;
        if (knote.File is { } file && !knote.Disabled)
            Watched(filter).Delete((int)ident, file);
        return Errno.None;
    }

    /// <summary>EV_ENABLE and EV_DISABLE: a disabled knote stays registered but reports nothing.</summary>
    public Errno SetEnabled(GuestThread thread, ulong ident, KqueueFilter filter, bool enabled)
    {
        if (!knotes.TryGetValue((ident, filter), out var knote))
            return Errno.ENOENT;
        if (knote.Disabled == !enabled)
            return Errno.None;
        knote.Disabled = !enabled;
        if (knote.File is { } file)
        {
            if (!enabled)
                Watched(filter).Delete((int)ident, file);
            else if (Watch(thread, ident, filter, knote) is var error and not Errno.None)
                return error;
        }
        Changes.Notify();
        return Errno.None;
    }

    private EpollFile Watched(KqueueFilter filter) => filter == KqueueFilter.Read ? reads : writes;

    private Errno Watch(GuestThread thread, ulong ident, KqueueFilter filter, Knote knote)
    {
        var events = filter == KqueueFilter.Read ? EpollEvents.EPOLLIN | EpollEvents.EPOLLRDHUP : EpollEvents.EPOLLOUT;
        if (knote.Clear)
            events |= EpollEvents.EPOLLET;
        if (knote.OneShot)
            events |= EpollEvents.EPOLLONESHOT;
        // A regular file is always readable and writable for kqueue, where epoll refuses it.
        var error = Watched(filter).Add(thread, (int)ident, knote.File!, events, ident);
        return error == Errno.EPERM ? Errno.None : error;
    }

    private void OnSignal(int signal)
    {
        foreach (var ((ident, filter), knote) in knotes)
        {
            if (filter == KqueueFilter.Signal && (long)ident == TranslateBack(signal))
                knote.Count++;
        }
        Changes.Notify(WaitQueue.InputEvents);
    }

    /// <summary>Knotes name signals in FreeBSD's numbering, the kernel in Linux's.</summary>
    private static long TranslateBack(int linux) => Personalities.BsdAbi.FreeBsd.SignalFromLinux(linux);

    /// <summary>The earliest enabled timer's expiry, or <see cref="Wait.NoDeadline"/>.</summary>
    public long EarliestTimer()
    {
        var earliest = Wait.NoDeadline;
        foreach (var ((_, filter), knote) in knotes)
        {
            if (filter == KqueueFilter.Timer && !knote.Disabled)
                earliest = Math.Min(earliest, knote.Next);
        }
        return earliest;
    }

    /// <summary>Up to <paramref name="maximum"/> triggered events, consumed: one-shot knotes are deleted, counts reset.</summary>
    public List<KernelEvent> Collect(GuestThread thread, int maximum)
    {
        var ready = new List<KernelEvent>();
        foreach (var (filter, epoll) in new[] { (KqueueFilter.Read, reads), (KqueueFilter.Write, writes) })
        {
            foreach (var (events, data) in epoll.Collect(thread, maximum - ready.Count, consume: true))
            {
                if (!knotes.TryGetValue((data, filter), out var knote) || knote.Disabled)
                    continue;
                var endOfFile = (events & (EpollEvents.EPOLLHUP | EpollEvents.EPOLLRDHUP | EpollEvents.EPOLLERR)) != 0;
                ready.Add(new KernelEvent(data, filter, knote.Flags, endOfFile, Amount(knote.File, filter), knote.UserData));
                if (knote.OneShot)
                    Delete(data, filter);
            }
        }
        // Regular files cannot join an epoll instance: kqueue reports them ready at once.
        foreach (var ((ident, filter), knote) in knotes.ToArray())
        {
            if (ready.Count >= maximum || knote.Disabled)
                continue;
            if (filter is KqueueFilter.Read or KqueueFilter.Write && knote.File is { } file && file.Readiness(thread, out _) is null && file.HostDescriptor is null)
            {
                ready.Add(new KernelEvent(ident, filter, knote.Flags, false, 0, knote.UserData));
                if (knote.OneShot)
                    Delete(ident, filter);
            }
        }
        var now = thread.Kernel.Clock.Monotonic;
        foreach (var ((ident, filter), knote) in knotes.ToArray())
        {
            if (ready.Count >= maximum || knote.Disabled)
                continue;
            if (filter == KqueueFilter.Timer && now >= knote.Next)
            {
                // A periodic timer counts the periods that passed; a one-shot fired once.
                var expirations = knote.OneShot ? 1 : 1 + (now - knote.Next) / knote.Period;
                knote.Next += expirations * knote.Period;
                ready.Add(new KernelEvent(ident, filter, knote.Flags, false, expirations, knote.UserData));
                if (knote.OneShot)
                    knotes.Remove((ident, filter));
            }
            else if (filter == KqueueFilter.Signal && knote.Count > 0)
            {
                ready.Add(new KernelEvent(ident, filter, knote.Flags, false, knote.Count, knote.UserData));
                knote.Count = 0;
                if (knote.OneShot)
                    knotes.Remove((ident, filter));
            }
        }
        return ready;
    }

    /// <summary>EVFILT_READ's data: bytes to read; EVFILT_WRITE's: room to write (for a pipe; 0 where Trapeze cannot tell).</summary>
    private static long Amount(OpenFile? file, KqueueFilter filter) => file switch
    {
        PipeEnd { IsReader: true } reader when filter == KqueueFilter.Read => reader.Pipe.Length,
        PipeEnd { IsWriter: true } writer when filter == KqueueFilter.Write => writer.Pipe.Free,
        _ => 0,
    };

    /// <summary>What a waiting kevent sleeps on: this queue, both epoll instances' host sides, and the first timer.</summary>
    public Wait WaitFor(long deadline)
    {
        var wait = new Wait(Changes, Math.Min(deadline, EarliestTimer()));
        wait.OnHost(reads.HostDescriptor!.Value, Polling.Readable);
        wait.OnHost(writes.HostDescriptor!.Value, Polling.Readable);
        return wait;
    }

    protected override void Close()
    {
        if (signalOwner is not null)
            signalOwner.SignalSent -= OnSignal;
        reads.Changes.RemoveListener(Changes);
        writes.Changes.RemoveListener(Changes);
        reads.Release();
        writes.Release();
    }
}
