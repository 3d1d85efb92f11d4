using Trapeze.Cpu;
using Trapeze.Kernel.Host;

namespace Trapeze.Kernel.Memory;

/// <summary>
/// Host memory Trapeze owns that backs guest pages. Mappings name a piece of one; several mappings
/// (the slices of a split, or the processes sharing a MAP_SHARED region) hold references to it.
/// </summary>
public sealed class MemoryObject
{
    private int references = 1;

    private MemoryObject(nint host, ulong length, bool shared, bool writable = true, int descriptor = -1, long descriptorOffset = 0)
    {
        Host = host;
        Length = length;
        Shared = shared;
        Writable = writable;
        Descriptor = descriptor;
        DescriptorOffset = descriptorOffset;
    }

    public nint Host { get; }
    public ulong Length { get; }

    /// <summary>The host file (a memfd, or the mapped file) whose pages these are, at <see cref="DescriptorOffset"/>; -1 for anonymous host memory.</summary>
    public int Descriptor { get; }
    public long DescriptorOffset { get; }

    /// <summary>Where a platform that maps by descriptor finds the pages at <paramref name="offset"/> in this object.</summary>
    public Trapeze.Cpu.HostPages PagesAt(ulong offset) => new(Descriptor, DescriptorOffset + (long)offset, Writable);

    /// <summary>MAP_SHARED: a fork keeps one copy for both processes; private memory is copied.</summary>
    public bool Shared { get; }

    /// <summary>
    /// Fresh zeroed memory, or null when the host has none. Shared memory, and all memory of a
    /// platform that maps by descriptor (<paramref name="asFile"/>), is a memfd's pages.
    /// </summary>
    public static MemoryObject? Allocate(ulong length, bool shared, bool asFile = false)
    {
        if (!shared && !asFile)
            return HostMemory.Allocate(length, shared) is var host and not 0 ? new MemoryObject(host, length, shared) : null;
        return HostMemory.AllocateFile(length, out var descriptor) is var pages and not 0 ? new MemoryObject(pages, length, shared, descriptor: descriptor) : null;
    }

    /// <summary>False for a shared mapping of a file not open for writing: the guest may never make it writable.</summary>
    public bool Writable { get; }

    /// <summary>Host pages that are a host file's, shared (MAP_SHARED); null with the host's error.</summary>
    public static MemoryObject? MapFile(int descriptor, ulong length, long offset, bool writable, out Errno error)
    {
        var host = HostMemory.MapFile(descriptor, length, offset, writable, out error);
        if (host == 0)
            return null;
        // The file itself, for a platform that maps it into another process (past its end, SIGBUS there as on Linux).
        var own = (int)HostSyscall.Invoke(HostSyscall.Fcntl, descriptor, 1030 /* F_DUPFD_CLOEXEC */, 3);
        return new MemoryObject(host, length, shared: true, writable, own, offset);
    }

    /// <summary>Gives pages of a private object back to the host; they read as zero afterwards.</summary>
    internal void Discard(ulong offset, ulong length)
    {
        if (Descriptor < 0)
            HostMemory.Discard(Host + (nint)offset, length);
        else
            HostMemory.PunchHole(Descriptor, DescriptorOffset + (long)offset, length);
    }

    /// <summary>
    /// For a mapping of a file: where (an offset in this object) the pages past the end of the file
    /// begin. A guest touching them gets SIGBUS, as from Linux; null when every page is the file's.
    /// </summary>
    public ulong? FileEnd { get; private set; }

    // The file behind FileEnd (a host descriptor of Trapeze's own), asked again at each such fault: it may have grown.
    private int file = -1;
    private long fileOffset;

    /// <summary>Notes where <paramref name="descriptor"/>'s file ends in this object (mapped from <paramref name="offset"/>).</summary>
    internal void TrackFileEnd(int descriptor, long offset)
    {
        fileOffset = offset;
        if (HostMemory.FileSize(descriptor) is var size && (size < 0 || FileEndOf(size) >= Length))
            return;
        file = (int)HostSyscall.Invoke(HostSyscall.Fcntl, descriptor, (long)Abi.Linux.FcntlCommand.F_DUPFD_CLOEXEC, 3);
        FileEnd = FileEndOf(HostMemory.FileSize(descriptor));
    }

    /// <summary>A fork's private copy of this object keeps its end of file.</summary>
    internal void TrackFileEndOf(MemoryObject source)
    {
        if (source.file >= 0)
            TrackFileEnd(source.file, source.fileOffset);
    }

