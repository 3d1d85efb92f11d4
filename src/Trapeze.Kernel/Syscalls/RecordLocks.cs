using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// Advisory locks between guest processes, kept in the kernel's <see cref="FileLocks"/>: fcntl's
/// POSIX locks (owned by the descriptor table, dropped when it closes any descriptor of the file)
/// and OFD locks (owned by the open file description), and flock.
/// </summary>
public static class RecordLocks
{
    /// <summary>struct flock on x86-64: l_type, l_whence (shorts), l_start, l_len (off_t), l_pid.</summary>
    private const int FlockSize = 32;

    private const int LockShared = 1, LockExclusive = 2, LockNonBlocking = 4, LockUnlock = 8;

    [Syscall("flock", Support = Support.Partial, Note = "locks are Trapeze's own, between guest processes: programs outside Trapeze do not see them")]
    public static Result Lock(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, int operation)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        var type = (operation & ~LockNonBlocking) switch
        {
            LockShared => FileLocks.ReadLock,
            LockExclusive => FileLocks.WriteLock,
            LockUnlock => FileLocks.Unlock,
            _ => (short)-1,
        };
        if (type < 0)
            return Errno.EINVAL;
        if (file.StatusFlags.HasFlag(OpenFlags.O_PATH) || KeyOf(file) is not { } key)
            return Errno.EBADF;
        var locks = Track(thread, file);
        return locks.Set(thread, key, LockFamily.Flock, file, type, 0, long.MaxValue, wait: (operation & LockNonBlocking) == 0);
    }

    /// <summary>F_GETLK, F_SETLK, F_SETLKW and their F_OFD_* forms.</summary>
    public static unsafe Result Control(GuestThread thread, OpenFile file, FcntlCommand command, GuestAddress argument)
    {
        var buffer = stackalloc byte[FlockSize];
        var span = new Span<byte>(buffer, FlockSize);
        if (thread.Memory.Read(argument, span) is var fault and not Errno.None)
            return fault;
        var type = BitConverter.ToInt16(span);
        var whence = BitConverter.ToInt16(span[2..]);
        var (start, length, pid) = (BitConverter.ToInt64(span[8..]), BitConverter.ToInt64(span[16..]), BitConverter.ToInt32(span[24..]));
        var openFileLock = command is FcntlCommand.F_OFD_GETLK or FcntlCommand.F_OFD_SETLK or FcntlCommand.F_OFD_SETLKW;
        var getting = command is FcntlCommand.F_GETLK or FcntlCommand.F_OFD_GETLK;
        if (type is not (FileLocks.ReadLock or FileLocks.WriteLock or FileLocks.Unlock) || (openFileLock && pid != 0) || (getting && type == FileLocks.Unlock))
            return Errno.EINVAL;
        if (KeyOf(file) is not { } key)
            return Errno.EBADF;
        if (Range(file, whence, start, length) is not { } range)
            return Errno.EINVAL;
        var family = openFileLock ? LockFamily.OpenFile : LockFamily.Posix;
        object owner = openFileLock ? file : thread.Process.Files;
        var locks = Track(thread, file);
        if (getting)
        {
            var conflict = locks.Conflict(key, family, owner, type, range.Start, range.End);
            span.Clear();
            BitConverter.TryWriteBytes(span, conflict?.Type ?? FileLocks.Unlock);
            if (conflict is { } found)
            {
                BitConverter.TryWriteBytes(span[8..], found.Start);
                BitConverter.TryWriteBytes(span[16..], found.End == long.MaxValue ? 0 : found.End - found.Start);
                BitConverter.TryWriteBytes(span[24..], found.ProcessId);
            }
            else
            {
                // As Linux: only l_type changes when nothing conflicts.
                BitConverter.TryWriteBytes(span[2..], whence);
                BitConverter.TryWriteBytes(span[8..], start);
                BitConverter.TryWriteBytes(span[16..], length);
                BitConverter.TryWriteBytes(span[24..], pid);
            }
            return thread.Memory.Write(argument, span) is var writeFault and not Errno.None ? writeFault : 0;
        }
        var access = AccessOf(file);
        if ((type == FileLocks.ReadLock && access == OpenFlags.O_WRONLY) || (type == FileLocks.WriteLock && access == OpenFlags.O_RDONLY))
            return Errno.EBADF;
        var wait = command is FcntlCommand.F_SETLKW or FcntlCommand.F_OFD_SETLKW;
        return locks.Set(thread, key, family, owner, type, range.Start, range.End, wait);
    }

    /// <summary>A descriptor of <paramref name="file"/> leaves <paramref name="table"/>: its POSIX locks on the file go, and an OFD's when it is the last.</summary>
    internal static void Closing(FileTable table, OpenFile file)
    {
        if (table.Locks is { } locks && KeyOf(file) is { } key)
            locks.Closed(table, key);
    }

    /// <summary>Records the lock table on the descriptor table and open file, so closing them releases their locks.</summary>
    private static FileLocks Track(GuestThread thread, OpenFile file)
    {
        var locks = thread.Kernel.Locks;
        thread.Process.Files.Locks = locks;
        if (file.Locks is null && KeyOf(file) is { } key)
        {
            file.Locks = locks;
            file.Released += released => locks.Released(released, key);
        }
        return locks;
    }

    /// <summary>The file's identity (device, inode), or null for a file without one.</summary>
    private static (ulong, ulong)? KeyOf(OpenFile file)
        => file.Status(out var status) is { IsError: false } ? (status.Device, status.Inode) : null;

    /// <summary>[start, end) from l_whence, l_start, l_len (0: to the end of the file, negative: before l_start).</summary>
    private static (long Start, long End)? Range(OpenFile file, short whence, long start, long length)
    {
        long origin;
        switch ((SeekWhence)whence)
        {
            case SeekWhence.SEEK_SET:
                origin = 0;
                break;
            case SeekWhence.SEEK_CUR:
                origin = file.Seek(0, SeekWhence.SEEK_CUR) is { IsError: false } position ? position.Raw : 0;
                break;
            case SeekWhence.SEEK_END:
                origin = file.Status(out var status) is { IsError: false } ? status.Size : 0;
                break;
            default:
                return null;
        }
        var first = origin + start;
        if (first < 0)
            return null;
        if (length == 0)
            return (first, long.MaxValue);
        if (length > 0)
            return (first, first > long.MaxValue - length ? long.MaxValue : first + length);
        return first + length < 0 ? null : (first + length, first);
    }

    private static OpenFlags AccessOf(OpenFile file)
    {
        var flags = file is HostFile { HostDescriptor: { } host } ? (OpenFlags)(int)HostSyscall.Invoke(HostSyscall.Fcntl, host, (long)FcntlCommand.F_GETFL) : file.StatusFlags;
        return flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR);
    }
}
