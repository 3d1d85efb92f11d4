using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// The guest's /dev under --root: a tmpfs holding the device nodes a program expects (null, zero,
/// full, random, urandom, tty, console), the links into /proc/self/fd (stdin, stdout, stderr, fd)
/// and shm/ and pts/ directories. Opening a device opens the host's device of that number, which
/// behaves the same for every caller; the host's /dev is never walked.
/// </summary>
public static class DevFs
{
    private const uint CharacterRw = FileTypes.Character | 0b110_110_110;

    /// <summary>The devices Trapeze knows: (major, minor), name, host device opened for it.</summary>
    private static readonly (uint Major, uint Minor, string Name, string Host, uint Mode)[] Devices =
    [
        (1, 3, "null", "/dev/null", CharacterRw),
        (1, 5, "zero", "/dev/zero", CharacterRw),
        (1, 7, "full", "/dev/full", CharacterRw),
        (1, 8, "random", "/dev/random", CharacterRw),
        (1, 9, "urandom", "/dev/urandom", CharacterRw),
        (5, 0, "tty", "/dev/tty", CharacterRw),
        (5, 1, "console", "/dev/tty", FileTypes.Character | 0b110_000_000),
    ];

    /// <summary>A new /dev.</summary>
    public static TmpFs Create(uint user, uint group)
    {
        var dev = new TmpFs(0b111_101_101, user, group, deviceMinor: 5);
        var root = dev.RootNode;
        foreach (var device in Devices)
            dev.Populate(root, device.Name, device.Mode, MakeDevice(device.Major, device.Minor));
        foreach (var (name, target) in new[] { ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("fd", "/proc/self/fd") })
            dev.Populate(root, name, FileTypes.SymbolicLink | 0b111_111_111, target: System.Text.Encoding.ASCII.GetBytes(target));
        dev.Populate(root, "shm", FileTypes.Directory | 0b1_111_111_111);
        dev.Populate(root, "pts", FileTypes.Directory | 0b111_101_101);
        return dev;
    }

    /// <summary>makedev: the st_rdev encoding of glibc and Linux.</summary>
    public static ulong MakeDevice(uint major, uint minor)
        => ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    /// <summary>Opens a character device node of a tmpfs; ENXIO for a number Trapeze has no device for.</summary>
    internal static unsafe Result OpenDevice(TmpNode node, OpenFlags flags, byte[] path, out OpenFile? file)
    {
        file = null;
        foreach (var device in Devices)
        {
            if (MakeDevice(device.Major, device.Minor) != node.Device)
                continue;
            const OpenFlags Kept = OpenFlags.O_WRONLY | OpenFlags.O_RDWR | OpenFlags.O_NONBLOCK | OpenFlags.O_APPEND | OpenFlags.O_NOCTTY;
            long descriptor;
            fixed (byte* text = HostFs.Terminated(System.Text.Encoding.ASCII.GetBytes(device.Host)))
                descriptor = HostSyscall.Invoke(HostSyscall.Openat, HostPath.CurrentDirectory, (long)text, (long)((flags & Kept) | OpenFlags.O_CLOEXEC));
            if (descriptor < 0)
                return descriptor;
            file = new HostFile((int)descriptor, System.Text.Encoding.UTF8.GetString(path), HostFs.StatusFlagsOf(flags)) { GuestPath = path, Node = node };
            return 0;
        }
        return Errno.ENXIO;
    }
}
