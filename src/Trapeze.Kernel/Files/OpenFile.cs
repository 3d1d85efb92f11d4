using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Files;

/// <summary>
/// An open file description: what a file descriptor points at. dup() shares one between several
/// descriptors, so it is reference counted and released when the last descriptor closes.
/// Every operation a kind of file does not support answers as Linux does for it.
/// </summary>
public abstract class OpenFile
{
    private int references = 1;

    /// <summary>The path this was opened by, for /proc/self/fd and the tracer's -y.</summary>
    public abstract string Path { get; }

    /// <summary>The status flags F_GETFL reports (access mode, O_APPEND, O_NONBLOCK...).</summary>
    public OpenFlags StatusFlags { get; set; }

    public virtual Result Read(GuestMemory memory, GuestAddress buffer, ulong count) => Errno.EINVAL;
    public virtual Result Write(GuestMemory memory, GuestAddress buffer, ulong count) => Errno.EINVAL;
    public virtual Result ReadVector(List<HostSegment> segments, long offset) => Errno.EINVAL;
    public virtual Result WriteVector(List<HostSegment> segments, long offset) => Errno.EINVAL;
    public virtual Result Seek(long offset, SeekWhence whence) => Errno.ESPIPE;
    public virtual Result Status(out LinuxStat status)
    {
        status = default;
        return Errno.EBADF;
    }
    public virtual Result Control(IoctlRequest request, GuestMemory memory, GuestAddress argument) => Errno.ENOTTY;
    public virtual Result ReadDirectory(GuestMemory memory, GuestAddress buffer, ulong count) => Errno.ENOTDIR;

    /// <summary>The host descriptor behind this file, if there is one (for *at calls and mmap).</summary>
    public virtual int? HostDescriptor => null;

    internal void AddReference() => Interlocked.Increment(ref references);

    internal void Release()
    {
        if (Interlocked.Decrement(ref references) == 0)
            Close();
    }

    protected virtual void Close()
    {
    }
}
