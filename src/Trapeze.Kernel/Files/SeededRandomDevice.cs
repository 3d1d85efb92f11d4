using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>
/// /dev/random and /dev/urandom in a deterministic run: reads come from the kernel's seeded random
/// bytes (<see cref="Kernel.Random"/>); writes are taken and dropped, as mixing in entropy changes
/// nothing a reader can tell. fstat shows the host device.
/// </summary>
public sealed class SeededRandomDevice : OpenFile
{
    private const ulong RandomDevice = (1 << 8) | 8, UrandomDevice = (1 << 8) | 9; // makedev(1, 8), makedev(1, 9)
    private const uint FileType = 0xf000, CharacterDevice = 0x2000;
    private const ulong MostPerRead = 32 << 20; // one read of /dev/urandom gives at most 32 MiB, as on Linux

    private readonly OpenFile device;

    private SeededRandomDevice(OpenFile device)
    {
        this.device = device;
        GuestPath = device.GuestPath;
        Mount = device.Mount;
        StatusFlags = device.StatusFlags;
    }

    /// <summary>The seeded stand-in when <paramref name="file"/> is the host's random device, else the file itself.</summary>
    public static OpenFile Replace(OpenFile file)
    {
        if (file.Status(out var status).IsError || (status.Mode & FileType) != CharacterDevice
            || status.SpecialDevice is not (RandomDevice or UrandomDevice))
            return file;
        return new SeededRandomDevice(file);
    }

    public override string Path => device.Path;

    public override Result Read(GuestThread thread, GuestAddress buffer, ulong count)
        => SystemInfo.FillRandom(thread, buffer, count, MostPerRead);

    public override Result Write(GuestThread thread, GuestAddress buffer, ulong count) => (long)count;

    public override Result Status(out LinuxStat status) => device.Status(out status);

    protected override void Close() => device.Release();
}