    /// <summary>
    /// The file grew: its new pages join the mapping (the file's own pages when shared, a copy when
    /// private, as this object's pages were filled at mmap).
    /// </summary>
    internal void FollowFile()
    {
        if (FileEnd is not { } end || FileEndOf(HostMemory.FileSize(file)) is var grown && grown <= end)
            return;
        if (Shared)
            HostMemory.MapFileOver(Host + (nint)end, grown - end, file, fileOffset + (long)end, Writable);
        else
            HostMemory.ReadFile(Host + (nint)end, grown - end, file, fileOffset + (long)end);
        FileEnd = grown < Length ? grown : null;
        if (FileEnd is null)
            CloseFile();
    }

    private ulong FileEndOf(long size)
        => size < 0 || size <= fileOffset ? 0 : Math.Min(Length, ((ulong)(size - fileOffset) + AddressSpace.PageSize - 1) & ~(AddressSpace.PageSize - 1));

    private void CloseFile()
    {
        if (file >= 0)
            HostSyscall.Invoke(HostSyscall.Close, file);
        file = -1;
    }

    internal MemoryObject AddReference()
    {
        references++;
        return this;
    }

    internal void Release()
    {
        if (--references != 0)
            return;
        CloseFile();
        HostMemory.Release(Host, Length);
        if (Descriptor >= 0)
            HostSyscall.Invoke(HostSyscall.Close, Descriptor);
    }
}

/// <summary>What a fault past the end of a mapped file comes to.</summary>
public enum FileFault
{
    /// <summary>Not such a fault: the guest's SIGSEGV.</summary>
    None,

    /// <summary>The file has grown over the page since: the access is tried again.</summary>
    Grown,

    /// <summary>The page is past the end of the file: SIGBUS with BUS_ADRERR.</summary>
    PastEnd,
}

/// <summary>One mapped range of guest memory: a piece of a <see cref="MemoryObject"/>.</summary>
public sealed class Mapping(ulong start, ulong end, MemoryProtection protection, MemoryObject memory, ulong objectOffset, string name)
{
    public ulong Start { get; } = start;
    public ulong End { get; } = end;
    public ulong Length => End - Start;
    public MemoryProtection Protection { get; internal set; } = protection;
    public MemoryObject Object { get; } = memory;
    public ulong ObjectOffset { get; } = objectOffset;
    public nint Host => Object.Host + (nint)ObjectOffset;
    public bool Shared => Object.Shared;

    /// <summary>What /proc/self/maps shows in its last column: a path, [heap], [stack], or nothing.</summary>
    public string Name { get; } = name;

    /// <summary>Offset in <see cref="Name"/>'s file of <see cref="Start"/>, for file mappings.</summary>
    public ulong FileOffset { get; init; }

    public bool Contains(ulong address) => address >= Start && address < End;

    /// <summary>The first address of this mapping past the end of its file (the guest's SIGBUS); null when there is none.</summary>
    public ulong? PastEndOfFile
        => Object.FileEnd is { } end && end < ObjectOffset + Length ? Start + (Math.Max(end, ObjectOffset) - ObjectOffset) : null;

    internal Mapping Slice(ulong start, ulong end) => new(start, end, Protection, Object.AddReference(), ObjectOffset + (start - Start), Name)
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

    /// <summary>Bytes of [start, end) that are mapped: a mapping placed over them does not grow the space.</summary>
    public ulong MappedWithin(ulong start, ulong end)
    {
        ulong total = 0;
        for (var index = IndexAtOrAfter(start); index < mappings.Count && mappings[index].Start < end; index++)
            total += Math.Min(end, mappings[index].End) - Math.Max(start, mappings[index].Start);
        return total;
    }

    /// <summary>
    /// may_expand_vm: whether mapping [start, start+length) keeps the whole space within
    /// <paramref name="limit"/> bytes (RLIMIT_AS); what is mapped there already is counted once.
    /// </summary>
    public bool MayGrow(ulong start, ulong length, ulong limit)
    {
        if (limit == ulong.MaxValue)
            return true;
        var growth = length - MappedWithin(start, start + length);
        var mapped = MappedWithin(0, ulong.MaxValue);
        return mapped <= limit && growth <= limit - mapped;
    }

