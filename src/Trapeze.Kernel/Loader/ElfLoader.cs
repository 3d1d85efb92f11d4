using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Loader;

/// <summary>Where an ELF image landed.</summary>
public readonly record struct LoadedImage(ulong Bias, ulong Entry, ulong ProgramHeaders, ulong End);

/// <summary>Maps the PT_LOAD segments of an ELF image into an address space.</summary>
internal static class ElfLoader
{
    /// <summary>Where Linux puts a position-independent main program when ASLR is off.</summary>
    public const ulong ProgramBase = 0x5555_5555_4000;

    /// <summary>Segment contents are copied through a buffer this size, so a huge segment never needs a huge host array.</summary>
    private const int CopyChunk = 64 * 1024;

    /// <summary>Checks that the image fits in user space at <paramref name="bias"/> and in memory, before anything is mapped.</summary>
    public static LoadFailure? Fits(ElfImage image, ulong bias, string name, ulong userTop)
    {
        if (bias > userTop || image.End > userTop - bias)
            return new LoadFailure(Errno.EINVAL, $"{LoadFailure.Printable(name)}: segments lie outside the user address space");
        // Linux's overcommit heuristic refuses a mapping larger than memory: ENOMEM at once, not a slow death.
        if (image.End - image.Start > AddressSpace.MaximumMapping)
            return new LoadFailure(Errno.ENOMEM, $"{LoadFailure.Printable(name)}: segments span 0x{image.End - image.Start:x} bytes, more than memory");
        return null;
    }

    /// <summary>Maps and fills the segments; <paramref name="name"/> names the mappings, <paramref name="shownName"/> the file in messages.</summary>
    public static LoadFailure? Load(ElfImage image, GuestMemory memory, ulong bias, ulong userTop, string name, string shownName, out LoadedImage loaded)
    {
        loaded = default;
        if (Fits(image, bias, shownName, userTop) is { } failure)
            return failure;
        var space = memory.Space;
        ulong lastEnd = 0;
        // Segments may share a page (text end and data start): a page gets the union of their rights.
        foreach (var (start, end, protection) in PageRuns(image.Segments))
        {
            if (space.Map(start + bias, end - start, protection, name, FileOffsetOf(image, start)) is null)
                return new LoadFailure(Errno.ENOMEM, $"{LoadFailure.Printable(shownName)}: out of memory mapping 0x{end - start:x} bytes at 0x{start + bias:x}");
            lastEnd = Math.Max(lastEnd, end + bias);
        }

        var buffer = new byte[(int)Math.Min(CopyChunk, image.Segments.Max(s => s.FileSize))];
        foreach (var segment in image.Segments)
        {
            for (ulong done = 0; done < segment.FileSize;)
            {
                var piece = buffer.AsSpan(0, (int)Math.Min((ulong)buffer.Length, segment.FileSize - done));
                if (!image.File.ReadExactly(segment.FileOffset + done, piece))
                    return new LoadFailure(Errno.EIO, $"{LoadFailure.Printable(shownName)}: cannot read segment at file offset 0x{segment.FileOffset + done:x}");
                memory.Poke(segment.VirtualAddress + bias + done, piece);
                done += (ulong)piece.Length;
            }
        }

        loaded = new LoadedImage(bias, image.Entry + bias, ProgramHeadersAddress(image) + bias, lastEnd);
        return null;
    }

    /// <summary>
    /// The page runs to map: [start, end) with the union of the rights of the segments over each
    /// page, adjacent runs of equal rights merged. Works on segment boundaries, never on single
    /// pages, so a segment of 2^46 bytes costs as little as one of a page.
    /// </summary>
    internal static List<(ulong Start, ulong End, MemoryProtection Protection)> PageRuns(IReadOnlyList<ProgramSegment> segments)
    {
        var cuts = new SortedSet<ulong>();
        foreach (var segment in segments)
        {
            cuts.Add(AddressSpace.PageDown(segment.VirtualAddress));
            cuts.Add(AddressSpace.PageUp(segment.End));
        }
        var runs = new List<(ulong Start, ulong End, MemoryProtection Protection)>();
        ulong? previous = null;
        foreach (var cut in cuts)
        {
            if (previous is { } start)
            {
                MemoryProtection? protection = null;
                foreach (var segment in segments)
                {
                    if (AddressSpace.PageDown(segment.VirtualAddress) < cut && AddressSpace.PageUp(segment.End) > start)
                        protection = (protection ?? MemoryProtection.None) | segment.Protection;
                }
                if (protection is { } rights)
                {
                    if (runs.Count > 0 && runs[^1].End == start && runs[^1].Protection == rights)
                        runs[^1] = (runs[^1].Start, cut, rights);
                    else
                        runs.Add((start, cut, rights));
                }
            }
            previous = cut;
        }
        return runs;
    }

    /// <summary>Where the program headers sit in memory: PT_PHDR, else inside the segment that maps e_phoff.</summary>
    private static ulong ProgramHeadersAddress(ElfImage image)
    {
        if (image.ProgramHeaderAddress is { } address)
            return address;
        foreach (var segment in image.Segments)
        {
            if (image.ProgramHeaderOffset >= segment.FileOffset && image.ProgramHeaderOffset - segment.FileOffset < segment.FileSize)
                return segment.VirtualAddress + (image.ProgramHeaderOffset - segment.FileOffset);
        }
        return 0;
    }

    private static ulong FileOffsetOf(ElfImage image, ulong virtualAddress)
    {
        foreach (var segment in image.Segments)
        {
            if (virtualAddress >= AddressSpace.PageDown(segment.VirtualAddress) && virtualAddress < segment.End)
                return AddressSpace.PageDown(segment.FileOffset) + (virtualAddress - AddressSpace.PageDown(segment.VirtualAddress));
        }
        return 0;
    }
}
