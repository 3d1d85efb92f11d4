using System.Text;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// The path system calls on a /proc path (one <see cref="GuestPaths.Route"/> chose). Each either
/// answers, or names the host path to carry on with (<c>host</c>), where /proc forwards to the
/// host: a passthrough file, or a link followed to a program, a directory or a host descriptor.
/// </summary>
internal static class ProcFiles
{
    private const uint WriteBits = 0b010_010_010;

    public static Result Open(GuestThread thread, string path, OpenFlags flags, out string? host)
    {
        host = null;
        var follow = (flags & OpenFlags.O_NOFOLLOW) == 0;
        if (ProcFs.Lookup(thread, path, follow, out var node) is var error and not Errno.None)
            return error == Errno.ENOENT && (flags & OpenFlags.O_CREAT) != 0 ? Errno.EACCES : error;
        switch (node)
        {
            case HostPathNode forwarded:
                host = forwarded.Path;
                return 0;
            case ProcLinkNode:
                return Errno.ELOOP; // O_NOFOLLOW on a link
            case ProcFileNode when (flags & OpenFlags.O_DIRECTORY) != 0:
                return Errno.ENOTDIR;
            case ProcDirectoryNode when (flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) != 0:
                return Errno.EISDIR;
        }
        // Permission to open for writing follows the mode bits (root passes them, as with
        // CAP_DAC_OVERRIDE); writing itself then fails, since no generated file takes writes.
        if ((flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR | OpenFlags.O_TRUNC)) != 0
            && (ProcFs.Status(thread, node).Mode & WriteBits) == 0 && Host.HostIdentity.EffectiveUserId != 0)
            return Errno.EACCES;
        var status = flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOCTTY | OpenFlags.O_TRUNC | OpenFlags.O_CLOEXEC);
        var file = ProcFs.Open(thread, node, status);
        file.StatusFlags = status;
        var result = thread.Process.Files.Add(file, (flags & OpenFlags.O_CLOEXEC) != 0);
        if (result.IsError)
            file.Release();
        return result;
    }

    public static Result Status(GuestThread thread, string path, bool follow, out LinuxStat status, out string? host)
    {
        status = default;
        host = null;
        if (ProcFs.Lookup(thread, path, follow, out var node) is var error and not Errno.None)
            return error;
        if (node is HostPathNode forwarded)
            host = forwarded.Path;
        else
            status = ProcFs.Status(thread, node);
        return 0;
    }

    public static Result Access(GuestThread thread, string path, AccessMode mode, bool follow, out string? host)
    {
        var result = Status(thread, path, follow, out var status, out host);
        if (result.IsError || host is not null)
            return result;
        // The guest's user owns these files; root passes read and write checks regardless of the
        // mode, and execute checks when anyone may execute (or it is a directory), as Linux decides.
        const uint OwnerRead = 0b100_000_000, OwnerWrite = 0b010_000_000, OwnerExecute = 0b001_000_000, AnyExecute = 0b001_001_001;
        var isDirectory = (status.Mode & 0xf000) == 0x4000;
        if (Host.HostIdentity.EffectiveUserId == 0)
            return (mode & AccessMode.X_OK) != 0 && !isDirectory && (status.Mode & AnyExecute) == 0 ? Errno.EACCES : 0;
        if (((mode & AccessMode.R_OK) != 0 && (status.Mode & OwnerRead) == 0)
            || ((mode & AccessMode.W_OK) != 0 && (status.Mode & OwnerWrite) == 0)
            || ((mode & AccessMode.X_OK) != 0 && (status.Mode & OwnerExecute) == 0))
            return Errno.EACCES;
        return 0;
    }

    public static Result ReadLink(GuestThread thread, string path, GuestAddress buffer, int size, out string? host)
    {
        host = null;
        if (ProcFs.Lookup(thread, path, followLast: false, out var node) is var error and not Errno.None)
            return error;
        switch (node)
        {
            case HostPathNode forwarded:
                host = forwarded.Path;
                return 0;
            case ProcLinkNode link:
                var bytes = Encoding.UTF8.GetBytes(link.Target);
                var count = Math.Min(bytes.Length, size);
                return thread.Memory.Write(buffer, bytes.AsSpan(0, count)) is var fault and not Errno.None ? fault : count;
            default:
                return Errno.EINVAL;
        }
    }

    /// <summary>struct statx from a struct stat, for statx on files Trapeze makes up (STATX_BASIC_STATS).</summary>
    public static byte[] ToStatx(in LinuxStat status)
    {
        const uint BasicStats = 0x7ff;
        var buffer = new byte[256];
        var span = buffer.AsSpan();
        BitConverter.TryWriteBytes(span[0..], BasicStats);
        BitConverter.TryWriteBytes(span[4..], (uint)status.BlockSize);
        BitConverter.TryWriteBytes(span[16..], (uint)status.LinkCount);
        BitConverter.TryWriteBytes(span[20..], status.UserId);
        BitConverter.TryWriteBytes(span[24..], status.GroupId);
        BitConverter.TryWriteBytes(span[28..], (ushort)status.Mode);
        BitConverter.TryWriteBytes(span[32..], status.Inode);
        BitConverter.TryWriteBytes(span[40..], (ulong)status.Size);
        BitConverter.TryWriteBytes(span[48..], (ulong)status.Blocks);
        Timestamp(span[64..], status.AccessSeconds, status.AccessNanoseconds);
        Timestamp(span[96..], status.ChangeSeconds, status.ChangeNanoseconds);
        Timestamp(span[112..], status.ModifySeconds, status.ModifyNanoseconds);
        BitConverter.TryWriteBytes(span[128..], (uint)(((status.SpecialDevice >> 8) & 0xfff) | ((status.SpecialDevice >> 32) & ~0xfffUL)));
        BitConverter.TryWriteBytes(span[132..], (uint)((status.SpecialDevice & 0xff) | ((status.SpecialDevice >> 12) & ~0xffUL)));
        BitConverter.TryWriteBytes(span[136..], (uint)(((status.Device >> 8) & 0xfff) | ((status.Device >> 32) & ~0xfffUL)));
        BitConverter.TryWriteBytes(span[140..], (uint)((status.Device & 0xff) | ((status.Device >> 12) & ~0xffUL)));
        return buffer;
    }

    private static void Timestamp(Span<byte> destination, long seconds, long nanoseconds)
    {
        BitConverter.TryWriteBytes(destination, seconds);
        BitConverter.TryWriteBytes(destination[8..], (uint)nanoseconds);
    }
}
