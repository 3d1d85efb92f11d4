using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// A tmpfs's size= and nr_inodes= limits, counted as Linux's shmem counts them. Blocks are the
/// pages the files' memfds hold (a file unlinked while open keeps its pages until its last
/// close); a write stops at the first page that no longer fits (a short count, or ENOSPC when not
/// one byte fits), fallocate is all or nothing, and ftruncate never allocates. Inodes are one per
/// object and one more per extra hard link, as shmem reserves one for every name.
/// </summary>
public sealed partial class TmpFs
{
    private const long PageSize = 4096;
    private const int SeekData = 3, SeekHole = 4;

    /// <summary>Regular files whose pages count: named, or unnamed and still open.</summary>
    private readonly HashSet<TmpNode> holding = [];
    private long inodesUsed;

    /// <summary>The nr_inodes= option; null when unlimited.</summary>
    public long? InodeLimit { get; }

    private long? MaximumPages => SizeLimit is { } bytes ? (bytes + PageSize - 1) / PageSize : null;

    /// <summary>Reserves an inode for a new object or name; false when nr_inodes are used up (ENOSPC).</summary>
    private bool TakeInode()
    {
        if (InodeLimit is { } limit && inodesUsed >= limit)
            return false;
        inodesUsed++;
        return true;
    }

    private void ReleaseInode() => inodesUsed = Math.Max(0, inodesUsed - 1);

    /// <summary>A regular file got its memfd: its pages count from now on.</summary>
    internal void Holds(TmpNode node)
    {
        lock (gate)
            holding.Add(node);
    }

    /// <summary>An open file of <paramref name="node"/> closed: an unlinked file's pages and inode are free at its last close.</summary>
    internal void Closed(TmpNode node)
    {
        lock (gate)
        {
            if (--node.Opens == 0 && node.LinkCount == 0)
                Forget(node);
        }
    }

    private void Forget(TmpNode node)
    {
        holding.Remove(node);
        ReleaseInode();
    }

    /// <summary>A name of <paramref name="node"/> is gone (unlink, rmdir, rename over it).</summary>
    private void Unlinked(TmpNode node)
    {
        node.LinkCount = node.IsDirectory ? 0 : node.LinkCount - 1;
        node.ChangeTime = Now();
        if (node.LinkCount > 0)
            ReleaseInode(); // the extra name's reservation
        else if (!node.IsRegular)
            ReleaseInode();
        else if (node.Opens == 0)
            Forget(node);
    }

    private long UsedPages()
    {
        long pages = 0;
        lock (gate)
        {
            foreach (var node in holding)
            {
                if (HostFs.StatusOf(node.Memory, out var status) == Errno.None)
                    pages += status.Blocks * 512 / PageSize;
            }
        }
        return pages;
    }

    /// <summary>How many of <paramref name="count"/> bytes written at <paramref name="position"/> fit: up to the first page that cannot be had.</summary>
    internal long WritableBytes(TmpNode node, long position, long count)
    {
        if (MaximumPages is not { } maximum || count <= 0)
            return count;
        var free = maximum - UsedPages();
        var end = position + count;
        foreach (var (start, pages) in Holes(node, position, end))
        {
            if (pages > free)
                return Math.Clamp(start + (free * PageSize) - position, 0, count);
            free -= pages;
        }
        return count;
    }

    /// <summary>fallocate's check: every missing page of the range fits, or none is allocated.</summary>
    internal bool RoomFor(TmpNode node, long offset, long length)
    {
        if (MaximumPages is not { } maximum)
            return true;
        var missing = Holes(node, offset, offset + length).Sum(hole => hole.Pages);
        return missing <= maximum - UsedPages();
    }

    /// <summary>The runs of pages in [<paramref name="start"/>, <paramref name="end"/>) that hold no data yet.</summary>
    private static IEnumerable<(long Start, long Pages)> Holes(TmpNode node, long start, long end)
    {
        if (HostFs.StatusOf(node.Memory, out var status) is not Errno.None)
            yield break;
        var size = status.Size;
        var cursor = start & ~(PageSize - 1);
        while (cursor < end)
        {
            var hole = cursor >= size ? cursor : HostSyscall.Invoke(HostSyscall.Lseek, node.Memory, cursor, SeekHole);
            hole = hole < 0 ? cursor : RoundUp(hole); // a hole inside a tmpfs file starts on a page; the one at its end may not
            if (hole >= end)
                yield break;
            var data = hole >= size ? -1 : HostSyscall.Invoke(HostSyscall.Lseek, node.Memory, hole, SeekData);
            var holeEnd = data < 0 ? end : Math.Min(data, end);
            yield return (hole, (RoundUp(holeEnd) - hole) / PageSize);
            cursor = data < 0 ? end : data;
        }
    }

    private static long RoundUp(long offset) => (offset + PageSize - 1) & ~(PageSize - 1);

    /// <summary>statfs's block and inode counts.</summary>
    private (long Total, long Free, long Files, long FreeFiles) Space()
    {
        var total = MaximumPages ?? Math.Max(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2, PageSize) / PageSize;
        var files = InodeLimit ?? total;
        lock (gate)
            return (total, Math.Max(0, total - UsedPages()), files, Math.Max(0, files - inodesUsed));
    }
}
