using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>The three lock families of Linux: they share one table but keep their own rules.</summary>
public enum LockFamily
{
    /// <summary>fcntl F_SETLK: owned by a descriptor table (a process), dropped when it closes any descriptor of the file.</summary>
    Posix,
    /// <summary>fcntl F_OFD_SETLK: owned by an open file description; conflicts with POSIX locks.</summary>
    OpenFile,
    /// <summary>flock: whole-file, owned by an open file description; independent of the fcntl locks.</summary>
    Flock,
}

/// <summary>
/// Advisory record locks between guest processes. Every guest runs in one host process, where
/// the host's POSIX locks could never conflict, so Trapeze keeps its own table keyed by the file's
/// (device, inode). A waiter blocks as a guest task on <see cref="Changes"/>, which every unlock
/// announces; it then tries again. Locks are Trapeze's own: processes outside it do not see them.
/// </summary>
public sealed class FileLocks
{
    public const short ReadLock = 0, WriteLock = 1, Unlock = 2; // F_RDLCK, F_WRLCK, F_UNLCK

    private sealed record Held(LockFamily Family, object Owner, short Type, long Start, long End, int ProcessId);

    private readonly Dictionary<(ulong Device, ulong Inode), List<Held>> files = [];

    /// <summary>POSIX owners waiting in F_SETLKW, and the owner each waits for (deadlock detection).</summary>
    private readonly Dictionary<object, object> waitsFor = [];

    public WaitQueue Changes { get; } = new();

    /// <summary>A lock in [start, end) (end long.MaxValue: to the end of the file) that conflicts with the one asked for, or null.</summary>
    public (short Type, long Start, long End, int ProcessId)? Conflict((ulong, ulong) file, LockFamily family, object owner, short type, long start, long end)
    {
        if (!files.TryGetValue(file, out var held))
            return null;
        foreach (var other in held)
        {
            if (!Conflicts(other, family, owner, type, start, end))
                continue;
            return (other.Type, other.Start, other.End, other.Family == LockFamily.Posix ? other.ProcessId : -1);
        }
        return null;
    }

    /// <summary>
    /// Takes (or with <see cref="Unlock"/> drops) a lock. A conflict is EAGAIN (EWOULDBLOCK for
    /// flock) unless <paramref name="wait"/>; waiting for an owner that waits for this one is EDEADLK.
    /// </summary>
    public Result Set(GuestThread thread, (ulong, ulong) file, LockFamily family, object owner, short type, long start, long end, bool wait)
    {
        waitsFor.Remove(owner);
        if (type != Unlock && Blocker(file, family, owner, type, start, end) is { } blocker)
        {
            if (!wait)
                return Errno.EAGAIN;
            if (family == LockFamily.Posix && WaitsOn(blocker.Owner, owner))
                return Errno.EDEADLK;
            if (family == LockFamily.Posix)
                waitsFor[owner] = blocker.Owner;
            var outcome = thread.Block(new Wait(Changes));
            if (outcome.Control is not Wait)
                waitsFor.Remove(owner);
            return outcome;
        }
        Replace(file, family, owner, type, start, end, thread.Process.Id);
        return 0;
    }

    /// <summary>A descriptor table closed a descriptor of <paramref name="file"/>: its POSIX locks on that file go, as close(2) says.</summary>
    public void Closed(object table, (ulong, ulong) file)
    {
        if (files.TryGetValue(file, out var held) && held.RemoveAll(lockHeld => lockHeld.Family == LockFamily.Posix && lockHeld.Owner == table) > 0)
            Changed(file, held);
    }

    /// <summary>The last descriptor of an open file description closed: its OFD and flock locks go.</summary>
    public void Released(OpenFile description, (ulong, ulong) file)
    {
        if (files.TryGetValue(file, out var held) && held.RemoveAll(lockHeld => lockHeld.Family != LockFamily.Posix && lockHeld.Owner == description) > 0)
            Changed(file, held);
    }

    /// <summary>A descriptor table is gone (its process exited): it waits for nothing any more.</summary>
    public void Forget(object table) => waitsFor.Remove(table);

    private Held? Blocker((ulong, ulong) file, LockFamily family, object owner, short type, long start, long end)
        => files.TryGetValue(file, out var held) ? held.FirstOrDefault(other => Conflicts(other, family, owner, type, start, end)) : null;

    private static bool Conflicts(Held other, LockFamily family, object owner, short type, long start, long end)
    {
        if ((other.Family == LockFamily.Flock) != (family == LockFamily.Flock))
            return false; // flock and fcntl locks do not see each other
        if (other.Owner == owner || other.Start >= end || start >= other.End)
            return false;
        return type == WriteLock || other.Type == WriteLock;
    }

    /// <summary>True when <paramref name="owner"/> waits, directly or through other waiters, for <paramref name="target"/>.</summary>
    private bool WaitsOn(object owner, object target)
    {
        var seen = new HashSet<object>();
        for (var cursor = owner; seen.Add(cursor);)
        {
            if (cursor == target)
                return true;
            if (!waitsFor.TryGetValue(cursor, out var next))
                return false;
            cursor = next;
        }
        return false;
    }

    /// <summary>The owner's locks in [start, end) become <paramref name="type"/>: parts outside stay, neighbours of the same type merge.</summary>
    private void Replace((ulong, ulong) file, LockFamily family, object owner, short type, long start, long end, int processId)
    {
        if (!files.TryGetValue(file, out var held))
            files[file] = held = [];
        // As Linux's list: each owner's locks stay together, sorted by start, where its first lock came (new owners last).
        var place = held.FindIndex(lockHeld => lockHeld.Owner == owner && lockHeld.Family == family);
        var mine = held.Where(lockHeld => lockHeld.Owner == owner && lockHeld.Family == family).ToList();
        held.RemoveAll(lockHeld => lockHeld.Owner == owner && lockHeld.Family == family);
        var kept = Reshaped(mine, type, start, end, processId, family, owner);
        held.InsertRange(place < 0 ? held.Count : Math.Min(place, held.Count), kept.OrderBy(lockHeld => lockHeld.Start));
        Changed(file, held);
    }

    /// <summary>An owner's locks on one file after [start, end) becomes <paramref name="type"/>.</summary>
    private static List<Held> Reshaped(List<Held> held, short type, long start, long end, int processId, LockFamily family, object owner)
    {
        var kept = new List<Held>();
        foreach (var mine in held.ToList())
        {
            var touches = mine.Start <= end && start <= mine.End;
            if (!touches)
                continue;
            var overlaps = mine.Start < end && start < mine.End;
            if (mine.Type == type && type != Unlock)
            {
                // Same type, overlapping or adjacent: one lock covering both.
                held.Remove(mine);
                (start, end) = (Math.Min(start, mine.Start), Math.Max(end, mine.End));
                continue;
            }
            if (!overlaps)
                continue;
            held.Remove(mine);
            if (mine.Start < start)
                kept.Add(mine with { End = start });
            if (mine.End > end)
                kept.Add(mine with { Start = end });
        }
        held.AddRange(kept);
        if (type != Unlock)
            held.Add(new Held(family, owner, type, start, end, processId));
        return held;
    }

    private void Changed((ulong, ulong) file, List<Held> held)
    {
        if (held.Count == 0)
            files.Remove(file);
        Changes.Notify();
    }
}
