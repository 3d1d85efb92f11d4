using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Trace;

internal enum RecordKind : byte
{
    Enter,
    Exit,
    ThreadStarted,
    ThreadExited,
    Signal,
    ProcessExited,

    /// <summary>The execve line, made whole by the tracer (<see cref="TraceRecord.Text"/> is its event).</summary>
    Program,
}

/// <summary>
/// What the dispatch path writes for one event: fixed-size, so recording a call allocates
/// nothing. Text that cannot wait (it reads guest memory or the descriptor table, which change
/// by the time the call is formatted) rides along in <see cref="Text"/>.
/// </summary>
internal struct TraceRecord
{
    public RecordKind Kind;
    public bool Blocked;
    public bool NoReturn;
    public int ProcessId;
    public int ThreadId;
    public int Number;
    public TraceTime Time;
    public SyscallArguments Arguments;
    public Result Result;
    /// <summary>At entry: what the tracer decided for this syscall (its name, declaration, which arguments wait).</summary>
    public CallPlan? Plan;

    /// <summary>Arguments formatted at once (a List of string), a signal's or exit's line (a string), or the execve event.</summary>
    public object? Text;
}

internal delegate void RecordHandler(in TraceRecord record);

/// <summary>
/// A bounded single-producer, single-consumer ring of <see cref="TraceRecord"/>s between the
/// dispatch path and the thread that formats them. The kernel calls its tracer from one guest
/// thread at a time (under its run lock), so whichever thread that is acts as the one producer.
/// </summary>
internal sealed class TraceRing
{
    /// <summary>
    /// The two indexes on cache lines of their own, each with the writer's copy of the other:
    /// sharing a line with the index the other thread writes would cost a cache miss per record.
    /// </summary>
    // Offsets leave more than a line between the two groups whatever the struct's own alignment.
    [StructLayout(LayoutKind.Explicit, Size = 4 * CacheLine)]
    private struct Indexes
    {
        private const int CacheLine = 64;

        /// <summary>Next slot to write; written by the producer.</summary>
        [FieldOffset(CacheLine)] public long Head;

        /// <summary>The producer's last look at <see cref="Tail"/>.</summary>
        [FieldOffset(CacheLine + 8)] public long TailSeen;

        /// <summary>Set by the consumer before it sleeps (rarely written, read per record by the producer).</summary>
        [FieldOffset(CacheLine + 16)] public int ConsumerAsleep;

        /// <summary>Next slot to read; written by the consumer.</summary>
        [FieldOffset(3 * CacheLine)] public long Tail;
    }

    /// <summary>The consumer moves the tail on after this many records, not after each one.</summary>
    private const int TailBatch = 256;

    private readonly TraceRecord[] slots;
    private readonly int mask;
    private Indexes indexes;
    private readonly SemaphoreSlim wake = new(0);

    public TraceRing(int capacity)
    {
        if (capacity < 2 * TailBatch || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), $"a power of two, at least {2 * TailBatch}");
        slots = new TraceRecord[capacity];
        mask = capacity - 1;
    }

    public int Capacity => slots.Length;

    /// <summary>The slot the next record goes into; <see cref="Publish"/> makes it visible. Waits while the ring is full.</summary>
    public ref TraceRecord Claim()
    {
        var head = indexes.Head;
        if (head - indexes.TailSeen == slots.Length)
            WaitForRoom(head);
        return ref slots[head & mask];
    }

    // Apart from Claim, so that Claim's common path is small enough to inline.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitForRoom(long head)
    {
        var spin = new SpinWait();
        while (head - (indexes.TailSeen = Volatile.Read(ref indexes.Tail)) == slots.Length)
        {
            Wake();
            // Yield, never Sleep(1): the formatter frees a batch in far less than a millisecond.
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    public void Publish()
    {
        var head = indexes.Head + 1;
        Volatile.Write(ref indexes.Head, head);
        // Waking costs a system call: wake a sleeping consumer only for a batch (it also wakes by itself every millisecond).
        if (Volatile.Read(ref indexes.ConsumerAsleep) != 0 && head - indexes.TailSeen >= slots.Length / 8)
            Wake();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Wake()
    {
        // Read first: a locked exchange on every spin would pull the line from the other core each time.
        if (Volatile.Read(ref indexes.ConsumerAsleep) != 0 && Interlocked.Exchange(ref indexes.ConsumerAsleep, 0) != 0)
            wake.Release();
    }

    /// <summary>Hands every published record to <paramref name="handle"/> in order; returns how many.</summary>
    public int Drain(RecordHandler handle)
    {
        var published = Volatile.Read(ref indexes.Head);
        var tail = indexes.Tail;
        var start = tail;
        try
        {
            for (; tail < published; tail++)
            {
                ref var slot = ref slots[tail & mask];
                handle(in slot);
                // Drop references now: a ring slot must not keep a formatted text or event alive.
                slot.Text = null;
                if ((tail & (TailBatch - 1)) == TailBatch - 1)
                    Volatile.Write(ref indexes.Tail, tail + 1);
            }
        }
        finally
        {
            Volatile.Write(ref indexes.Tail, tail);
        }
        return (int)(tail - start);
    }

    /// <summary>The consumer has nothing to do: sleep until a batch is published or a short timeout.</summary>
    public void Sleep()
    {
        Volatile.Write(ref indexes.ConsumerAsleep, 1);
        Interlocked.MemoryBarrier();
        // A record published before the flag was seen would wait for the timeout; check again.
        if (Volatile.Read(ref indexes.Head) == indexes.Tail)
            wake.Wait(TimeSpan.FromMilliseconds(1));
        Volatile.Write(ref indexes.ConsumerAsleep, 0);
    }
}
