using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// One object of a file system that the walker reached: a directory, file, symbolic link...
/// A node may hold a host descriptor (HostFs), so the walker disposes the nodes it made once a
/// call is done; whoever keeps one longer (a working directory, a root) keeps a <see cref="Clone"/>.
/// </summary>
public abstract class Node : IDisposable
{
    public abstract FileSystem FileSystem { get; }

    /// <summary>The file type and permission bits (S_IFMT | 07777), known when the node was made.</summary>
    public abstract uint Mode { get; }

    public bool IsDirectory => (Mode & FileTypes.Mask) == FileTypes.Directory;
    public bool IsSymbolicLink => (Mode & FileTypes.Mask) == FileTypes.SymbolicLink;

    /// <summary>The same file system object (the walker's test for roots and mount points).</summary>
    public abstract bool SameAs(Node other);

    /// <summary>A node that stays valid after this one is disposed.</summary>
    public abstract Node Clone();

    /// <summary>Which inode this is, for inotify watches: by default the device and inode its file system reports.</summary>
    public virtual InodeKey Identity
        => FileSystem.Status(this, out var status) == Errno.None ? new InodeKey(FileSystem, status.Device, status.Inode) : new InodeKey(this, 0, 0);

    public virtual void Dispose()
    {
    }
}

/// <summary>
/// An inode's identity across walks: host inodes by the host's device and inode (the same file
/// through two binds is one inode), the inodes of Trapeze's own file systems by their file system.
/// </summary>
public readonly record struct InodeKey(object? Owner, ulong Device, ulong Inode);

/// <summary>The S_IFMT values of a mode.</summary>
public static class FileTypes
{
    public const uint Mask = 0xf000, Fifo = 0x1000, Character = 0x2000, Directory = 0x4000, Block = 0x6000, Regular = 0x8000, SymbolicLink = 0xa000, Socket = 0xc000;

    /// <summary>The d_type getdents64 gives for a mode.</summary>
    public static byte DirectoryEntryType(uint mode) => (byte)((mode & Mask) >> 12);
}

/// <summary>
/// A file system behind the walker. Every operation acts on nodes the walker found and on single
/// names (never a path with '/'); an operation a file system lacks answers as Linux's would.
/// </summary>
public abstract class FileSystem
{
    /// <summary>The type mountinfo and statfs report (ext4, tmpfs, proc...).</summary>
    public abstract string Type { get; }

    /// <summary>The root the file system was mounted with.</summary>
    public abstract Node Root { get; }

    /// <summary>The child <paramref name="name"/> of a directory, without following a final link; ENOENT if none.</summary>
    public abstract Errno Lookup(GuestThread? reader, Node directory, byte[] name, out Node? child);

    /// <summary>The directory holding <paramref name="node"/>; null at this file system's root.</summary>
    public abstract Node? Parent(Node node);

    public abstract Errno Status(Node node, out LinuxStat status);

    /// <summary>statx: by default built from the struct stat.</summary>
    public virtual Errno StatusExtended(Node node, uint mask, Span<byte> statx)
    {
        if (Status(node, out var status) is var error and not Errno.None)
            return error;
        StatxLayout.FromStat(status, statx);
        return Errno.None;
    }

    public virtual Errno ReadLink(Node node, out byte[] target)
    {
        target = [];
        return Errno.EINVAL;
    }

    /// <summary>A magic link (/proc/PID/fd/N, exe, cwd, root): following it jumps to a location, not a text.</summary>
    public virtual Location? FollowMagic(GuestThread? reader, Node node) => null;

    /// <summary>Opens an existing node. <paramref name="path"/> is its guest path (for /proc/PID/fd).</summary>
    public abstract Result Open(GuestThread thread, Node node, OpenFlags flags, byte[] path, out OpenFile? file);

    public virtual Result Create(GuestThread thread, Node directory, byte[] name, OpenFlags flags, uint mode, byte[] path, out OpenFile? file)
    {
        file = null;
        return Errno.EACCES;
    }

