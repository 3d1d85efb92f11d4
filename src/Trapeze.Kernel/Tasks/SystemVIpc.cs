using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// The System V IPC namespace of a kernel: shared memory segments, semaphore sets and message
/// queues, each found by key or id, and the semaphore adjustments (SEM_UNDO) each process leaves
/// to be undone when it ends.
/// </summary>
public sealed class SystemVIpc
{
    public IpcRegistry<SharedMemorySegment> SharedMemory { get; } = new();
    public IpcRegistry<SemaphoreSet> Semaphores { get; } = new();
    public IpcRegistry<MessageQueue> MessageQueues { get; } = new();

    /// <summary>SEM_UNDO: per process, (set id, semaphore) to the value to add back at exit.</summary>
    private readonly Dictionary<Process, Dictionary<(int Set, int Semaphore), int>> undo = [];

    public void RecordUndo(Process process, int set, int semaphore, int adjustment)
    {
        if (!undo.TryGetValue(process, out var adjustments))
            undo[process] = adjustments = [];
        adjustments[(set, semaphore)] = adjustments.GetValueOrDefault((set, semaphore)) + adjustment;
    }

    /// <summary>SETVAL/SETALL or IPC_RMID: the adjustments recorded for the set (or one semaphore) no longer apply.</summary>
    public void ForgetUndo(int set, int? semaphore = null)
    {
        foreach (var adjustments in undo.Values)
        {
            foreach (var key in adjustments.Keys.Where(k => k.Set == set && (semaphore is null || k.Semaphore == semaphore)).ToList())
                adjustments.Remove(key);
        }
    }

    /// <summary>A process ended: its SEM_UNDO adjustments are applied, clamped to the semaphores' range as Linux does.</summary>
    public void ProcessEnded(Process process)
    {
        if (!undo.Remove(process, out var adjustments))
            return;
        foreach (var ((id, semaphore), adjustment) in adjustments)
        {
            if (Semaphores.Find(id) is not { } set || semaphore >= set.Values.Length)
                continue;
            set.Values[semaphore] = Math.Clamp(set.Values[semaphore] + adjustment, 0, SemaphoreSet.MaximumValue);
            set.Pids[semaphore] = process.Id;
            set.Changes.Notify();
        }
    }
}

/// <summary>struct ipc64_perm's fields, and what every IPC object has.</summary>
public abstract class IpcObject
{
    public int Key { get; set; }
    public int Id { get; set; }
    public uint UserId { get; set; }
    public uint GroupId { get; set; }
    public uint CreatorUserId { get; set; }
    public uint CreatorGroupId { get; set; }

    /// <summary>The nine permission bits (and, for shared memory, SHM_DEST and SHM_LOCKED).</summary>
    public uint Mode { get; set; }
    public ushort Sequence { get; set; }
    public long ChangeTime { get; set; }

    /// <summary>IPC_RMID took effect: waiters answer EIDRM.</summary>
    public bool Removed { get; set; }

    /// <summary>Woken when the object changes (values, messages, removal).</summary>
    public WaitQueue Changes { get; } = new();

    /// <summary>struct ipc64_perm (asm-generic/ipcbuf.h, x86-64's layout): 48 bytes.</summary>
    public void WritePermissions(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, Key);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], UserId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], GroupId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], CreatorUserId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], CreatorGroupId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], Mode);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[24..], Sequence);
    }

    /// <summary>IPC_SET: the owner and the permission bits from the caller's struct ipc64_perm.</summary>
    public void ReadPermissions(ReadOnlySpan<byte> source)
    {
        UserId = BinaryPrimitives.ReadUInt32LittleEndian(source[4..]);
        GroupId = BinaryPrimitives.ReadUInt32LittleEndian(source[8..]);
        Mode = (Mode & ~0x1ffu) | (BinaryPrimitives.ReadUInt32LittleEndian(source[20..]) & 0x1ff);
    }
}

