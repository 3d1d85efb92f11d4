using Trapeze.Cpu;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Loader;

/// <summary>Where an ELF image landed.</summary>
public readonly record struct LoadedImage(ulong Bias, ulong Entry, ulong ProgramHeaders, ulong End);

/// <summary>Maps the PT_LOAD segments of an ELF image into an address space.</summary>
public static class ElfLoader
{
    /// <summary>Where Linux puts a position-independent main program when ASLR is off.</summary>
    public const ulong ProgramBase = 0x5555_5555_4000;

    public static LoadedImage Load(ElfImage image, GuestMemory memory, ulong bias, string name)
    {
        var space = memory.Space;
        // Segments may share a page (text end and data start): a page gets the union of their rights.
        var pages = new SortedDictionary<ulong, MemoryProtection>();
        foreach (var segment in image.Segments)
        {
            var start = AddressSpace.PageDown(segment.VirtualAddress + bias);
            var end = AddressSpace.PageUp(segment.VirtualAddress + bias + segment.MemorySize);
            for (var page = start; page < end; page += AddressSpace.PageSize)
                pages[page] = pages.GetValueOrDefault(page) | segment.Protection;
        }
        ulong runStart = 0, runEnd = 0;
        var runProtection = MemoryProtection.None;
        foreach (var (page, protection) in pages)
        {
            if (page == runEnd && protection == runProtection)
            {
                runEnd += AddressSpace.PageSize;
                continue;
            }
            if (runEnd > runStart)
                MapOrFail(space, runStart, runEnd - runStart, runProtection, name, FileOffsetOf(image, runStart - bias));
            (runStart, runEnd, runProtection) = (page, page + AddressSpace.PageSize, protection);
        }
        MapOrFail(space, runStart, runEnd - runStart, runProtection, name, FileOffsetOf(image, runStart - bias));

        foreach (var segment in image.Segments)
            memory.Poke(segment.VirtualAddress + bias, image.Data.AsSpan((int)segment.FileOffset, (int)segment.FileSize));

        return new LoadedImage(bias, image.Entry + bias, ProgramHeadersAddress(image) + bias, runEnd);
    }

    /// <summary>Where the program headers sit in memory: PT_PHDR, else inside the segment that maps e_phoff.</summary>
    private static ulong ProgramHeadersAddress(ElfImage image)
    {
        if (image.ProgramHeaderAddress is { } address)
            return address;
        foreach (var segment in image.Segments)
        {
            if (image.ProgramHeaderOffset >= segment.FileOffset && image.ProgramHeaderOffset < segment.FileOffset + segment.FileSize)
                return segment.VirtualAddress + (image.ProgramHeaderOffset - segment.FileOffset);
        }
        return 0;
    }

    internal static Mapping MapOrFail(AddressSpace space, ulong start, ulong length, MemoryProtection protection, string name, ulong fileOffset = 0)
        => space.Map(start, length, protection, name, fileOffset)
            ?? throw new ExecutableFormatException($"{name}: out of memory mapping 0x{length:x} bytes at 0x{start:x}");

    private static ulong FileOffsetOf(ElfImage image, ulong virtualAddress)
    {
        foreach (var segment in image.Segments)
        {
            if (virtualAddress >= AddressSpace.PageDown(segment.VirtualAddress) && virtualAddress < segment.VirtualAddress + segment.MemorySize)
                return AddressSpace.PageDown(segment.FileOffset) + (virtualAddress - AddressSpace.PageDown(segment.VirtualAddress));
        }
        return 0;
    }
}
