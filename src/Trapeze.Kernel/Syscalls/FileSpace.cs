using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// The rest of the file family on open files: space (fallocate),
/// write-back (sync_file_range, syncfs, sync), the *v2 transfers, the older times
/// calls, and file handles (not offered).
/// </summary>
public static unsafe class FileSpace
{
    /// <summary>RWF_HIPRI: a polling hint, meaningless here; other RWF_* flags are not offered.</summary>
    private const int HighPriority = 1;

    [Syscall("fallocate", Support = Support.Full)]
    public static Result Allocate(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Hex)] int mode, long offset, long length)
    {
        const int KeepSize = 1;
        // Allocating in a tmpfs with a size= takes every missing page or none (shmem_fallocate).
        if ((mode & ~KeepSize) == 0 && offset >= 0 && length > 0 && thread.Process.Files.Get(fd) is Files.HostFile { Node: Vfs.TmpNode { FileSystem: Vfs.TmpFs tmpfs } node } file
            && (file.InitialFlags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) != 0 && !tmpfs.RoomFor(node, offset, length))
            return Errno.ENOSPC;
        return OnHost(thread, fd, Errno.ENODEV, host => (mode & KeepSize) == 0 && offset >= 0 && length > 0 && FileSystem.MayGrowTo(thread, host, offset + length) is var tooBig and not Errno.None
            ? (Result)tooBig
            : HostSyscall.Invoke(HostSyscall.Fallocate, host, mode, offset, length));
    }

    [Syscall("sync_file_range", Support = Support.Full)]
    public static Result SynchronizeRange(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, long offset, long count, [Argument(ArgumentKind.Hex)] uint flags)
        => OnHost(thread, fd, Errno.ESPIPE, host => HostSyscall.Invoke(HostSyscall.Number("sync_file_range"), host, offset, count, flags));

    [Syscall("syncfs", Support = Support.Full)]
    public static Result SynchronizeFileSystem(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd)
        => thread.Process.Files.Get(fd) is not { } file ? Errno.EBADF
            : file.HostDescriptor is { } host ? HostSyscall.Invoke(HostSyscall.Number("syncfs"), host) : 0;

    [Syscall("sync", Support = Support.Full)]
    public static Result Synchronize(GuestThread thread)
    {
        HostSyscall.Invoke(HostSyscall.Number("sync"));
        return 0; // sync cannot fail
    }

    [Syscall("preadv2", Support = Support.Partial, Note = "flags 0 and RWF_HIPRI; others EOPNOTSUPP")]
    public static Result PositionalReadVector2(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.IoVectors, Direction = Direction.Out, SizeFrom = nameof(count))] GuestAddress vectors, int count, long offset, [Argument(ArgumentKind.Hex)] int flags)
        => Vector2(thread, fd, vectors, count, offset, flags, write: false);

    [Syscall("pwritev2", Support = Support.Partial, Note = "flags 0 and RWF_HIPRI; others EOPNOTSUPP")]
    public static Result PositionalWriteVector2(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.IoVectors, SizeFrom = nameof(count))] GuestAddress vectors, int count, long offset, [Argument(ArgumentKind.Hex)] int flags)
        => Vector2(thread, fd, vectors, count, offset, flags, write: true);

    /// <summary>Offset -1 means the file offset, as readv and writev use it.</summary>
    private static Result Vector2(GuestThread thread, int fd, GuestAddress vectors, int count, long offset, int flags, bool write)
    {
        if ((flags & ~HighPriority) != 0)
            return Errno.EOPNOTSUPP;
        if (offset < -1)
            return Errno.EINVAL;
        return FileIo.Vector(thread, fd, vectors, count, write, offset);
    }

    [Syscall("utimes", Support = Support.Partial, Note = "as utimensat")]
    public static Result SetTimesMicro(GuestThread thread, CString path, GuestAddress times)
        => SetTimesMicroAt(thread, -100, path, times);

    [Syscall("futimesat", Support = Support.Partial, Note = "as utimensat")]
    public static Result SetTimesMicroAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, GuestAddress times)
    {
        if (times.IsNull)
            return FileSystem.SetTimes(thread, directory, path, null, 0);
        var values = stackalloc Timeval[2];
        if (thread.Memory.Read(times, new Span<byte>(values, 2 * sizeof(Timeval))) is var fault and not Errno.None)
            return fault;
        var converted = stackalloc Timespec[2];
        for (var index = 0; index < 2; index++)
        {
            if (values[index].Microseconds is < 0 or >= 1_000_000)
                return Errno.EINVAL;
            converted[index] = new Timespec { Seconds = values[index].Seconds, Nanoseconds = values[index].Microseconds * 1000 };
        }
        return FileSystem.SetTimes(thread, directory, path, converted, 0);
    }

    [Syscall("utime", Support = Support.Partial, Note = "as utimensat")]
    public static Result SetTimesSeconds(GuestThread thread, CString path, GuestAddress times)
    {
        if (times.IsNull)
            return FileSystem.SetTimes(thread, -100, path, null, 0);
        var values = stackalloc long[2]; // struct utimbuf: actime, modtime
        if (thread.Memory.Read(times, new Span<byte>(values, 2 * sizeof(long))) is var fault and not Errno.None)
            return fault;
        var converted = stackalloc Timespec[2];
        converted[0] = new Timespec { Seconds = values[0] };
        converted[1] = new Timespec { Seconds = values[1] };
        return FileSystem.SetTimes(thread, -100, path, converted, 0);
    }

    [Syscall("name_to_handle_at", Support = Support.Unsupported, Note = "ENOSYS by design: a handle would name a host inode outside the guest's namespace")]
    public static Result NameToHandle(GuestThread thread, int directory, CString path, GuestAddress handle, GuestAddress mountId, int flags) => Errno.ENOSYS;

    [Syscall("open_by_handle_at", Support = Support.Unsupported, Note = "ENOSYS by design, as name_to_handle_at")]
    public static Result OpenByHandle(GuestThread thread, int mountDescriptor, GuestAddress handle, int flags) => Errno.ENOSYS;

    /// <summary>A call on the host descriptor behind an open file; <paramref name="otherwise"/> for files Trapeze makes itself (pipes, /proc).</summary>
    private static Result OnHost(GuestThread thread, int fd, Errno otherwise, Func<int, Result> call)
        => thread.Process.Files.Get(fd) switch
        {
            null => Errno.EBADF,
            { HostDescriptor: { } host } => call(host),
            Files.PipeEnd => Errno.ESPIPE,
            _ => otherwise,
        };
}
