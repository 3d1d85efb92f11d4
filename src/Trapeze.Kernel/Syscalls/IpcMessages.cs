using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>System V message queues: msgget, msgsnd, msgrcv (by type, MSG_EXCEPT, MSG_NOERROR, MSG_COPY), msgctl.</summary>
public static class IpcMessages
{
    private const int MessageMaximum = 8192; // MSGMAX
    private const int QueuesMaximum = 32000; // MSGMNI
    private const int StatusSize = 120; // struct msqid64_ds

    [Syscall("msgget", Support = Support.Full)]
    public static Result Get(GuestThread thread, int key, [Argument(Enum = typeof(IpcFlags))] int flags)
    {
        var registry = thread.Kernel.SystemV.MessageQueues;
        return Ipc.Get(thread, registry, key, (IpcFlags)flags, _ => Errno.None,
            () => registry.All.Count() >= QueuesMaximum ? null : new MessageQueue());
    }

    [Syscall("msgsnd", Support = Support.Full)]
    public static Result Send(GuestThread thread, int id, GuestAddress message, ulong size, [Argument(Enum = typeof(IpcFlags))] int flags)
    {
        if (size > MessageMaximum)
            return Errno.EINVAL;
        if (Find(thread, id) is not { } queue)
            return thread.RetryState is MessageQueue ? Errno.EIDRM : Errno.EINVAL;
        if (!Ipc.Allowed(thread, queue, Ipc.Write))
            return Errno.EACCES;
        if (thread.Memory.Read(message, out long type) is var fault and not Errno.None)
            return fault;
        if (type < 1)
            return Errno.EINVAL;
        var text = new byte[size];
        if (size > 0 && thread.Memory.Read(message + 8, text) is var textFault and not Errno.None)
            return textFault;
        if (queue.Bytes + (long)size > queue.Capacity || queue.Messages.Count + 1 > queue.Capacity)
            return ((IpcFlags)flags & IpcFlags.IPC_NOWAIT) != 0 ? Errno.EAGAIN : Sleep(thread, queue);
        queue.Messages.Add((type, text));
        queue.Bytes += (long)size;
        queue.LastSender = thread.Process.Id;
        queue.SendTime = Ipc.Now(thread);
        queue.Changes.Notify();
        return 0;
    }

    [Syscall("msgrcv", Support = Support.Full)]
    public static Result Receive(GuestThread thread, int id, GuestAddress message, ulong size, long type, [Argument(Enum = typeof(IpcFlags))] int flags)
    {
        var options = (IpcFlags)flags;
        if ((long)size < 0)
            return Errno.EINVAL;
        var copy = (options & IpcFlags.MSG_COPY) != 0;
        if (copy && ((options & IpcFlags.IPC_NOWAIT) == 0 || (options & IpcFlags.MSG_EXCEPT) != 0))
            return Errno.EINVAL;
        if (Find(thread, id) is not { } queue)
            return thread.RetryState is MessageQueue ? Errno.EIDRM : Errno.EINVAL;
        if (!Ipc.Allowed(thread, queue, Ipc.Read))
            return Errno.EACCES;
        var index = copy ? (type >= 0 && type < queue.Messages.Count ? (int)type : -1) : Select(queue, type, (options & IpcFlags.MSG_EXCEPT) != 0);
        if (index < 0)
            return (options & IpcFlags.IPC_NOWAIT) != 0 ? Errno.ENOMSG : Sleep(thread, queue);
        var (found, text) = queue.Messages[index];
        if ((ulong)text.Length > size && (options & IpcFlags.MSG_NOERROR) == 0)
            return Errno.E2BIG;
        var length = (int)Math.Min((ulong)text.Length, size);
        if (thread.Memory.Write(message, found) is var fault and not Errno.None)
            return fault;
        if (length > 0 && thread.Memory.Write(message + 8, text.AsSpan(0, length)) is var textFault and not Errno.None)
            return textFault;
        if (!copy)
        {
            queue.Messages.RemoveAt(index);
            queue.Bytes -= text.Length;
            queue.LastReceiver = thread.Process.Id;
            queue.ReceiveTime = Ipc.Now(thread);
            queue.Changes.Notify();
        }
        return length;
    }

