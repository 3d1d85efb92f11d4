using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>
/// An epoll instance. Files Trapeze implements are watched through their readiness and wait
/// queue: this instance listens to each file's queue, so a notification wakes its waiters, and the
/// queue's versions tell an edge-triggered watcher whether an event is new. Host descriptors are
/// handed to an epoll instance of the host's own (one per guest instance), which keeps their
/// level, edge and one-shot state exactly as Linux would; a waiter sleeps on both.
/// </summary>
public sealed class EpollFile : OpenFile
{
    private const EpollEvents Modes = EpollEvents.EPOLLET | EpollEvents.EPOLLONESHOT | EpollEvents.EPOLLEXCLUSIVE | EpollEvents.EPOLLWAKEUP;
    private const EpollEvents Always = EpollEvents.EPOLLERR | EpollEvents.EPOLLHUP;

    private readonly int host;
    private readonly List<Interest> interests = [];
    private long nextId;

    private sealed class Interest(int fd, OpenFile file, EpollEvents events, ulong data, long id)
    {
        public int Fd { get; } = fd;
        public OpenFile File { get; } = file;
        public long Id { get; } = id;
        public EpollEvents Events { get; set; } = events;
        public ulong Data { get; set; } = data;

        /// <summary>The file's queue when Trapeze answers for its readiness.</summary>
        public WaitQueue? Queue { get; set; }
        public bool Internal { get; set; }

        /// <summary>Our duplicate of the file's host descriptor, registered with the host's epoll.</summary>
        public int HostDuplicate { get; set; } = -1;

        /// <summary>Edge-triggered: nothing reported since ADD or MOD, so a ready file is an edge.</summary>
        public bool Fresh { get; set; } = true;
        public long SeenInput { get; set; }
        public long SeenOutput { get; set; }

        /// <summary>EPOLLONESHOT reported: disabled until EPOLL_CTL_MOD.</summary>
        public bool Disabled { get; set; }
    }

    private EpollFile(int host)
    {
        this.host = host;
        StatusFlags = OpenFlags.O_RDWR;
    }

    /// <summary>A new instance, or the host's error when it has no descriptor left for the host-side one.</summary>
    public static EpollFile? Create(out Errno error)
    {
        var descriptor = HostSyscall.Invoke(HostSyscall.EpollCreate1, (long)OpenFlags.O_CLOEXEC);
        error = HostSyscall.ErrorOf(descriptor);
        return error == Errno.None ? new EpollFile((int)descriptor) : null;
    }

    /// <summary>Notified whenever a watched file changes or the interest list does.</summary>
    public WaitQueue Changes { get; } = new();

    public override string Path => "anon_inode:[eventpoll]";
    public override int? HostDescriptor => host;

    /// <summary>Readable when a wait would report something now (without consuming edges or one-shots).</summary>
    public override short? Readiness(GuestThread thread, out WaitQueue? changes)
    {
        changes = Changes;
        return Collect(thread, 1, consume: false).Count > 0 ? (short)(Polling.Readable | Polling.ReadNormal) : (short)0;
    }

    public override short? Readiness(out WaitQueue? changes)
    {
        changes = Changes;
        return 0;
    }

    /// <summary>Whether this instance watches <paramref name="other"/>, directly or through nested instances (epoll_ctl's loop check).</summary>
    public bool Reaches(EpollFile other, int depth = 0)
    {
        if (depth > 5)
            return true;
        foreach (var interest in interests)
        {
            if (interest.File == other || (interest.File is EpollFile inner && inner.Reaches(other, depth + 1)))
                return true;
        }
        return false;
    }

    public Errno Add(GuestThread thread, int fd, OpenFile file, EpollEvents events, ulong data)
    {
        if (interests.Exists(i => i.Fd == fd && i.File == file))
            return Errno.EEXIST;
        var interest = new Interest(fd, file, events, data, ++nextId);
        var ready = file.Readiness(thread, out var queue);
        if (ready is null && file.HostDescriptor is null)
            return Errno.EPERM; // a regular file or /proc file cannot be waited for
        interest.Internal = ready is not null;
        interest.Queue = queue;
        if (queue is not null)
        {
            interest.SeenInput = queue.InputVersion;
            interest.SeenOutput = queue.OutputVersion;
        }
        if (file.HostDescriptor is { } descriptor)
        {
            const int DuplicateCloseOnExec = 1030; // F_DUPFD_CLOEXEC
            var duplicate = HostSyscall.Invoke(HostSyscall.Fcntl, descriptor, DuplicateCloseOnExec, 0);
            if (HostSyscall.ErrorOf(duplicate) is var dupError and not Errno.None)
                return dupError;
            interest.HostDuplicate = (int)duplicate;
            if (HostControl(1, interest) is var hostError and not Errno.None) // EPOLL_CTL_ADD
            {
                HostSyscall.Invoke(HostSyscall.Close, duplicate);
                // The host refuses regular files as Linux does (EPERM).
                return hostError;
            }
        }
        queue?.AddListener(Changes);
        if (!interests.Exists(i => i.File == file))
            file.Released += Forget;
        interests.Add(interest);
        Changes.Notify();
        return Errno.None;
    }

