using Trapeze.Cpu;
using Trapeze.Kernel.Host;

namespace Trapeze.Kernel.Memory;

/// <summary>One mapped range of guest memory, backed by host pages Trapeze owns.</summary>
public sealed class Mapping(ulong start, ulong end, MemoryProtection protection, nint host, string name)
{
    public ulong Start { get; } = start;
    public ulong End { get; } = end;
    public ulong Length => End - Start;
    public MemoryProtection Protection { get; internal set; } = protection;
    public nint Host { get; } = host;

    /// <summary>What /proc/self/maps shows in its last column: a path, [heap], [stack], or nothing.</summary>
    public string Name { get; } = name;

    /// <summary>Offset in <see cref="Name"/>'s file of <see cref="Start"/>, for file mappings.</summary>
    public ulong FileOffset { get; init; }

    public bool Contains(ulong address) => address >= Start && address < End;

    internal Mapping Slice(ulong start, ulong end) => new(start, end, Protection, Host + (nint)(start - Start), Name)
    {
        FileOffset = FileOffset + (start - Start),
    };
}

/// <summary>
/// The guest's virtual memory: a sorted set of non-overlapping <see cref="Mapping"/>s, each mapped
/// into the CPU as one region over host memory. Partial unmaps and protection changes split mappings
/// here, so the CPU only ever maps or unmaps whole regions.
/// </summary>
public sealed class AddressSpace(ICpu cpu) : IDisposable
{
    public const ulong PageSize = 4096;

    /// <summary>The lowest address mmap hands out or accepts (vm.mmap_min_addr).</summary>
    public const ulong MinimumAddress = 0x10000;

    /// <summary>The top of user space on x86-64 with 4-level paging.</summary>
    public const ulong UserTop = 0x7fff_ffff_f000;

    private readonly List<Mapping> mappings = [];

    /// <summary>
    /// The largest single mapping: Linux's heuristic overcommit refuses one larger than memory,
    /// and host pages this size could not be mapped into the CPU in reasonable time anyway.
    /// </summary>
    public static ulong MaximumMapping => (ulong)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Where top-down mmap placement starts; below the stack's reserved area.</summary>
    public ulong MmapBase { get; set; } = 0x7fff_f7ff_f000;

    public IReadOnlyList<Mapping> Mappings => mappings;

    public static ulong PageDown(ulong value) => value & ~(PageSize - 1);
    public static ulong PageUp(ulong value) => (value + PageSize - 1) & ~(PageSize - 1);

    public Mapping? Find(ulong address)
    {
        var index = IndexAtOrAfter(address);
        return index < mappings.Count && mappings[index].Contains(address) ? mappings[index] : null;
    }

    /// <summary>
    /// Maps fresh zeroed pages at [start, start+length), replacing whatever was there;
    /// null (and nothing changed) when the host has no memory for them.
    /// </summary>
    public Mapping? Map(ulong start, ulong length, MemoryProtection protection, string name, ulong fileOffset = 0)
    {
        length = PageUp(length);
        var host = HostMemory.Allocate(length);
        if (host == 0)
            return null;
        Unmap(start, length);
        var mapping = new Mapping(start, start + length, protection, host, name) { FileOffset = fileOffset };
        Insert(mapping);
        return mapping;
    }

    /// <summary>Removes every page in [start, start+length); holes are fine, as with munmap.</summary>
    public void Unmap(ulong start, ulong length)
    {
        var end = start + PageUp(length);
        SplitAt(start);
        SplitAt(end);
        var index = IndexAtOrAfter(start);
        while (index < mappings.Count && mappings[index].Start < end)
        {
            var mapping = mappings[index];
            cpu.UnmapMemory(mapping.Start, mapping.Length);
            HostMemory.Release(mapping.Host, mapping.Length);
            mappings.RemoveAt(index);
        }
    }

    /// <summary>Changes protections of [start, start+length); false if part of it is not mapped.</summary>
    public bool Protect(ulong start, ulong length, MemoryProtection protection)
    {
        var end = start + PageUp(length);
        if (!IsFullyMapped(start, end))
            return false;
        SplitAt(start);
        SplitAt(end);
        for (var index = IndexAtOrAfter(start); index < mappings.Count && mappings[index].Start < end; index++)
        {
            var mapping = mappings[index];
            if (mapping.Protection == protection)
                continue;
            cpu.ProtectMemory(mapping.Start, mapping.Length, protection);
            mapping.Protection = protection;
        }
        return true;
    }

    public bool IsFullyMapped(ulong start, ulong end)
    {
        var cursor = start;
        for (var index = IndexAtOrAfter(start); index < mappings.Count && cursor < end; index++)
        {
            if (mappings[index].Start > cursor)
                return false;
            cursor = mappings[index].End;
        }
        return cursor >= end;
    }

    public bool IsFree(ulong start, ulong end)
    {
        var index = IndexAtOrAfter(start);
        return index >= mappings.Count || mappings[index].Start >= end;
    }

    /// <summary>Finds a free range of <paramref name="length"/> bytes, top-down from <see cref="MmapBase"/>.</summary>
    public ulong? FindFree(ulong length)
    {
        length = PageUp(length);
        if (length > MmapBase)
            return null;
        var candidate = MmapBase - length;
        for (var index = mappings.Count - 1; index >= 0; index--)
        {
            var mapping = mappings[index];
            if (mapping.Start >= candidate + length)
                continue;
            if (mapping.End <= candidate)
                break;
            if (mapping.Start < MinimumAddress + length)
                return null;
            candidate = mapping.Start - length;
        }
        return candidate >= MinimumAddress ? candidate : null;
    }

    public void Dispose()
    {
        foreach (var mapping in mappings)
            HostMemory.Release(mapping.Host, mapping.Length);
        mappings.Clear();
    }

    /// <summary>Index of the first mapping whose end lies above <paramref name="address"/>.</summary>
    private int IndexAtOrAfter(ulong address)
    {
        int low = 0, high = mappings.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (mappings[middle].End <= address)
                low = middle + 1;
            else
                high = middle;
        }
        return low;
    }

    private void Insert(Mapping mapping)
    {
        cpu.MapMemory(mapping.Start, mapping.Length, mapping.Protection, mapping.Host);
        mappings.Insert(IndexAtOrAfter(mapping.Start), mapping);
    }

    /// <summary>Makes <paramref name="address"/> a boundary between mappings, if it falls inside one.</summary>
    private void SplitAt(ulong address)
    {
        var index = IndexAtOrAfter(address);
        if (index >= mappings.Count || mappings[index].Start >= address)
            return;
        var mapping = mappings[index];
        cpu.UnmapMemory(mapping.Start, mapping.Length);
        mappings.RemoveAt(index);
        Insert(mapping.Slice(mapping.Start, address));
        Insert(mapping.Slice(address, mapping.End));
    }
}
