using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Tasks;

/// <summary>A thread sleeping in FUTEX_WAIT: woken by FUTEX_WAKE (or moved by a requeue).</summary>
public sealed class FutexWaiter(GuestThread thread, nint key, uint bitset)
{
    public GuestThread Thread { get; } = thread;
    public nint Key { get; internal set; } = key;
    public uint Bitset { get; } = bitset;
    public bool Woken { get; internal set; }
    public WaitQueue Queue { get; } = new();
    public long Deadline { get; internal set; } = Syscalls.Wait.NoDeadline;
}

/// <summary>
/// The kernel's futex waiters, keyed by the host address of the futex word: private and shared
/// futexes alike, since a MAP_SHARED word has one host address in every process that maps it.
/// </summary>
public sealed class FutexTable
{
    private readonly Dictionary<nint, List<FutexWaiter>> waiters = [];

    public FutexWaiter Enqueue(GuestThread thread, nint key, uint bitset)
    {
        var waiter = new FutexWaiter(thread, key, bitset);
        if (!waiters.TryGetValue(key, out var list))
            waiters[key] = list = [];
        list.Add(waiter);
        return waiter;
    }

    public bool HasWaiters(nint key) => waiters.ContainsKey(key);

    public void Remove(FutexWaiter waiter)
    {
        if (waiters.TryGetValue(waiter.Key, out var list) && list.Remove(waiter) && list.Count == 0)
            waiters.Remove(waiter.Key);
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters on <paramref name="key"/> whose bitset meets <paramref name="bitset"/>.</summary>
    public int Wake(nint key, int count, uint bitset)
    {
        if (count <= 0 || !waiters.TryGetValue(key, out var list))
            return 0;
        var woken = 0;
        for (var i = 0; i < list.Count && woken < count;)
        {
            var waiter = list[i];
            if ((waiter.Bitset & bitset) == 0)
            {
                i++;
                continue;
            }
            list.RemoveAt(i);
            waiter.Woken = true;
            waiter.Queue.Notify();
            woken++;
        }
        if (list.Count == 0)
            waiters.Remove(key);
        return woken;
    }

    public int Wake(Process process, GuestAddress address, int count, uint bitset)
        => process.Memory.HostAddress(address, out var key) == Errno.None ? Wake(key, count, bitset) : 0;

    /// <summary>Wakes <paramref name="wakeCount"/> waiters of <paramref name="from"/> and moves up to <paramref name="requeueCount"/> more to <paramref name="to"/>.</summary>
    public int Requeue(nint from, nint to, int wakeCount, int requeueCount)
    {
        var woken = Wake(from, wakeCount, uint.MaxValue);
        if (requeueCount <= 0 || !waiters.TryGetValue(from, out var list))
            return woken;
        var moved = list.Take(requeueCount).ToList();
        foreach (var waiter in moved)
        {
            list.Remove(waiter);
            waiter.Key = to;
            if (!waiters.TryGetValue(to, out var target))
                waiters[to] = target = [];
            target.Add(waiter);
        }
        if (list.Count == 0)
            waiters.Remove(from);
        return woken + moved.Count;
    }

    /// <summary>
    /// A thread died: every robust mutex it still holds (its set_robust_list list) gets
    /// FUTEX_OWNER_DIED and one waiter woken, so the next locker sees EOWNERDEAD.
    /// </summary>
    public void ReleaseRobustList(GuestThread thread)
    {
        const uint OwnerDied = 0x40000000, Waiters = 0x80000000, ThreadIdMask = 0x3fffffff;
        const int MostEntries = 2048; // ROBUST_LIST_LIMIT
        var memory = thread.Memory;
        var head = thread.RobustList;
        if (head.IsNull || memory.Read(head, out ulong first) != Errno.None
            || memory.Read(head + 8UL, out long offset) != Errno.None || memory.Read(head + 16UL, out ulong pending) != Errno.None)
            return;
        void Release(ulong entry)
        {
            var word = new GuestAddress((ulong)((long)(entry & ~1UL) + offset));
            if (memory.Read(word, out uint value) != Errno.None || (value & ThreadIdMask) != (uint)thread.Id)
                return;
            memory.Write(word, (value & Waiters) | OwnerDied);
            Wake(thread.Process, word, 1, uint.MaxValue);
        }
        var cursor = first;
        for (var count = 0; cursor != head.Value && count < MostEntries; count++)
        {
            var entry = cursor;
            if (memory.Read(new GuestAddress(entry & ~1UL), out cursor) != Errno.None)
                break;
            if (entry != pending)
                Release(entry);
        }
        if (pending != 0)
            Release(pending);
    }
}