    public Errno Modify(int fd, OpenFile file, EpollEvents events, ulong data)
    {
        if (interests.Find(i => i.Fd == fd && i.File == file) is not { } interest)
            return Errno.ENOENT;
        // An exclusive interest cannot be modified, nor made exclusive.
        if (((interest.Events | events) & EpollEvents.EPOLLEXCLUSIVE) != 0)
            return Errno.EINVAL;
        interest.Events = events;
        interest.Data = data;
        interest.Disabled = false;
        interest.Fresh = true;
        if (interest.HostDuplicate >= 0 && HostControl(3, interest) is var hostError and not Errno.None) // EPOLL_CTL_MOD
            return hostError;
        Changes.Notify();
        return Errno.None;
    }

    public Errno Delete(int fd, OpenFile file)
    {
        if (interests.Find(i => i.Fd == fd && i.File == file) is not { } interest)
            return Errno.ENOENT;
        Remove(interest);
        return Errno.None;
    }

    private unsafe Errno HostControl(int operation, Interest interest)
    {
        var hostEvent = new EpollEvent { Events = (uint)interest.Events, Data = (ulong)interest.Id };
        return HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.EpollCtl, host, operation, interest.HostDuplicate, (long)&hostEvent));
    }

    private void Remove(Interest interest)
    {
        interests.Remove(interest);
        interest.Queue?.RemoveListener(Changes);
        if (!interests.Exists(i => i.File == interest.File))
            interest.File.Released -= Forget;
        if (interest.HostDuplicate >= 0)
        {
            HostSyscall.Invoke(HostSyscall.EpollCtl, host, 2, interest.HostDuplicate, 0); // EPOLL_CTL_DEL
            HostSyscall.Invoke(HostSyscall.Close, interest.HostDuplicate);
        }
    }

    /// <summary>The watched file's last descriptor closed: Linux drops it from every interest list.</summary>
    private void Forget(OpenFile file)
    {
        foreach (var interest in interests.FindAll(i => i.File == file))
            Remove(interest);
    }

    /// <summary>
    /// Up to <paramref name="maximum"/> ready events, in the order the interests were added (Trapeze's
    /// files first, then what the host reports). <paramref name="consume"/> is false for a look
    /// that must leave edges and one-shots for a real wait.
    /// </summary>
    public List<(EpollEvents Events, ulong Data)> Collect(GuestThread thread, int maximum, bool consume)
    {
        var ready = new List<(EpollEvents Events, ulong Data)>();
        foreach (var interest in interests)
        {
            if (ready.Count >= maximum)
                break;
            if (!interest.Internal || interest.Disabled)
                continue;
            var now = (EpollEvents)(ushort)(interest.File.Readiness(thread, out _) ?? 0) & (interest.Events | Always) & ~Modes;
            if (now == 0)
                continue;
            if ((interest.Events & EpollEvents.EPOLLET) != 0 && !interest.Fresh && !IsNewEdge(interest, now))
                continue;
            if (consume)
            {
                interest.Fresh = false;
                if (interest.Queue is { } queue)
                {
                    interest.SeenInput = queue.InputVersion;
                    interest.SeenOutput = queue.OutputVersion;
                }
                if ((interest.Events & EpollEvents.EPOLLONESHOT) != 0)
                    interest.Disabled = true;
            }
            ready.Add((now, interest.Data));
        }
        if (consume && ready.Count < maximum)
            CollectFromHost(ready, maximum);
        return ready;
    }

    private static bool IsNewEdge(Interest interest, EpollEvents now)
    {
        if (interest.Queue is not { } queue)
            return false;
        return ((uint)now & (ushort)WaitQueue.InputEvents) != 0 && queue.InputVersion != interest.SeenInput
            || ((uint)now & (ushort)WaitQueue.OutputEvents) != 0 && queue.OutputVersion != interest.SeenOutput;
    }

    private unsafe void CollectFromHost(List<(EpollEvents Events, ulong Data)> ready, int maximum)
    {
        var room = maximum - ready.Count;
        var events = new EpollEvent[Math.Min(room, 256)];
        long count;
        fixed (EpollEvent* pointer = events)
            count = HostSyscall.Invoke(HostSyscall.EpollWait, host, (long)pointer, events.Length, 0);
        for (var i = 0; i < count; i++)
        {
            if (interests.Find(x => x.Id == (long)events[i].Data) is not { } interest)
                continue;
            var index = ready.FindIndex(r => r.Data == interest.Data && interest.Internal);
            if (index >= 0)
                ready[index] = (ready[index].Events | (EpollEvents)events[i].Events, interest.Data);
            else
                ready.Add(((EpollEvents)events[i].Events, interest.Data));
        }
    }

    protected override void Close()
    {
        foreach (var interest in interests.ToArray())
            Remove(interest);
        HostSyscall.Invoke(HostSyscall.Close, host);
    }
}

/// <summary>struct epoll_event as x86-64 packs it (and the host's): 32-bit events, then 64-bit data.</summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Pack = 4)]
public struct EpollEvent
{
    public uint Events;
    public ulong Data;
}