/// <summary>The objects of one kind, by id and by key; ids are Linux's (index | sequence &lt;&lt; 15).</summary>
public sealed class IpcRegistry<T> where T : IpcObject
{
    public const int PrivateKey = 0; // IPC_PRIVATE
    private const int SequenceShift = 15;
    private readonly List<T?> slots = [];
    private ushort sequence;

    public IEnumerable<T> All => slots.OfType<T>();

    /// <summary>The highest index in use (IPC_INFO's answer), or 0.</summary>
    public int HighestIndex => Math.Max(0, slots.FindLastIndex(slot => slot is not null));

    public T? Find(int id)
    {
        var index = id & ((1 << SequenceShift) - 1);
        return id >= 0 && index < slots.Count && slots[index] is { } found && found.Id == id ? found : null;
    }

    /// <summary>The object at an index (SHM_STAT, SEM_STAT, MSG_STAT take one).</summary>
    public T? AtIndex(int index) => index >= 0 && index < slots.Count ? slots[index] : null;

    public T? FindKey(int key) => key == PrivateKey ? null : All.FirstOrDefault(o => o.Key == key && !o.Removed);

    public T Add(T item, int key, uint mode, uint userId, uint groupId, long now)
    {
        var index = slots.IndexOf(null);
        if (index < 0)
        {
            index = slots.Count;
            slots.Add(null);
        }
        item.Key = key;
        item.Sequence = sequence++;
        item.Id = index | (item.Sequence << SequenceShift);
        item.Mode = mode & 0x1ff;
        item.UserId = item.CreatorUserId = userId;
        item.GroupId = item.CreatorGroupId = groupId;
        item.ChangeTime = now;
        slots[index] = item;
        return item;
    }

    public void Remove(T item)
    {
        var index = slots.IndexOf(item);
        if (index >= 0)
            slots[index] = null;
        item.Removed = true;
        item.Changes.Notify();
    }
}

/// <summary>A shared memory segment: one shared <see cref="MemoryObject"/> that shmat maps into address spaces.</summary>
public sealed class SharedMemorySegment(MemoryObject memory, ulong size, int creator) : IpcObject
{
    public const uint Destroy = 0x200, Locked = 0x400; // SHM_DEST, SHM_LOCKED

    public MemoryObject Memory { get; } = memory;
    public ulong Size { get; } = size;
    public int CreatorPid { get; } = creator;
    public int LastPid { get; set; }
    public long AttachTime { get; set; }
    public long DetachTime { get; set; }

    /// <summary>The name /proc/PID/maps shows for an attachment.</summary>
    public string MappingName => $"/SYSV{Key:x8}";

    /// <summary>How many attachments exist: the first piece of each mapping of the segment in every live address space.</summary>
    public ulong Attachments(Kernel kernel)
        => (ulong)kernel.Processes.Where(p => p.State == ProcessState.Running).Select(p => p.AddressSpace).Distinct()
            .Sum(space => space.Mappings.Count(m => m.Object == Memory && m.ObjectOffset == 0));
}

/// <summary>A semaphore set.</summary>
public sealed class SemaphoreSet(int count) : IpcObject
{
    public const int MaximumValue = 32767; // SEMVMX

    public int[] Values { get; } = new int[count];
    public int[] Pids { get; } = new int[count];
    public long OperationTime { get; set; }

    /// <summary>Threads asleep in semop, with the semaphore each waits on and whether for zero (GETNCNT, GETZCNT).</summary>
    public Dictionary<GuestThread, (int Semaphore, bool ForZero)> Waiters { get; } = [];
}

/// <summary>A message queue.</summary>
public sealed class MessageQueue : IpcObject
{
    public const int DefaultCapacity = 16384; // MSGMNB

    public List<(long Type, byte[] Text)> Messages { get; } = [];
    public long Bytes { get; set; }
    public long Capacity { get; set; } = DefaultCapacity;
    public int LastSender { get; set; }
    public int LastReceiver { get; set; }
    public long SendTime { get; set; }
    public long ReceiveTime { get; set; }
}
