using System.Text;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>
/// A POSIX message queue (mq_overview(7)): at most <see cref="MaximumMessages"/> messages of at most
/// <see cref="MessageSize"/> bytes, taken highest priority first and in order of sending among
/// equals. It lives until it is unlinked and its last descriptor is closed.
/// </summary>
public sealed class PosixMessageQueue : IpcObject
{
    private readonly List<(uint Priority, byte[] Text)> messages = [];

    /// <summary>The name without its leading slash, as mq_open's system call gets it.</summary>
    public required byte[] Name { get; init; }
    public required long MaximumMessages { get; init; }
    public required long MessageSize { get; init; }

    public int Count => messages.Count;
    public bool Full => messages.Count >= MaximumMessages;

    /// <summary>QSIZE: the bytes of all queued messages.</summary>
    public long Bytes { get; private set; }

    /// <summary>Threads that blocked in mq_timedreceive: a message sent while one waits raises no notification.</summary>
    public HashSet<GuestThread> Receivers { get; } = [];

    /// <summary>
    /// Whether a receiver still waits: one that a signal interrupted (EINTR), or that was killed or
    /// exited while it waited, no longer counts (do_mq_timedsend asks the same of its wait list).
    /// </summary>
    public bool HasWaitingReceiver
    {
        get
        {
            Receivers.RemoveWhere(thread => thread.Killed || thread.Blocked?.Wait.Queues.Contains(Changes) != true);
            return Receivers.Count > 0;
        }
    }

    /// <summary>The process registered by mq_notify, and what it asked for; null when none is.</summary>
    public Process? NotifyOwner { get; private set; }
    public int NotifyKind { get; private set; }
    public int NotifySignal { get; private set; }
    public ulong NotifyValue { get; private set; }

    public void Add(uint priority, byte[] text)
    {
        var index = messages.FindIndex(m => m.Priority < priority);
        messages.Insert(index < 0 ? messages.Count : index, (priority, text));
        Bytes += text.Length;
        Changes.Notify(WaitQueue.InputEvents);
    }

    public (uint Priority, byte[] Text) Take()
    {
        var first = messages[0];
        messages.RemoveAt(0);
        Bytes -= first.Text.Length;
        Changes.Notify(WaitQueue.OutputEvents);
        return first;
    }

    public void Register(Process owner, int kind, int signal, ulong value)
    {
        NotifyOwner = owner;
        NotifyKind = kind;
        NotifySignal = signal;
        NotifyValue = value;
    }

    public void Unregister() => NotifyOwner = null;

    /// <summary>What a read of the descriptor gives (Linux's mqueue_read_file).</summary>
    public byte[] StatusText()
    {
        var owner = NotifyOwner;
        var text = $"QSIZE:{Bytes,-10} NOTIFY:{(owner is null ? 0 : NotifyKind),-5} SIGNO:{(owner is null ? 0 : NotifySignal),-5} NOTIFY_PID:{owner?.Id ?? 0,-6}\n";
        return Encoding.ASCII.GetBytes(text);
    }
}

/// <summary>A descriptor of a <see cref="PosixMessageQueue"/> (mq_open's).</summary>
public sealed class MessageQueueFile(PosixMessageQueue queue) : OpenFile
{
    private long offset;

    public PosixMessageQueue Queue { get; } = queue;
    public override string Path => "/" + GuestText.Decode(Queue.Name);
    public bool CanRead => (StatusFlags & OpenFlags.O_WRONLY) == 0;
    public bool CanWrite => (StatusFlags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) != 0;

    public override short? Readiness(out WaitQueue? changes)
    {
        changes = Queue.Changes;
        var ready = Queue.Count > 0 ? Polling.Readable | Polling.ReadNormal : 0;
        if (!Queue.Full)
            ready |= Polling.Writable | Polling.WriteNormal;
        return (short)ready;
    }

    /// <summary>The queue's status as text, read on from the descriptor's offset like a small file.</summary>
    public override Result Read(GuestMemory memory, GuestAddress buffer, ulong count)
    {
        var text = Queue.StatusText();
        if (offset >= text.Length)
            return 0;
        var length = (int)Math.Min(count, (ulong)(text.Length - offset));
        if (memory.Write(buffer, text.AsSpan((int)offset, length)) is var fault and not Errno.None)
            return fault;
        offset += length;
        return length;
    }

    public override Result Status(out LinuxStat status)
    {
        status = new LinuxStat { Mode = 0x8000 | Queue.Mode, LinkCount = 1, UserId = Queue.UserId, GroupId = Queue.GroupId, Size = Queue.Bytes, BlockSize = 4096 };
        return 0;
    }

    /// <summary>Any close by the process that registered for notification ends that registration (Linux's mqueue_flush_file).</summary>
    public override void Closing(FileTable table)
    {
        if (Queue.NotifyOwner?.Files == table)
            Queue.Unregister();
    }
}
