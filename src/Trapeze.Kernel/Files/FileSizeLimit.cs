using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>
/// RLIMIT_FSIZE as Linux holds regular files to it: a write that starts at or past the soft limit
/// fails with EFBIG and sends the writer SIGXFSZ, one that would cross it is shortened to end there
/// (generic_write_check_limits); growing a file past it by truncate or fallocate is EFBIG with
/// SIGXFSZ as well (inode_newsize_ok). Shrinking, and files that are not regular, are never limited.
/// </summary>
internal static class FileSizeLimit
{
    /// <summary>The soft limit, or null when there is none (the common case costs one lookup).</summary>
    public static long? Of(GuestThread thread)
        => thread.Process.LimitOf(RlimitResource.RLIMIT_FSIZE) is var limit && limit < long.MaxValue ? (long)limit : null;

    /// <summary>Errno.None when a regular file of <paramref name="size"/> bytes may become <paramref name="newSize"/> bytes long.</summary>
    public static Errno MayGrow(GuestThread thread, uint mode, long size, long newSize)
    {
        if ((mode & Vfs.FileTypes.Mask) != Vfs.FileTypes.Regular || newSize <= size || Of(thread) is not { } limit || newSize <= limit)
            return Errno.None;
        return Exceeded(thread);
    }

    /// <summary>send_sig(SIGXFSZ, current, 0): a signal from the process itself (SI_USER), to the writing thread.</summary>
    public static Errno Exceeded(GuestThread thread)
    {
        var process = thread.Process;
        SignalDelivery.SendToThread(thread, new SignalInfo { Signal = (int)Signal.SIGXFSZ, Code = SignalInfo.User, Pid = process.Id, Uid = process.Credentials.RealUser });
        return Errno.EFBIG;
    }
}