    /// <summary>The CPU maps guest memory from host files (the native platform): every object is a memfd's pages.</summary>
    public bool MapsByDescriptor => cpu.MapsByDescriptor;

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
    public Mapping? Map(ulong start, ulong length, MemoryProtection protection, string name, ulong fileOffset = 0, bool shared = false)
    {
        length = PageUp(length);
        return MemoryObject.Allocate(length, shared, cpu.MapsByDescriptor) is { } memory ? Map(start, memory, protection, name, fileOffset) : null;
    }

    /// <summary>Maps all of <paramref name="memory"/> (which this space now owns) at <paramref name="start"/>, replacing whatever was there.</summary>
    public Mapping Map(ulong start, MemoryObject memory, MemoryProtection protection, string name, ulong fileOffset)
        => Place(start, memory.Length, protection, memory, name, fileOffset);

    /// <summary>Maps <paramref name="memory"/> (shared memory, shmat) at [start, start+length), replacing whatever was there.</summary>
    public Mapping MapObject(ulong start, ulong length, MemoryProtection protection, MemoryObject memory, string name)
        => Place(start, PageUp(length), protection, memory.AddReference(), name, 0);

    private Mapping Place(ulong start, ulong length, MemoryProtection protection, MemoryObject owned, string name, ulong fileOffset)
    {
        Unmap(start, length);
        var mapping = new Mapping(start, start + length, protection, owned, 0, name) { FileOffset = fileOffset };
        Insert(mapping);
        return mapping;
    }

    /// <summary>
    /// Fills <paramref name="child"/> (empty) with this space's mappings as fork leaves them: shared
    /// memory stays one object, private memory is copied.
    /// </summary>
    public bool CopyInto(AddressSpace child)
    {
        child.MmapBase = MmapBase;
        foreach (var mapping in mappings)
        {
            MemoryObject memory;
            ulong offset;
            if (mapping.Shared)
            {
                memory = mapping.Object.AddReference();
                offset = mapping.ObjectOffset;
            }
            else
            {
                if (MemoryObject.Allocate(mapping.Length, shared: false, child.MapsByDescriptor) is not { } copy)
                    return false;
                HostMemory.CopyTouched(mapping.Host, copy.Host, mapping.Length);
                copy.TrackFileEndOf(mapping.Object);
                memory = copy;
                offset = 0;
            }
            child.Insert(new Mapping(mapping.Start, mapping.End, mapping.Protection, memory, offset, mapping.Name) { FileOffset = mapping.FileOffset });
        }
        return true;
    }

    /// <summary>
    /// A private copy of every mapping (shared ones too), kept apart from any CPU: a replay's
    /// checkpoint. Null when the host has no memory for it.
    /// </summary>
    public SavedSpace? Save()
    {
        var saved = new List<Mapping>(mappings.Count);
        foreach (var mapping in mappings)
        {
            if (MemoryObject.Allocate(mapping.Length, shared: false) is not { } copy)
            {
                new SavedSpace(saved, MmapBase).Dispose();
                return null;
            }
            HostMemory.CopyTouched(mapping.Host, copy.Host, mapping.Length);
            saved.Add(new Mapping(mapping.Start, mapping.End, mapping.Protection, copy, 0, mapping.Name) { FileOffset = mapping.FileOffset });
        }
        return new SavedSpace(saved, MmapBase);
    }

    /// <summary>Makes this space what <paramref name="saved"/> kept (which stays as it is, for another time); false when the host has no memory.</summary>
    public bool Restore(SavedSpace saved)
    {
        Clear();
        MmapBase = saved.MmapBase;
        foreach (var mapping in saved.Mappings)
        {
            if (MemoryObject.Allocate(mapping.Length, shared: false, cpu.MapsByDescriptor) is not { } copy)
                return false;
            HostMemory.CopyTouched(mapping.Host, copy.Host, mapping.Length);
            Insert(new Mapping(mapping.Start, mapping.End, mapping.Protection, copy, 0, mapping.Name) { FileOffset = mapping.FileOffset });
        }
        cpu.FlushTranslations();
        return true;
    }

