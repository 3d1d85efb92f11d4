using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// A program file opened for loading: a host descriptor read by offset, never read whole, so a
/// sparse 4 GiB file costs only the pages its segments name. Opening never blocks (a FIFO given
/// as the program is refused, as execve refuses anything but a regular file).
/// </summary>
internal sealed unsafe class ExecutableFile : IDisposable
{
    private const uint FileTypeMask = 0xf000, RegularFile = 0x8000, Directory = 0x4000;
    private const uint AnyExecute = 0b001_001_001;

    private readonly int descriptor;

    private ExecutableFile(int descriptor, ulong length)
    {
        this.descriptor = descriptor;
        Length = length;
    }

    public ulong Length { get; }

    /// <summary>Opens <paramref name="path"/> as execve would check it: exists, regular, executable by someone.</summary>
    public static LoadFailure? Open(string path, out ExecutableFile? file)
    {
        file = null;
        if (path.Length == 0)
            return LoadFailure.From(Errno.ENOENT, path);
        var pointer = HostStrings.Pin(path, out var handle);
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        var result = HostSyscall.Invoke(HostSyscall.Openat, HostPath.CurrentDirectory, pointer,
            (long)(OpenFlags.O_RDONLY | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC));
        handle.Free();
        if (HostSyscall.ErrorOf(result) is var error and not Errno.None)
            return LoadFailure.From(error == Errno.ENXIO ? Errno.EACCES : error, path);
        var descriptor = (int)result;
        LinuxStat status;
        HostSyscall.Invoke(HostSyscall.Fstat, descriptor, (long)&status);
        var failure = (status.Mode & FileTypeMask) switch
        {
            // The host's /proc/self/exe (or a link to it) is Trapeze: running it would start a
            // Trapeze inside the guest. The guest's own /proc is not reachable from here yet.
            _ when IsTrapezeItself(status) => new LoadFailure(Errno.EACCES, $"{LoadFailure.Printable(path)}: Permission denied (it is Trapeze's own executable)"),
            Directory => new LoadFailure(Errno.EACCES, $"{LoadFailure.Printable(path)}: Is a directory"),
            not RegularFile => new LoadFailure(Errno.EACCES, $"{LoadFailure.Printable(path)}: Permission denied (not a regular file)"),
            _ when (status.Mode & AnyExecute) == 0 => new LoadFailure(Errno.EACCES, $"{LoadFailure.Printable(path)}: Permission denied (not executable)"),
            _ => (LoadFailure?)null,
        };
        if (failure is not null)
        {
            HostSyscall.Invoke(HostSyscall.Close, descriptor);
            return failure;
        }
        file = new ExecutableFile(descriptor, (ulong)status.Size);
        return null;
    }

    private static bool IsTrapezeItself(in LinuxStat status)
    {
        LinuxStat self;
        var pointer = HostStrings.Pin("/proc/self/exe", out var handle);
        var result = HostSyscall.Invoke(HostSyscall.Newfstatat, HostPath.CurrentDirectory, pointer, (long)&self, 0);
        handle.Free();
        return result == 0 && self.Device == status.Device && self.Inode == status.Inode;
    }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; the count read (short at the end of the file) or an error.</summary>
    public long ReadAt(ulong offset, Span<byte> destination)
    {
        var total = 0;
        fixed (byte* pointer = destination)
        {
            while (total < destination.Length)
            {
                var result = HostSyscall.Invoke(HostSyscall.Pread64, descriptor, (long)(pointer + total), destination.Length - total, (long)(offset + (ulong)total));
                if (result < 0)
                    return result;
                if (result == 0)
                    break;
                total += (int)result;
            }
        }
        return total;
    }

    /// <summary>Reads exactly <paramref name="destination"/>'s length; false if the file ends first or the read fails.</summary>
    public bool ReadExactly(ulong offset, Span<byte> destination)
        => offset <= Length && (ulong)destination.Length <= Length - offset && ReadAt(offset, destination) == destination.Length;

    public void Dispose() => HostSyscall.Invoke(HostSyscall.Close, descriptor);
}
