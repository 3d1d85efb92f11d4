using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// A program file opened for loading: a host descriptor read by offset, never read whole, so a
/// sparse 4 GiB file costs only the pages its segments name. Opening never blocks (a FIFO given
/// as the program is refused, as execve refuses anything but a regular file).
/// </summary>
public sealed unsafe class ExecutableFile : IDisposable
{
    private const uint FileTypeMask = 0xf000, RegularFile = 0x8000, Directory = 0x4000;
    private const uint AnyExecute = 0b001_001_001;

    private int descriptor;

    private ExecutableFile(int descriptor, ulong length)
    {
        this.descriptor = descriptor;
        Length = length;
    }

    public ulong Length { get; }

    /// <summary>
    /// Opens the host file at <paramref name="hostPath"/> (the VFS found it at the guest's
    /// <paramref name="path"/>) as execve would check it: regular, executable by someone.
    /// </summary>
    public static LoadFailure? Open(string hostPath, string path, out ExecutableFile? file)
    {
        file = null;
        var pointer = HostStrings.Pin(hostPath, out var handle);
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

    /// <summary>The file's first bytes, up to <paramref name="maximum"/> (fewer for a short file or a failed read).</summary>
    public byte[] Head(int maximum)
    {
        var head = new byte[(int)Math.Min(Length, (ulong)maximum)];
        var read = ReadAt(0, head);
        return read == head.Length ? head : head[..(int)Math.Max(0, read)];
    }

    /// <summary>Closes the descriptor once: a second close could hit a number the host reused.</summary>
    public void Dispose()
    {
        if (descriptor >= 0)
            HostSyscall.Invoke(HostSyscall.Close, descriptor);
        descriptor = -1;
    }
}