    /// <summary>Removes every mapping (execve).</summary>
    public void Clear()
    {
        if (mappings.Count > 0)
            Unmap(mappings[0].Start, mappings[^1].End - mappings[0].Start);
        HoldsSharedMemory = false;
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
            if (!mapping.Shared)
                mapping.Object.Discard(mapping.ObjectOffset, mapping.Length);
            mapping.Object.Release();
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
            mapping.Protection = protection;
            ApplyProtection(mapping);
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

    /// <summary>[start, end) meets addresses the platform keeps for itself (the native platform's stub).</summary>
    public bool IsReserved(ulong start, ulong end) => cpu.ReservedRange is { } reserved && start < reserved.End && end > reserved.Start;

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
        return candidate >= MinimumAddress && !IsReserved(candidate, candidate + length) ? candidate : null;
    }

    public void Dispose()
    {
        foreach (var mapping in mappings)
            mapping.Object.Release();
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

    private void Insert(Mapping mapping, bool mapInCpu = true)
    {
        if (mapInCpu)
        {
            if (mapping.Object.Descriptor >= 0)
                cpu.MapMemory(mapping.Start, mapping.Length, mapping.Protection, mapping.Host, mapping.Object.PagesAt(mapping.ObjectOffset));
            else
                cpu.MapMemory(mapping.Start, mapping.Length, mapping.Protection, mapping.Host);
            if (mapping.PastEndOfFile is { } boundary)
                cpu.ProtectMemory(boundary, mapping.End - boundary, MemoryProtection.None);
        }
        mappings.Insert(IndexAtOrAfter(mapping.Start), mapping);
        HoldsSharedMemory |= mapping.Shared;
    }

    /// <summary>A MAP_SHARED mapping (or System V segment) was placed here since the last exec: another process's guest code may use the same pages.</summary>
    public bool HoldsSharedMemory { get; private set; }

    /// <summary>Gives the CPU the mapping's protections again, its pages past the end of its file out of reach.</summary>
    private void ApplyProtection(Mapping mapping)
    {
        cpu.ProtectMemory(mapping.Start, mapping.Length, mapping.Protection);
        if (mapping.PastEndOfFile is { } boundary)
            cpu.ProtectMemory(boundary, mapping.End - boundary, MemoryProtection.None);
    }

    /// <summary>
    /// Notes where a file mapped at <paramref name="mapping"/> (from <paramref name="offset"/>) ends:
    /// pages past it fault with SIGBUS.
    /// </summary>
    public void TrackFileEnd(Mapping mapping, int hostDescriptor, long offset)
    {
        mapping.Object.TrackFileEnd(hostDescriptor, offset);
        if (mapping.PastEndOfFile is not null)
            ApplyProtection(mapping);
    }

    /// <summary>
    /// A fault the guest's protections allow at <paramref name="address"/>: past the end of a mapped
    /// file (Linux's SIGBUS), or a page the file has grown over since (the access is retried).
    /// </summary>
    public FileFault FaultPastEndOfFile(ulong address, bool write)
    {
        if (Find(address) is not { PastEndOfFile: { } boundary } mapping || address < boundary
            || (mapping.Protection & (write ? MemoryProtection.Write : MemoryProtection.Read)) == 0)
            return FileFault.None;
        var memory = mapping.Object;
        memory.FollowFile();
        foreach (var other in mappings)
        {
            if (other.Object == memory)
                ApplyProtection(other);
        }
        return mapping.PastEndOfFile is { } now && address >= now ? FileFault.PastEnd : FileFault.Grown;
    }

    /// <summary>Makes <paramref name="address"/> a boundary between mappings, if it falls inside one.</summary>
    private void SplitAt(ulong address)
    {
        var index = IndexAtOrAfter(address);
        if (index >= mappings.Count || mappings[index].Start >= address)
            return;
        var mapping = mappings[index];
        // Pages mapped by descriptor stay where they are: the two halves map the same pages, and
        // other threads running guest code meanwhile never see a hole.
        var remap = !cpu.MapsByDescriptor;
        if (remap)
            cpu.UnmapMemory(mapping.Start, mapping.Length);
        mappings.RemoveAt(index);
        Insert(mapping.Slice(mapping.Start, address), remap);
        Insert(mapping.Slice(address, mapping.End), remap);
        mapping.Object.Release();
    }
}

/// <summary>An address space as <see cref="AddressSpace.Save"/> kept it.</summary>
public sealed class SavedSpace(IReadOnlyList<Mapping> mappings, ulong mmapBase) : IDisposable
{
    public IReadOnlyList<Mapping> Mappings => mappings;
    public ulong MmapBase => mmapBase;

    public void Dispose()
    {
        foreach (var mapping in mappings)
            mapping.Object.Release();
    }
}
