using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>
/// An io_uring instance: the submission and completion rings and the SQE array live in shared
/// kernel memory the guest maps (IORING_OFF_SQ_RING, IORING_OFF_SQES); requests that cannot
/// complete yet wait here until their file is ready or their timeout passes.
/// </summary>
public sealed unsafe class IoUringFile : OpenFile
{
    public const long SubmissionRingOffset = 0, CompletionRingOffset = 0x8000000, EntriesOffset = 0x10000000; // IORING_OFF_*
    public const int EntrySize = 64, CompletionSize = 16;

    // The rings' layout (one region, as IORING_FEAT_SINGLE_MMAP promises): the offsets io_uring_setup reports.
    public const uint SqHead = 0, SqTail = 4, CqHead = 8, CqTail = 12, SqMask = 16, CqMask = 20, SqEntries = 24, CqEntries = 28,
        SqDropped = 32, SqFlags = 36, CqFlags = 40, CqOverflow = 44, Completions = 64;

    private readonly MemoryObject rings;
    private readonly MemoryObject entries;
    private readonly Queue<(ulong UserData, int Result)> overflow = new();

    private IoUringFile(uint submissions, uint completions, MemoryObject rings, MemoryObject entries)
    {
        SubmissionEntries = submissions;
        CompletionEntries = completions;
        this.rings = rings;
        this.entries = entries;
        StatusFlags = OpenFlags.O_RDWR;
        Write32(SqMask, submissions - 1);
        Write32(CqMask, completions - 1);
        Write32(SqEntries, submissions);
        Write32(CqEntries, completions);
    }

    public static IoUringFile? Create(uint submissions, uint completions)
    {
        var ringSize = AddressSpace.PageUp(ArrayOffset(completions) + submissions * 4);
        if (MemoryObject.Allocate(ringSize, shared: true) is not { } rings)
            return null;
        if (MemoryObject.Allocate(AddressSpace.PageUp(submissions * EntrySize), shared: true) is not { } entries)
        {
            rings.Release();
            return null;
        }
        return new IoUringFile(submissions, completions, rings, entries);
    }

    /// <summary>Where the SQ index array starts: after the completion queue entries.</summary>
    public static uint ArrayOffset(uint completions) => Completions + completions * CompletionSize;

    public uint SubmissionEntries { get; }
    public uint CompletionEntries { get; }

    /// <summary>Requests not complete yet (a read of an empty pipe, a poll, a timeout).</summary>
    public List<IoUringRequest> Pending { get; } = [];

    /// <summary>Woken when a completion is posted.</summary>
    public WaitQueue Changes { get; } = new();

    public override string Path => "anon_inode:[io_uring]";

    public override MemoryObject? SharedMemory(long offset) => offset switch
    {
        SubmissionRingOffset or CompletionRingOffset => rings,
        EntriesOffset => entries,
        _ => null,
    };

    /// <summary>Readable while completions wait to be reaped.</summary>
    public override short? Readiness(out WaitQueue? changes)
    {
        changes = Changes;
        return ReadyCompletions > 0 ? (short)(Syscalls.Polling.Readable | Syscalls.Polling.ReadNormal) : (short)0;
    }

    public uint ReadyCompletions => Read32(CqTail) - Read32(CqHead) + (uint)overflow.Count;

    /// <summary>The next submitted entry's bytes, or null when the guest's tail is reached; advances the head.</summary>
    public byte[]? NextSubmission()
    {
        var head = Read32(SqHead);
        if (head == Volatile.Read(ref *(uint*)(rings.Host + (nint)SqTail)))
            return null;
        var index = Read32(ArrayOffset(CompletionEntries) + (head & (SubmissionEntries - 1)) * 4);
        Volatile.Write(ref *(uint*)(rings.Host + (nint)SqHead), head + 1);
        if (index >= SubmissionEntries)
        {
            Write32(SqDropped, Read32(SqDropped) + 1);
            return [];
        }
        return new Span<byte>((void*)(entries.Host + (nint)(index * EntrySize)), EntrySize).ToArray();
    }

    /// <summary>Posts a completion (into the overflow list while the ring is full: IORING_FEAT_NODROP).</summary>
    public void Complete(ulong userData, int result)
    {
        overflow.Enqueue((userData, result));
        Flush();
        Changes.Notify(WaitQueue.InputEvents);
    }

    /// <summary>Moves overflowed completions into the ring as the guest makes room.</summary>
    public void Flush()
    {
        while (overflow.Count > 0 && Read32(CqTail) - Read32(CqHead) < CompletionEntries)
        {
            var (userData, result) = overflow.Dequeue();
            var tail = Read32(CqTail);
            var entry = new Span<byte>((void*)(rings.Host + (nint)(Completions + (tail & (CompletionEntries - 1)) * CompletionSize)), CompletionSize);
            BinaryPrimitives.WriteUInt64LittleEndian(entry, userData);
            BinaryPrimitives.WriteInt32LittleEndian(entry[8..], result);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], 0);
            Volatile.Write(ref *(uint*)(rings.Host + (nint)CqTail), tail + 1);
        }
    }

    private uint Read32(uint offset) => Volatile.Read(ref *(uint*)(rings.Host + (nint)offset));

    private void Write32(uint offset, uint value) => Volatile.Write(ref *(uint*)(rings.Host + (nint)offset), value);

    protected override void Close()
    {
        rings.Release();
        entries.Release();
    }
}

/// <summary>A request waiting in an io_uring: its entry, and for a timeout its deadline and completion count.</summary>
public sealed class IoUringRequest(byte[] entry)
{
    public byte[] Entry { get; } = entry;
    public byte Opcode => Entry[0];
    public byte Flags => Entry[1];
    public int Fd => BinaryPrimitives.ReadInt32LittleEndian(Entry.AsSpan(4));
    public ulong Offset => BinaryPrimitives.ReadUInt64LittleEndian(Entry.AsSpan(8));
    public ulong Address => BinaryPrimitives.ReadUInt64LittleEndian(Entry.AsSpan(16));
    public uint Length => BinaryPrimitives.ReadUInt32LittleEndian(Entry.AsSpan(24));
    public uint OperationFlags => BinaryPrimitives.ReadUInt32LittleEndian(Entry.AsSpan(28));
    public ulong UserData => BinaryPrimitives.ReadUInt64LittleEndian(Entry.AsSpan(32));

    /// <summary>A timeout's monotonic deadline.</summary>
    public long Deadline { get; set; } = Syscalls.Wait.NoDeadline;

    /// <summary>A timeout's completion count: it completes (with 0) once this many other completions were posted.</summary>
    public long CompletionsLeft { get; set; }
}
