using Trapeze.Cpu;

namespace Trapeze.Tests.Kernel;

/// <summary>An ICpu that runs nothing and records its memory regions, checking the rules Unicorn enforces.</summary>
internal sealed class RecordingCpu : ICpu
{
    public SortedDictionary<ulong, (ulong Length, MemoryProtection Protection, nint Host)> Regions { get; } = [];

    public ulong ReadRegister(X64Register register) => 0;
    public void WriteRegister(X64Register register, ulong value) { }

    public void MapMemory(ulong guestAddress, ulong length, MemoryProtection protection, nint hostMemory)
    {
        Assert.Equal(0UL, guestAddress % 4096);
        Assert.Equal(0UL, length % 4096);
        Assert.DoesNotContain(Regions, region => region.Key < guestAddress + length && guestAddress < region.Key + region.Value.Length);
        Regions[guestAddress] = (length, protection, hostMemory);
    }

    public void UnmapMemory(ulong guestAddress, ulong length)
    {
        // Trapeze only ever unmaps whole regions.
        Assert.True(Regions.TryGetValue(guestAddress, out var region), $"no region at 0x{guestAddress:x}");
        Assert.Equal(region.Length, length);
        Regions.Remove(guestAddress);
    }

    public void ProtectMemory(ulong guestAddress, ulong length, MemoryProtection protection)
    {
        Assert.True(Regions.TryGetValue(guestAddress, out var region), $"no region at 0x{guestAddress:x}");
        Assert.Equal(region.Length, length);
        Regions[guestAddress] = region with { Protection = protection };
    }

    public CpuEvent Run() => new(CpuEventKind.Stopped, 0);
    public ICpuContext SaveContext(ICpuContext? into = null) => throw new NotSupportedException();
    public void RestoreContext(ICpuContext context) => throw new NotSupportedException();
    public void RequestStop() { }
    public void EnablePreciseStops() { }
    public void FlushTranslations() { }
    public void Dispose() { }
}