    /// <summary>msgrcv's choice: the first message (0), the first of a type (or, with MSG_EXCEPT, of another), or the lowest type up to -type.</summary>
    private static int Select(MessageQueue queue, long type, bool except)
    {
        if (type == 0)
            return queue.Messages.Count > 0 ? 0 : -1;
        if (type > 0)
            return queue.Messages.FindIndex(m => except ? m.Type != type : m.Type == type);
        var best = -1;
        for (var i = 0; i < queue.Messages.Count; i++)
        {
            if (queue.Messages[i].Type <= -type && (best < 0 || queue.Messages[i].Type < queue.Messages[best].Type))
                best = i;
        }
        return best;
    }

    private static MessageQueue? Find(GuestThread thread, int id) => thread.Kernel.SystemV.MessageQueues.Find(id);

    private static Result Sleep(GuestThread thread, MessageQueue queue)
    {
        thread.RetryState = queue;
        var slept = thread.Block(new Wait(queue.Changes));
        return slept.Control is Restart ? Result.Interrupted(RestartRule.OnlyWithoutHandler) : slept;
    }

    [Syscall("msgctl", Support = Support.Partial, Note = "the 64-bit structures (IPC_64) only")]
    public static Result Control(GuestThread thread, int id, int command, GuestAddress buffer)
    {
        var registry = thread.Kernel.SystemV.MessageQueues;
        var cmd = Ipc.Command(command);
        if (cmd is IpcCommand.IPC_INFO or IpcCommand.MSG_INFO)
        {
            // struct msginfo: msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql (ints), msgseg (unsigned short).
            var queues = registry.All.ToList();
            int[] info = cmd == IpcCommand.IPC_INFO
                ? [QueuesMaximum * MessageQueue.DefaultCapacity / 1024, QueuesMaximum * MessageQueue.DefaultCapacity / 16, MessageMaximum, MessageQueue.DefaultCapacity, QueuesMaximum, 16, QueuesMaximum * MessageQueue.DefaultCapacity / 16, 0xffff]
                : [queues.Count, queues.Sum(q => q.Messages.Count), MessageMaximum, MessageQueue.DefaultCapacity, QueuesMaximum, 16, (int)queues.Sum(q => q.Bytes), 0xffff];
            var bytes = new byte[30];
            for (var i = 0; i < 7; i++)
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), info[i]);
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(28), (ushort)info[7]);
            return thread.Memory.Write(buffer, bytes) is var infoFault and not Errno.None ? infoFault : registry.HighestIndex;
        }
        var queue = cmd is IpcCommand.MSG_STAT or IpcCommand.MSG_STAT_ANY ? registry.AtIndex(id) : registry.Find(id);
        if (queue is null)
            return Errno.EINVAL;
        switch (cmd)
        {
            case IpcCommand.IPC_STAT or IpcCommand.MSG_STAT or IpcCommand.MSG_STAT_ANY:
                if (cmd != IpcCommand.MSG_STAT_ANY && !Ipc.Allowed(thread, queue, Ipc.Read))
                    return Errno.EACCES;
                var status = new byte[StatusSize];
                queue.WritePermissions(status);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(48), queue.SendTime);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(56), queue.ReceiveTime);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(64), queue.ChangeTime);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(72), queue.Bytes);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(80), queue.Messages.Count);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(88), queue.Capacity);
                BinaryPrimitives.WriteInt32LittleEndian(status.AsSpan(96), queue.LastSender);
                BinaryPrimitives.WriteInt32LittleEndian(status.AsSpan(100), queue.LastReceiver);
                if (thread.Memory.Write(buffer, status) is var fault and not Errno.None)
                    return fault;
                return cmd == IpcCommand.IPC_STAT ? 0 : queue.Id;
            case IpcCommand.IPC_SET:
                var incoming = new byte[StatusSize];
                if (thread.Memory.Read(buffer, incoming) is var readFault and not Errno.None)
                    return readFault;
                if (!Ipc.IsOwner(thread, queue))
                    return Errno.EPERM;
                var capacity = BinaryPrimitives.ReadInt64LittleEndian(incoming.AsSpan(88));
                // Raising the limit past MSGMNB needs CAP_SYS_RESOURCE.
                if (capacity > MessageQueue.DefaultCapacity && thread.Kernel.Credentials.EffectiveUserId != 0)
                    return Errno.EPERM;
                queue.ReadPermissions(incoming);
                queue.Capacity = capacity;
                queue.ChangeTime = Ipc.Now(thread);
                queue.Changes.Notify();
                return 0;
            case IpcCommand.IPC_RMID:
                if (!Ipc.IsOwner(thread, queue))
                    return Errno.EPERM;
                registry.Remove(queue);
                return 0;
            default:
                return Errno.EINVAL;
        }
    }
}
