using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Reading and writing open files: read, write, the vector and positional forms, lseek.</summary>
public static class FileIo
{
    /// <summary>UIO_MAXIOV: the most iovecs one readv or writev takes.</summary>
    private const int MaximumVectors = 1024;

    [Syscall("read", Support = Support.Full)]
    public static Result Read(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Buffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress buffer, ulong count)
        => thread.Process.Files.Get(fd) is { } file ? thread.Kernel.Notifications.Transferred(file, file.Read(thread, buffer, count), InotifyMask.IN_ACCESS) : Errno.EBADF;

    [Syscall("write", Support = Support.Partial, Note = "into a pipe from a buffer that faults mid-page, the bytes before the fault are written (Linux writes whole pages only)")]
    public static Result Write(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Buffer, SizeFrom = nameof(count))] GuestAddress buffer, ulong count)
        => thread.Process.Files.Get(fd) is { } file ? thread.Kernel.Notifications.Transferred(file, file.Write(thread, buffer, count), InotifyMask.IN_MODIFY) : Errno.EBADF;

    [Syscall("pread64", Support = Support.Full)]
    public static Result PositionalRead(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Buffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress buffer, ulong count, long offset)
        => Positional(thread, fd, buffer, count, offset, write: false);

    [Syscall("pwrite64", Support = Support.Full)]
    public static Result PositionalWrite(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Buffer, SizeFrom = nameof(count))] GuestAddress buffer, ulong count, long offset)
        => Positional(thread, fd, buffer, count, offset, write: true);

    [Syscall("readv", Support = Support.Partial, Note = "the vectors are read before the descriptor is checked (EFAULT before EBADF), and a vector that faults gives EFAULT rather than a partial count")]
    public static Result ReadVector(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.IoVectors, Direction = Direction.Out, SizeFrom = nameof(count))] GuestAddress vectors, int count)
        => Vector(thread, fd, vectors, count, write: false, offset: -1);

    [Syscall("writev", Support = Support.Partial, Note = "the vectors are read before the descriptor is checked (EFAULT before EBADF), and a vector that faults gives EFAULT rather than a partial count")]
    public static Result WriteVector(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.IoVectors, SizeFrom = nameof(count))] GuestAddress vectors, int count)
        => Vector(thread, fd, vectors, count, write: true, offset: -1);

    [Syscall("preadv", Support = Support.Partial, Note = "the vectors are read before the descriptor is checked (EFAULT before EBADF), and a vector that faults gives EFAULT rather than a partial count")]
    public static Result PositionalReadVector(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.IoVectors, Direction = Direction.Out, SizeFrom = nameof(count))] GuestAddress vectors, int count, long offset)
        => offset < 0 ? Errno.EINVAL : Vector(thread, fd, vectors, count, write: false, offset);

    [Syscall("pwritev", Support = Support.Partial, Note = "the vectors are read before the descriptor is checked (EFAULT before EBADF), and a vector that faults gives EFAULT rather than a partial count")]
    public static Result PositionalWriteVector(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.IoVectors, SizeFrom = nameof(count))] GuestAddress vectors, int count, long offset)
        => offset < 0 ? Errno.EINVAL : Vector(thread, fd, vectors, count, write: true, offset);

    [Syscall("lseek", Support = Support.Full)]
    public static Result Seek(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, long offset, SeekWhence whence)
        => thread.Process.Files.Get(fd) is not { } file ? Errno.EBADF
            : (uint)whence > (uint)SeekWhence.SEEK_HOLE ? Errno.EINVAL // ksys_lseek checks whence before the file does
            : file.Seek(offset, whence);

    [Syscall("fadvise64", Support = Support.Full)]
    public static Result Advise(GuestThread thread, int fd, long offset, long length, int advice)
        => thread.Process.Files.Get(fd) switch
        {
            null => Errno.EBADF,
            { HostDescriptor: { } host } => HostSyscall.Invoke(HostSyscall.Fadvise64, host, offset, length, advice),
            _ => advice is >= 0 and <= 5 ? 0 : Errno.EINVAL, // advice about a made-up file changes nothing
        };

    // A negative offset is EINVAL before the descriptor is even looked at (fs/read_write.c).
    private static Result Positional(GuestThread thread, int fd, GuestAddress buffer, ulong count, long offset, bool write)
        => offset < 0 ? Errno.EINVAL : thread.Process.Files.Get(fd) switch
        {
            HostFile file => thread.Kernel.Notifications.Transferred(file, file.PositionalTransfer(thread, buffer, count, offset, write), write ? InotifyMask.IN_MODIFY : InotifyMask.IN_ACCESS),
            GeneratedFile file => write ? file.Write(thread.Memory, buffer, count) : file.ReadAt(thread.Memory, buffer, count, offset),
            null => Errno.EBADF,
            _ => Errno.ESPIPE,
        };

    internal static Result Vector(GuestThread thread, int fd, GuestAddress vectors, int count, bool write, long offset)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        if (count < 0 || count > MaximumVectors)
            return Errno.EINVAL;
        var segments = new List<HostSegment>(count);
        for (var index = 0; index < count; index++)
        {
            if (thread.Process.Personality.Structures.ReadIoVector(thread.Memory, vectors, index, out var vector) is var error and not Errno.None)
                return error;
            if ((long)vector.Length < 0)
                return Errno.EINVAL;
            if (vector.Length == 0)
                continue;
            if (thread.Memory.GetSegments(new GuestAddress(vector.Base), vector.Length, write: !write, segments) is var fault and not Errno.None)
                return fault;
        }
        if (segments.Count == 0)
            return write ? file.Write(thread, default, 0) : file.Read(thread, default, 0);
        var moved = write ? file.WriteVector(thread, segments, offset) : file.ReadVector(thread, segments, offset);
        return thread.Kernel.Notifications.Transferred(file, moved, write ? InotifyMask.IN_MODIFY : InotifyMask.IN_ACCESS);
    }
}
