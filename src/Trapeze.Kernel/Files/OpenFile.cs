using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

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

    /// <summary>The guest path as bytes, when the file was opened through the VFS (it may not be UTF-8).</summary>
    public byte[]? GuestPath { get; set; }

    /// <summary>Where the VFS opened it: the mount, for /proc/PID/fd links and *at calls relative to it.</summary>
    public Vfs.Mount? Mount { get; set; }

    /// <summary>The node of a file Trapeze keeps itself (tmpfs), for *at calls and /proc/PID/fd; host files borrow their descriptor instead.</summary>
    public Vfs.Node? Node { get; set; }

    /// <summary>The inode and name inotify reports this file's events under, when the walker opened it.</summary>
    public Vfs.WatchedName? NamedAs { get; set; }

    /// <summary>The lock table once a lock was taken through this file: its last close releases its OFD and flock locks there.</summary>
    internal FileLocks? Locks { get; set; }

    /// <summary>The status flags F_GETFL reports (access mode, O_APPEND, O_NONBLOCK...).</summary>
    public OpenFlags StatusFlags { get; set; }

    /// <summary>read(2) by a thread: files that can make it wait (pipes, ttys) override this one.</summary>
    public virtual Result Read(GuestThread thread, GuestAddress buffer, ulong count) => Read(thread.Memory, buffer, count);
    public virtual Result Write(GuestThread thread, GuestAddress buffer, ulong count) => Write(thread.Memory, buffer, count);
    public virtual Result ReadVector(GuestThread thread, List<HostSegment> segments, long offset) => ReadVector(segments, offset);
    public virtual Result WriteVector(GuestThread thread, List<HostSegment> segments, long offset) => WriteVector(segments, offset);

    /// <summary>
    /// For poll and epoll: the events ready now on a file Trapeze implements itself, and the queue
    /// that announces changes (the same queue for the file's whole life; notifications name the
    /// events they announce, which edge-triggered epoll relies on); null for files that are always
    /// ready (regular files, /proc) or polled by the host through <see cref="HostDescriptor"/>.
    /// A file may answer both ways (an epoll instance watching host descriptors): the host's answer is added.
    /// </summary>
    public virtual short? Readiness(out WaitQueue? changes)
    {
        changes = null;
        return null;
    }

    /// <summary>Readiness as seen by <paramref name="thread"/>: a signalfd is ready for the signals pending for its reader.</summary>
    public virtual short? Readiness(GuestThread thread, out WaitQueue? changes) => Readiness(out changes);

    /// <summary>The last descriptor referring to this file closed (epoll forgets it then, as Linux does).</summary>
    public event Action<OpenFile>? Released;

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

    /// <summary>For mmap of a file Trapeze implements whose pages are shared kernel memory (io_uring's rings): the memory at <paramref name="offset"/>, or null.</summary>
    public virtual Memory.MemoryObject? SharedMemory(long offset) => null;

    /// <summary>The host descriptor behind this file, if there is one (for *at calls and mmap).</summary>
    public virtual int? HostDescriptor => null;

    /// <summary>F_GETFL/F_SETFL go to the host descriptor (false where Trapeze keeps the status flags itself, as for host sockets).</summary>
    public virtual bool StatusFlagsOnHost => HostDescriptor is not null;

    internal void AddReference() => Interlocked.Increment(ref references);

    internal void Release()
    {
        if (Interlocked.Decrement(ref references) == 0)
        {
            Released?.Invoke(this);
            Close();
        }
    }

    protected virtual void Close()
    {
    }

    /// <summary>A descriptor of this file in <paramref name="table"/> is being closed (every close, not only the last).</summary>
    public virtual void Closing(FileTable table)
    {
    }
}
