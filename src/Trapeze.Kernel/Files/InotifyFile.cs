using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;
using Trapeze.Kernel.Vfs;

namespace Trapeze.Kernel.Files;

/// <summary>One watch of an inotify instance: an inode, the events wanted, and its watch descriptor.</summary>
public sealed class InotifyWatch(InotifyFile owner, int descriptor, InodeKey inode, InotifyMask mask)
{
    public InotifyFile Owner => owner;
    public int Descriptor => descriptor;
    public InodeKey Inode => inode;
    public InotifyMask Mask { get; set; } = mask;
}

/// <summary>
/// An inotify instance (inotify(7)): its watches and its queue of struct inotify_event records.
/// Events come from <see cref="FileNotifications"/>; a read takes whole records, waiting while
/// none is queued; an event equal to the last queued one is merged into it, and a full queue
/// ends with one IN_Q_OVERFLOW (wd -1).
/// </summary>
public sealed class InotifyFile : OpenFile
{
    public const int HeaderSize = 16; // struct inotify_event without its name

    private readonly FileNotifications notifications;
    private readonly Dictionary<int, InotifyWatch> byDescriptor = [];
    private readonly Dictionary<InodeKey, InotifyWatch> byInode = [];
    private readonly LinkedList<Event> queue = [];
    private int nextDescriptor = 1;
    private int queuedBytes;
    private bool overflowed;

    private sealed record Event(int Watch, InotifyMask Mask, uint Cookie, byte[]? Name)
    {
        /// <summary>The name with its NUL, padded to a multiple of the header's size, as Linux pads it.</summary>
        public int NameLength => Name is null ? 0 : (Name.Length + HeaderSize) / HeaderSize * HeaderSize;
        public int Size => HeaderSize + NameLength;
    }

    internal InotifyFile(FileNotifications notifications)
    {
        this.notifications = notifications;
    }

    public WaitQueue Changes { get; } = new();
    public override string Path => "anon_inode:inotify";
    private bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;
    public int WatchCount => byDescriptor.Count;

    public override short? Readiness(out WaitQueue? changes)
    {
        changes = Changes;
        lock (notifications.Gate)
            return queue.Count > 0 ? (short)(Polling.Readable | Polling.ReadNormal) : (short)0;
    }

    public override Result Read(GuestThread thread, GuestAddress buffer, ulong count)
    {
        var copied = 0UL;
        lock (notifications.Gate)
        {
            while (queue.First?.Value is { } next)
            {
                if ((ulong)next.Size > count - copied)
                {
                    if (copied == 0)
                        return Errno.EINVAL;
                    break;
                }
                Take();
                // As Linux, an event that could not be copied is lost, and the read fails.
                if (thread.Memory.Write(buffer + copied, Record(next)) is var fault and not Errno.None)
                    return fault;
                copied += (ulong)next.Size;
            }
        }
        if (copied > 0)
            return copied;
        return NonBlocking ? Errno.EAGAIN : thread.Block(new Wait(Changes));
    }

    public override Result Control(IoctlRequest request, GuestMemory memory, GuestAddress argument)
    {
        if (request != IoctlRequest.FIONREAD)
            return Errno.ENOTTY;
        int bytes;
        lock (notifications.Gate)
            bytes = queuedBytes;
        return memory.Write(argument, bytes) is var fault and not Errno.None ? fault : 0;
    }

    public override Result Status(out LinuxStat status)
    {
        status = new LinuxStat { Mode = 0x180, LinkCount = 1, BlockSize = 4096 }; // an anonymous inode: mode 0600, no type bits
        return 0;
    }

    /// <summary>inotify_add_watch on a resolved inode: the existing watch's descriptor (its mask replaced, or added to), or a new one.</summary>
    internal Result AddWatch(InodeKey inode, InotifyMask mask)
    {
        var events = mask & (FileNotifications.AllEvents | InotifyMask.IN_ONESHOT | InotifyMask.IN_EXCL_UNLINK);
        lock (notifications.Gate)
        {
            if (byInode.TryGetValue(inode, out var existing))
            {
                if ((mask & InotifyMask.IN_MASK_CREATE) != 0)
                    return Errno.EEXIST;
                existing.Mask = (mask & InotifyMask.IN_MASK_ADD) != 0 ? existing.Mask | events : events;
                return existing.Descriptor;
            }
            if (!notifications.TakeWatch())
                return Errno.ENOSPC;
            var watch = new InotifyWatch(this, nextDescriptor++, inode, events);
            byDescriptor[watch.Descriptor] = watch;
            byInode[inode] = watch;
            notifications.Add(watch);
            return watch.Descriptor;
        }
    }

    /// <summary>inotify_rm_watch: the watch goes, announced by IN_IGNORED.</summary>
    internal Result RemoveWatch(int descriptor)
    {
        lock (notifications.Gate)
        {
            if (!byDescriptor.TryGetValue(descriptor, out var watch))
                return Errno.EINVAL;
            Drop(watch);
            return 0;
        }
    }

    /// <summary>Removes a watch (its inode went, it fired once, or it was asked to go) and queues IN_IGNORED.</summary>
    internal void Drop(InotifyWatch watch)
    {
        if (!byDescriptor.Remove(watch.Descriptor))
            return;
        byInode.Remove(watch.Inode);
        notifications.Remove(watch);
        Queue(watch.Descriptor, InotifyMask.IN_IGNORED, 0, null);
    }

    /// <summary>Queues an event (the caller holds the gate), unless it repeats the last one; past the limit, one IN_Q_OVERFLOW.</summary>
    internal void Queue(int watch, InotifyMask mask, uint cookie, byte[]? name)
    {
        var added = new Event(watch, mask, cookie, name);
        if (queue.Count >= notifications.MaximumQueued)
        {
            if (overflowed)
                return;
            overflowed = true;
            added = new Event(-1, InotifyMask.IN_Q_OVERFLOW, 0, null);
        }
        else if (queue.Last?.Value is { } last && last.Watch == watch && last.Mask == mask && last.Cookie == cookie
            && (last.Name ?? []).AsSpan().SequenceEqual(name ?? []) && (last.Name is null) == (name is null))
            return;
        queue.AddLast(added);
        queuedBytes += added.Size;
        Changes.Notify(WaitQueue.InputEvents);
    }

    private void Take()
    {
        var taken = queue.First!.Value;
        queue.RemoveFirst();
        queuedBytes -= taken.Size;
        if (taken.Mask == InotifyMask.IN_Q_OVERFLOW)
            overflowed = false;
    }

    private static byte[] Record(Event item)
    {
        var record = new byte[item.Size];
        BinaryPrimitives.WriteInt32LittleEndian(record, item.Watch);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)item.Mask);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), item.Cookie);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12), (uint)item.NameLength);
        item.Name?.CopyTo(record, HeaderSize);
        return record;
    }

    /// <summary>The instance's last descriptor closed: its watches go without IN_IGNORED, as nobody can read it.</summary>
    protected override void Close()
    {
        lock (notifications.Gate)
        {
            foreach (var watch in byDescriptor.Values)
                notifications.Remove(watch);
            byDescriptor.Clear();
            byInode.Clear();
            queue.Clear();
            notifications.InstanceClosed();
        }
    }
}
