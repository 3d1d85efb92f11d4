using Trapeze.Cpu;
using Trapeze.Kernel;
using Trapeze.Kernel.Memory;

namespace Trapeze.Tests.Kernel;

public sealed class AddressSpaceTests
{
    private const ulong Page = AddressSpace.PageSize;
    private const MemoryProtection ReadWrite = MemoryProtection.Read | MemoryProtection.Write;

    [Fact]
    public void PartialUnmapSplitsAndKeepsContents()
    {
        var cpu = new RecordingCpu();
        using var space = new AddressSpace(cpu);
        var memory = new GuestMemory(space);
        space.Map(0x10_0000, 4 * Page, ReadWrite, "test");
        Assert.Equal(Errno.None, memory.Write(new GuestAddress(0x10_0000 + 3 * Page), "tail"u8));

        space.Unmap(0x10_0000 + Page, Page);

        Assert.Equal([0x10_0000UL, 0x10_0000 + 2 * Page], cpu.Regions.Keys);
        Assert.Null(space.Find(0x10_0000 + Page));
        var buffer = new byte[4];
        Assert.Equal(Errno.None, memory.Read(new GuestAddress(0x10_0000 + 3 * Page), buffer));
        Assert.Equal("tail"u8.ToArray(), buffer);
    }

    [Fact]
    public void ProtectChangesOnlyTheRangeAndRejectsHoles()
    {
        var cpu = new RecordingCpu();
        using var space = new AddressSpace(cpu);
        space.Map(0x20_0000, 3 * Page, ReadWrite, "test");

        Assert.True(space.Protect(0x20_0000 + Page, Page, MemoryProtection.Read));
        Assert.Equal(ReadWrite, cpu.Regions[0x20_0000].Protection);
        Assert.Equal(MemoryProtection.Read, cpu.Regions[0x20_0000 + Page].Protection);
        Assert.Equal(ReadWrite, cpu.Regions[0x20_0000 + 2 * Page].Protection);

        Assert.False(space.Protect(0x20_0000, 5 * Page, MemoryProtection.Read));
    }

    [Fact]
    public void MapOverAnExistingRangeReplacesIt()
    {
        var cpu = new RecordingCpu();
        using var space = new AddressSpace(cpu);
        var memory = new GuestMemory(space);
        space.Map(0x30_0000, 4 * Page, ReadWrite, "old");
        Assert.Equal(Errno.None, memory.Write(new GuestAddress(0x30_0000 + Page), "x"u8));

        space.Map(0x30_0000 + Page, 2 * Page, MemoryProtection.Read, "new");

        Assert.Equal(3, cpu.Regions.Count);
        Assert.Equal("new", space.Find(0x30_0000 + Page)!.Name);
        var buffer = new byte[1];
        Assert.Equal(Errno.None, memory.Read(new GuestAddress(0x30_0000 + Page), buffer));
        Assert.Equal(0, buffer[0]);
    }

    [Fact]
    public void FindFreeGoesTopDownAroundMappings()
    {
        var cpu = new RecordingCpu();
        using var space = new AddressSpace(cpu) { MmapBase = 0x100_0000 };
        var first = space.FindFree(Page)!.Value;
        Assert.Equal(0x100_0000 - Page, first);
        space.Map(first, Page, ReadWrite, "a");
        space.Map(first - 2 * Page, Page, ReadWrite, "b");

        Assert.Equal(first - Page, space.FindFree(Page));
        Assert.Equal(first - 4 * Page, space.FindFree(2 * Page));
        Assert.Null(space.FindFree(0x100_0000));
    }

    [Fact]
    public void GuestMemoryFaultsInsteadOfTouchingBadPages()
    {
        var cpu = new RecordingCpu();
        using var space = new AddressSpace(cpu);
        var memory = new GuestMemory(space);
        space.Map(0x40_0000, Page, MemoryProtection.Read, "read-only");
        space.Map(0x40_0000 + Page, Page, ReadWrite, "writable");

        Assert.Equal(Errno.EFAULT, memory.Write(new GuestAddress(0x40_0000), "x"u8));
        Assert.Equal(Errno.EFAULT, memory.Read(new GuestAddress(0x40_0000 + 2 * Page - 2), new byte[4]));
        Assert.Equal(Errno.EFAULT, memory.Read(new GuestAddress(0x8), new byte[1]));
        Assert.Equal(Errno.None, memory.Read(new GuestAddress(0x40_0000 + Page - 2), new byte[4]));

        var segments = new List<HostSegment>();
        Assert.Equal(Errno.None, memory.GetSegments(new GuestAddress(0x40_0000 + Page - 8), 16, write: false, segments));
        Assert.Equal([8UL, 8UL], segments.Select(s => s.Length));
    }

    [Fact]
    public void CStringsStopAtTheTerminatorAndTheLimit()
    {
        var cpu = new RecordingCpu();
        using var space = new AddressSpace(cpu);
        var memory = new GuestMemory(space);
        space.Map(0x50_0000, 2 * Page, ReadWrite, "strings");
        // A string that crosses from one mapping into the next.
        space.Protect(0x50_0000 + Page, Page, ReadWrite | MemoryProtection.Execute);
        Assert.Equal(Errno.None, memory.Write(new GuestAddress(0x50_0000 + Page - 3), "abcdef\0"u8));

        Assert.Equal(Errno.None, memory.ReadCString(new CString(0x50_0000 + Page - 3), out var text));
        Assert.Equal("abcdef", text);
        Assert.Equal(Errno.ENAMETOOLONG, memory.ReadCString(new CString(0x50_0000 + Page - 3), out _, maximum: 4));
        // No terminator before the end of mapped memory.
        Assert.Equal(Errno.None, memory.Write(new GuestAddress(0x50_0000 + 2 * Page - 1), "z"u8));
        Assert.Equal(Errno.EFAULT, memory.ReadCString(new CString(0x50_0000 + 2 * Page - 1), out _));
    }
}
