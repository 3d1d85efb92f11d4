using System.Text;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// POSIX message queues (mq_overview(7)): mq_open, mq_unlink, mq_timedsend, mq_timedreceive,
/// mq_notify, mq_getsetattr. The queues are the kernel's own, by name: host processes do not see
/// them, and there is no /dev/mqueue file system to list them.
/// </summary>
public static class PosixMessageQueues
{
    private const int NameMaximum = 255; // NAME_MAX
    private const uint PriorityLimit = 32768; // MQ_PRIO_MAX
    private const long DefaultMessages = 10, DefaultMessageSize = 8192; // msg_default, msgsize_default
    private const long UserMessages = 10, UserMessageSize = 8192; // msg_max, msgsize_max
    private const long HardMessages = 65536, HardMessageSize = 16 << 20; // HARD_MSGMAX, HARD_MSGSIZEMAX (CAP_SYS_RESOURCE)
    private const int NotifySignal = 0, NotifyNone = 1; // SIGEV_*
    private const int MessageQueueCode = -3; // SI_MESGQ
    private const int AttributeWords = 8; // struct mq_attr: mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs, __reserved[4]

    [Syscall("mq_open", Returns = ResultKind.Fd, Support = Support.Partial, Note = "queues are Trapeze's own (host processes do not share them); no /dev/mqueue; RLIMIT_MSGQUEUE is not counted")]
    public static Result Open(GuestThread thread, CString name, OpenFlags flags, [Argument(ArgumentKind.Octal, ShownIf = nameof(flags), ShownIfAny = (long)OpenFlags.O_CREAT)] uint mode, [Argument(ArgumentKind.MessageQueueAttributes, ShownIf = nameof(flags), ShownIfAny = (long)OpenFlags.O_CREAT)] GuestAddress attributes)
    {
        if (thread.Memory.ReadCStringBytes(name, out var bytes) is var nameFault and not Errno.None)
            return nameFault;
        Span<long> requested = stackalloc long[AttributeWords];
        if (!attributes.IsNull && thread.Process.Personality.Structures.ReadLongs(thread.Memory, attributes, requested) is var fault and not Errno.None)
            return fault;
        if (bytes.Length > NameMaximum)
            return Errno.ENAMETOOLONG;
        // Linux looks the name up as one path component of the mqueue file system's root.
        if (bytes.Length == 0 || bytes.Contains((byte)'/') || bytes is [(byte)'.'] or [(byte)'.', (byte)'.'])
            return Errno.EACCES;
        var access = flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR);
        var queues = thread.Kernel.MessageQueues;
        var key = Encoding.Latin1.GetString(bytes);
        if (queues.TryGetValue(key, out var queue))
        {
            if ((flags & (OpenFlags.O_CREAT | OpenFlags.O_EXCL)) == (OpenFlags.O_CREAT | OpenFlags.O_EXCL))
                return Errno.EEXIST;
            if (access == (OpenFlags.O_WRONLY | OpenFlags.O_RDWR))
                return Errno.EINVAL;
            var wanted = access == OpenFlags.O_RDONLY ? Ipc.Read : access == OpenFlags.O_WRONLY ? Ipc.Write : Ipc.Read | Ipc.Write;
            if (!Ipc.Allowed(thread, queue, wanted))
                return Errno.EACCES;
        }
        else
        {
            if ((flags & OpenFlags.O_CREAT) == 0)
                return Errno.ENOENT;
            var (messages, size) = attributes.IsNull ? (DefaultMessages, DefaultMessageSize) : (requested[1], requested[2]);
            if (!attributes.IsNull && Limits(thread, messages, size) is var invalid and not Errno.None)
                return invalid;
            var credentials = thread.Kernel.Credentials;
            queue = new PosixMessageQueue
            {
                Name = bytes,
                MaximumMessages = messages,
                MessageSize = size,
                Mode = mode & ~thread.Process.FileCreationMask & 0x1ff,
                UserId = credentials.EffectiveUserId,
                GroupId = credentials.EffectiveGroupId,
            };
            queues[key] = queue;
        }
        // Linux gives every message queue descriptor close-on-exec.
        var file = new MessageQueueFile(queue) { StatusFlags = access | (flags & OpenFlags.O_NONBLOCK) };
        var fd = thread.Process.Files.Add(file, closeOnExec: true);
        if (fd.IsError)
            file.Release();
        return fd;
    }

    /// <summary>mq_attr_ok: sizes above 0 and within the limits (the hard ones with CAP_SYS_RESOURCE), and no overflow.</summary>
    private static Errno Limits(GuestThread thread, long messages, long size)
    {
        if (messages <= 0 || size <= 0)
            return Errno.EINVAL;
        var privileged = thread.Kernel.Credentials.EffectiveUserId == 0;
        if (messages > (privileged ? HardMessages : UserMessages) || size > (privileged ? HardMessageSize : UserMessageSize))
            return Errno.EINVAL;
        return size > long.MaxValue / messages ? Errno.EOVERFLOW : Errno.None;
    }

    [Syscall("mq_unlink", Support = Support.Full)]
    public static Result Unlink(GuestThread thread, CString name)
    {
        if (thread.Memory.ReadCStringBytes(name, out var bytes) is var fault and not Errno.None)
            return fault;
        if (bytes.Length > NameMaximum)
            return Errno.ENAMETOOLONG;
        var queues = thread.Kernel.MessageQueues;
        var key = Encoding.Latin1.GetString(bytes);
        if (!queues.TryGetValue(key, out var queue))
            return Errno.ENOENT;
        // The mqueue root is sticky (mode 1777): only the queue's owner removes it.
        if (!Ipc.IsOwner(thread, queue))
            return Errno.EPERM;
        queues.Remove(key);
        return 0;
    }

    [Syscall("mq_timedsend", Support = Support.Full)]
    public static Result Send(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Buffer, SizeFrom = nameof(length))] GuestAddress message, ulong length, uint priority, [Argument(ArgumentKind.Timespec)] GuestAddress timeout)
    {
        if (Deadline(thread, timeout, out var deadline) is var timeError and not Errno.None)
            return timeError;
        if (priority >= PriorityLimit)
            return Errno.EINVAL;
        if (thread.Process.Files.Get(fd) is not MessageQueueFile { CanWrite: true } file)
            return Errno.EBADF;
        var queue = file.Queue;
        if (length > (ulong)queue.MessageSize)
            return Errno.EMSGSIZE;
        var text = new byte[length];
        if (thread.Memory.Read(message, text) is var fault and not Errno.None)
            return fault;
        if (queue.Full)
            return Wait(thread, file, deadline);
        var waitingReceiver = queue.HasWaitingReceiver;
        queue.Add(priority, text);
        if (!waitingReceiver && queue.Count == 1)
            Fire(thread, queue);
        return 0;
    }

    [Syscall("mq_timedreceive", Support = Support.Full)]
    public static Result Receive(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.ReceivedBuffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress message, ulong length, [Argument(ArgumentKind.IntPointer, Direction = Direction.Out)] GuestAddress priority, [Argument(ArgumentKind.Timespec)] GuestAddress timeout)
    {
        if (Deadline(thread, timeout, out var deadline) is var timeError and not Errno.None)
            return timeError;
        if (thread.Process.Files.Get(fd) is not MessageQueueFile { CanRead: true } file)
            return Errno.EBADF;
        var queue = file.Queue;
        queue.Receivers.Remove(thread);
        if (length < (ulong)queue.MessageSize)
            return Errno.EMSGSIZE;
        if (queue.Count == 0)
            return Wait(thread, file, deadline, receiving: true);
        // As on Linux, the message is gone from the queue even when it cannot be copied out.
        var (taken, text) = queue.Take();
        if (!priority.IsNull && thread.Memory.Write(priority, taken) is var priorityFault and not Errno.None)
            return priorityFault;
        return thread.Memory.Write(message, text) is var fault and not Errno.None ? fault : text.Length;
    }

    [Syscall("mq_notify", Support = Support.Partial, Note = "SIGEV_SIGNAL and SIGEV_NONE; SIGEV_THREAD (a netlink socket's message) is EINVAL")]
    public static Result Notify(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, GuestAddress notification)
    {
        int kind = 0, signal = 0;
        ulong value = 0;
        if (!notification.IsNull)
        {
            if (thread.Process.Personality.Structures.ReadSignalEvent(thread.Memory, notification, out value, out signal, out kind, out _) is var fault and not Errno.None)
                return fault;
            if (kind is not (NotifySignal or NotifyNone) || (kind == NotifySignal && (signal < 0 || signal > 64)))
                return Errno.EINVAL;
        }
        if (thread.Process.Files.Get(fd) is not MessageQueueFile file)
            return Errno.EBADF;
        var queue = file.Queue;
        if (notification.IsNull)
        {
            if (queue.NotifyOwner == thread.Process)
                queue.Unregister();
            return 0;
        }
        if (queue.NotifyOwner is not null)
            return Errno.EBUSY;
        queue.Register(thread.Process, kind, kind == NotifySignal ? signal : 0, value);
        return 0;
    }

    [Syscall("mq_getsetattr", Support = Support.Full)]
    public static Result GetSetAttributes(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.MessageQueueAttributes)] GuestAddress newAttributes, [Argument(ArgumentKind.MessageQueueAttributes, Direction = Direction.Out)] GuestAddress oldAttributes)
    {
        var layouts = thread.Process.Personality.Structures;
        Span<long> fields = stackalloc long[AttributeWords];
        if (!newAttributes.IsNull)
        {
            if (layouts.ReadLongs(thread.Memory, newAttributes, fields) is var fault and not Errno.None)
                return fault;
            if ((fields[0] & ~(long)OpenFlags.O_NONBLOCK) != 0)
                return Errno.EINVAL;
        }
        if (thread.Process.Files.Get(fd) is not MessageQueueFile file)
            return Errno.EBADF;
        var queue = file.Queue;
        long[] old = [(long)(file.StatusFlags & OpenFlags.O_NONBLOCK), queue.MaximumMessages, queue.MessageSize, queue.Count, 0, 0, 0, 0];
        if (!newAttributes.IsNull)
            file.StatusFlags = (file.StatusFlags & ~OpenFlags.O_NONBLOCK) | (OpenFlags)(fields[0] & (long)OpenFlags.O_NONBLOCK);
        if (!oldAttributes.IsNull && layouts.WriteLongs(thread.Memory, oldAttributes, old) is var writeFault and not Errno.None)
            return writeFault;
        return 0;
    }

    /// <summary>A full queue (for a sender) or an empty one (for a receiver): EAGAIN, ETIMEDOUT past the deadline, or a wait (restarted with SA_RESTART).</summary>
    private static Result Wait(GuestThread thread, MessageQueueFile file, long deadline, bool receiving = false)
    {
        if ((file.StatusFlags & OpenFlags.O_NONBLOCK) != 0)
            return Errno.EAGAIN;
        if (deadline != Syscalls.Wait.NoDeadline && deadline <= thread.Kernel.Clock.Monotonic)
            return Errno.ETIMEDOUT;
        var slept = thread.Block(new Wait(file.Queue.Changes, deadline));
        if (receiving && !slept.IsFinished && slept.Control is not Restart)
            file.Queue.Receivers.Add(thread);
        return slept;
    }

    /// <summary>The absolute CLOCK_REALTIME timeout as a monotonic deadline; Linux checks it at entry, blocking or not.</summary>
    private static Errno Deadline(GuestThread thread, GuestAddress timeout, out long deadline)
    {
        deadline = Syscalls.Wait.NoDeadline;
        if (timeout.IsNull)
            return Errno.None;
        if (LinuxStructures.ReadTime(thread, timeout, out var time) is var fault and not Errno.None)
            return fault;
        if (time.Seconds < 0 || time.Nanoseconds is < 0 or >= 1_000_000_000)
            return Errno.EINVAL;
        deadline = thread.Kernel.Clock.ToMonotonic(ClockId.CLOCK_REALTIME, time.Seconds * 1_000_000_000 + time.Nanoseconds);
        return Errno.None;
    }

    /// <summary>The first message into an empty queue that nobody waits on fires the registration, once.</summary>
    private static void Fire(GuestThread sender, PosixMessageQueue queue)
    {
        if (queue.NotifyOwner is not { } owner)
            return;
        queue.Unregister();
        if (queue.NotifyKind != NotifySignal || queue.NotifySignal == 0 || owner.State != ProcessState.Running)
            return;
        SignalDelivery.SendToProcess(owner, new SignalInfo
        {
            Signal = queue.NotifySignal,
            Code = MessageQueueCode,
            Pid = sender.Process.Id,
            Uid = sender.Kernel.Credentials.UserId,
            Value = queue.NotifyValue,
        });
    }
}