    public virtual Errno MakeDirectory(GuestThread? caller, Node directory, byte[] name, uint mode) => Errno.EACCES;
    public virtual Errno MakeNode(GuestThread? caller, Node directory, byte[] name, uint mode, ulong device) => Errno.EACCES;
    public virtual Errno Remove(GuestThread? caller, Node directory, byte[] name, bool isDirectory) => Errno.EACCES;
    public virtual Errno Rename(GuestThread? caller, Node fromDirectory, byte[] fromName, Node toDirectory, byte[] toName, uint flags) => Errno.EACCES;
    public virtual Errno Link(GuestThread? caller, Node existing, Node directory, byte[] name) => Errno.EACCES;
    public virtual Errno SymbolicLink(GuestThread? caller, byte[] target, Node directory, byte[] name) => Errno.EACCES;
    public virtual Errno ChangeMode(GuestThread? caller, Node node, uint mode) => Errno.EPERM;
    public virtual Errno ChangeOwner(GuestThread? caller, Node node, uint user, uint group) => Errno.EPERM;
    public virtual unsafe Errno SetTimes(GuestThread? caller, Node node, Timespec* times) => Errno.EPERM;
    public virtual Errno Truncate(GuestThread? caller, Node node, long length) => Errno.EACCES;
    public abstract Errno Access(GuestThread? caller, Node node, AccessMode mode, bool effective);
    public abstract Errno FileSystemStatus(Node node, Span<byte> statfs);

    /// <summary>A host path that reaches exactly this node (for the xattr calls, which have no *at form), or null.</summary>
    public virtual string? HostPathOf(Node node) => null;
}

/// <summary>A file system mounted at a directory of another mount (or the namespace's root).</summary>
public sealed class Mount(FileSystem fileSystem, Node root, Mount? parent, Node? mountPoint, byte[] path, bool readOnly)
{
    public FileSystem FileSystem => fileSystem;
    public Node Root => root;
    public Mount? Parent => parent;

    /// <summary>The directory of <see cref="Parent"/> this covers.</summary>
    public Node? MountPoint => mountPoint;

    /// <summary>Where it is mounted, in the namespace (mountinfo).</summary>
    public byte[] Path => path;
    public bool ReadOnly => readOnly;
    public int Id { get; init; }
    public MountTable? Table { get; init; }
}

/// <summary>A place in the namespace: a node, the mount it was reached in, and its canonical path.</summary>
public readonly struct Location(Mount mount, Node node, byte[] path)
{
    public Mount Mount => mount;
    public Node Node => node;
    public byte[] Path => path;

    public Location Clone() => new(Mount, Node.Clone(), Path);
    public bool SameAs(Location other) => other.Mount == Mount && other.Node.SameAs(Node);
}

/// <summary>The kernel's mounts (one namespace): the root mount and those mounted on its directories.</summary>
public sealed class MountTable
{
    private readonly List<Mount> mounts = [];

    public IReadOnlyList<Mount> Mounts => mounts;
    public Mount? RootMount => mounts.Count > 0 ? mounts[0] : null;

    public Mount Add(FileSystem fileSystem, Node root, Location? at, bool readOnly)
    {
        var mount = at is { } point
            ? new Mount(fileSystem, root, point.Mount, point.Node.Clone(), point.Path, readOnly) { Id = mounts.Count + 21, Table = this }
            : new Mount(fileSystem, root, null, null, "/"u8.ToArray(), readOnly) { Id = mounts.Count + 21, Table = this };
        mounts.Add(mount);
        return mount;
    }

    /// <summary>The mount covering <paramref name="node"/> of <paramref name="parent"/>: the last one mounted there wins.</summary>
    public Mount? MountedOn(Mount parent, Node node)
    {
        for (var index = mounts.Count - 1; index > 0; index--)
        {
            if (mounts[index].Parent == parent && mounts[index].MountPoint!.SameAs(node))
                return mounts[index];
        }
        return null;
    }

    public Location RootLocation => new(RootMount!, RootMount!.Root, "/"u8.ToArray());
}

/// <summary>struct statx from a struct stat, for file systems that have no statx of their own.</summary>
public static class StatxLayout
{
    public const int Size = 256;

    public static void FromStat(in LinuxStat status, Span<byte> span)
    {
        const uint BasicStats = 0x7ff;
        span.Clear();
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
    }

    private static void Timestamp(Span<byte> destination, long seconds, long nanoseconds)
    {
        BitConverter.TryWriteBytes(destination, seconds);
        BitConverter.TryWriteBytes(destination[8..], (uint)nanoseconds);
    }
}
