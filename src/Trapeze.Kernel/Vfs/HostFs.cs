using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// A host directory or file reached through a host O_PATH descriptor that the walker opened
/// (one name at a time, never following a link), so renames or swapped links on the host cannot
/// make it point anywhere the walk did not go.
/// </summary>
public sealed unsafe class HostNode : Node
{
    private readonly HostFs fileSystem;
    private readonly bool owns;
    private int descriptor;

    internal HostNode(HostFs fileSystem, int descriptor, bool owns, in LinuxStat status)
    {
        this.fileSystem = fileSystem;
        this.descriptor = descriptor;
        this.owns = owns;
        Mode = status.Mode;
        Device = status.Device;
        Inode = status.Inode;
    }

    ~HostNode() => Close();

    public override FileSystem FileSystem => fileSystem;
    public override uint Mode { get; }
    public ulong Device { get; }
    public ulong Inode { get; }

    /// <summary>The host descriptor (O_PATH, or a guest file's own).</summary>
    public int Descriptor => descriptor;

    /// <summary>The host path through which host calls without an *at form reach exactly this node.</summary>
    public string ProcPath => $"/proc/self/fd/{descriptor}";

    public override bool SameAs(Node other) => other is HostNode host && host.Device == Device && host.Inode == Inode;

    public override InodeKey Identity => new(null, Device, Inode);

    public override Node Clone()
    {
        var copy = (int)HostSyscall.Invoke(HostSyscall.Fcntl, descriptor, (long)FcntlCommand.F_DUPFD_CLOEXEC, 3);
        LinuxStat status = default;
        status.Mode = Mode;
        status.Device = Device;
        status.Inode = Inode;
        return new HostNode(fileSystem, copy, owns: true, status);
    }

    public override void Dispose()
    {
        Close();
        GC.SuppressFinalize(this);
    }

    private void Close()
    {
        var fd = Interlocked.Exchange(ref descriptor, -1);
        if (owns && fd >= 0)
            HostSyscall.Invoke(HostSyscall.Close, fd);
    }
}

/// <summary>
/// A host directory tree as a file system: the guest root (--root), or a --bind. Every lookup is
/// one openat(O_PATH | O_NOFOLLOW) of one name in a directory descriptor; ".." at the tree's top
/// goes nowhere (the walker decides where a mount's ".." leads), so nothing above the tree is reached.
/// </summary>
public sealed unsafe class HostFs : FileSystem
{
    private const OpenFlags PathOnly = OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC;
    private readonly HostNode root;

    private HostFs(int rootDescriptor, in LinuxStat status, string type, Func<Node>? aboveTop)
    {
        root = new HostNode(this, rootDescriptor, owns: true, status);
        Type = type;
        AboveTop = aboveTop;
    }

    public override string Type { get; }
    public override Node Root => root;

    /// <summary>For a tree embedded in another file system (a forwarded /proc entry): the node its top's ".." reaches.</summary>
    public Func<Node>? AboveTop { get; }

    /// <summary>A file system over the host directory <paramref name="hostPath"/> (resolved by the host, once, at mount time).</summary>
    public static Errno Create(string hostPath, out HostFs? fileSystem, Func<Node>? aboveTop = null)
    {
        fileSystem = null;
        var pointer = HostStrings.Pin(hostPath, out var handle);
        var descriptor = HostSyscall.Invoke(HostSyscall.Openat, HostPath.CurrentDirectory, pointer, (long)(OpenFlags.O_PATH | OpenFlags.O_CLOEXEC));
        handle.Free();
        if (descriptor < 0)
            return HostSyscall.ErrorOf(descriptor);
        if (StatusOf((int)descriptor, out var status) is var error and not Errno.None)
            return error;
        fileSystem = new HostFs((int)descriptor, status, TypeOf((int)descriptor), aboveTop);
        return Errno.None;
    }

    /// <summary>A node for a host descriptor the guest holds (/proc/PID/fd/N of a host file); it does not own it.</summary>
    public HostNode Borrow(int descriptor)
    {
        StatusOf(descriptor, out var status);
        return new HostNode(this, descriptor, owns: false, status);
    }

    public override Errno Lookup(GuestThread? reader, Node directory, byte[] name, out Node? child)
    {
        child = null;
        var parent = (HostNode)directory;
        long descriptor;
        fixed (byte* text = Terminated(name))
            descriptor = HostSyscall.Invoke(HostSyscall.Openat, parent.Descriptor, (long)text, (long)PathOnly);
        if (descriptor < 0)
            return HostSyscall.ErrorOf(descriptor);
        if (StatusOf((int)descriptor, out var status) is var error and not Errno.None)
        {
            HostSyscall.Invoke(HostSyscall.Close, descriptor);
            return error;
        }
        child = new HostNode(this, (int)descriptor, owns: true, status);
        return Errno.None;
    }

    public override Node? Parent(Node node)
    {
        if (node.SameAs(root))
            return null;
        var host = (HostNode)node;
        long descriptor;
        fixed (byte* dots = "..\0"u8)
            descriptor = HostSyscall.Invoke(HostSyscall.Openat, host.Descriptor, (long)dots, (long)(PathOnly | OpenFlags.O_DIRECTORY));
        if (descriptor < 0 || StatusOf((int)descriptor, out var status) is not Errno.None)
            return null;
        var parent = new HostNode(this, (int)descriptor, owns: true, status);
        if (AboveTop is { } above && parent.SameAs(root))
        {
            parent.Dispose();
            return above();
        }
        return parent;
    }

    public override Errno Status(Node node, out LinuxStat status) => StatusOf(((HostNode)node).Descriptor, out status);

    public override Errno StatusExtended(Node node, uint mask, Span<byte> statx)
    {
        const long EmptyPath = (long)(AtFlags.AT_EMPTY_PATH | AtFlags.AT_SYMLINK_NOFOLLOW);
        fixed (byte* buffer = statx)
        fixed (byte* empty = "\0"u8)
            return HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.Statx, ((HostNode)node).Descriptor, (long)empty, EmptyPath, mask, (long)buffer));
    }

    public override Errno ReadLink(Node node, out byte[] target)
    {
        target = [];
        if (!node.IsSymbolicLink)
            return Errno.EINVAL;
        var buffer = new byte[4096];
        long length;
        fixed (byte* pointer = buffer)
        fixed (byte* empty = "\0"u8)
            length = HostSyscall.Invoke(HostSyscall.Readlinkat, ((HostNode)node).Descriptor, (long)empty, (long)pointer, buffer.Length);
        if (length < 0)
            return HostSyscall.ErrorOf(length);
        target = buffer[..(int)length];
        return Errno.None;
    }

    public override Result Open(GuestThread thread, Node node, OpenFlags flags, byte[] path, out OpenFile? file)
    {
        file = null;
        var host = (HostNode)node;
        long descriptor;
        if (node.IsSymbolicLink)
        {
            // Only O_PATH | O_NOFOLLOW opens a link itself.
            if ((flags & OpenFlags.O_PATH) == 0)
                return Errno.ELOOP;
            descriptor = HostSyscall.Invoke(HostSyscall.Fcntl, host.Descriptor, (long)FcntlCommand.F_DUPFD_CLOEXEC, 3);
        }
        else
        {
            // Reopening the O_PATH descriptor through the host's /proc opens that very inode: no name is looked up again.
            var reopen = flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOFOLLOW);
            if (FifoOpen.Waits(node, flags))
            {
                var opened = FifoOpen.Open(thread, host.Descriptor, reopen);
                if (opened.IsError || opened.Control is not null)
                    return opened;
                descriptor = opened.Raw;
            }
            else
            {
                fixed (byte* text = Terminated(System.Text.Encoding.ASCII.GetBytes(host.ProcPath)))
                    descriptor = HostSyscall.Invoke(HostSyscall.Openat, HostPath.CurrentDirectory, (long)text, (long)(reopen | OpenFlags.O_CLOEXEC), 0);
            }
        }
        if (descriptor < 0)
            return descriptor;
        var name = System.Text.Encoding.UTF8.GetString(path);
        file = (node.Mode & FileTypes.Mask) == FileTypes.Fifo && (flags & OpenFlags.O_PATH) == 0
            ? HostFile.OwnFifo((int)descriptor, name, StatusFlagsOf(flags))
            : new HostFile((int)descriptor, name, StatusFlagsOf(flags));
        file.GuestPath = path;
        return 0;
    }

    public override Result Create(GuestThread thread, Node directory, byte[] name, OpenFlags flags, uint mode, byte[] path, out OpenFile? file)
    {
        file = null;
        long descriptor;
        fixed (byte* text = Terminated(name))
            descriptor = HostSyscall.Invoke(HostSyscall.Openat, ((HostNode)directory).Descriptor, (long)text, (long)(flags | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC), mode);
        if (descriptor < 0)
            return descriptor;
        file = new HostFile((int)descriptor, System.Text.Encoding.UTF8.GetString(path), StatusFlagsOf(flags)) { GuestPath = path };
        return 0;
    }

    public override Errno MakeDirectory(GuestThread? caller, Node directory, byte[] name, uint mode)
        => AtName(directory, name, (fd, text) => HostSyscall.Invoke(HostSyscall.Mkdirat, fd, text, mode));

    public override Errno MakeNode(GuestThread? caller, Node directory, byte[] name, uint mode, ulong device)
        => AtName(directory, name, (fd, text) => HostSyscall.Invoke(HostSyscall.Mknodat, fd, text, mode, (long)device));

    public override Errno Remove(GuestThread? caller, Node directory, byte[] name, bool isDirectory)
        => AtName(directory, name, (fd, text) => HostSyscall.Invoke(HostSyscall.Unlinkat, fd, text, isDirectory ? (long)AtFlags.AT_REMOVEDIR : 0));

    public override Errno Rename(GuestThread? caller, Node fromDirectory, byte[] fromName, Node toDirectory, byte[] toName, uint flags)
    {
        fixed (byte* from = Terminated(fromName))
        fixed (byte* to = Terminated(toName))
            return HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.Renameat2, ((HostNode)fromDirectory).Descriptor, (long)from, ((HostNode)toDirectory).Descriptor, (long)to, flags));
    }

    public override Errno Link(GuestThread? caller, Node existing, Node directory, byte[] name)
    {
        // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the host's /proc link of the descriptor (with AT_SYMLINK_FOLLOW) needs nothing.
        fixed (byte* source = Terminated(System.Text.Encoding.ASCII.GetBytes(((HostNode)existing).ProcPath)))
        fixed (byte* target = Terminated(name))
            return HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.Linkat, HostPath.CurrentDirectory, (long)source, ((HostNode)directory).Descriptor, (long)target, (long)AtFlags.AT_SYMLINK_FOLLOW));
    }

    public override Errno SymbolicLink(GuestThread? caller, byte[] target, Node directory, byte[] name)
    {
        fixed (byte* text = Terminated(target))
        {
            var pointer = (long)text;
            return AtName(directory, name, (fd, link) => HostSyscall.Invoke(HostSyscall.Symlinkat, pointer, fd, link));
        }
    }

    public override Errno ChangeMode(GuestThread? caller, Node node, uint mode)
    {
        if (node.IsSymbolicLink)
            return Errno.EOPNOTSUPP; // Linux cannot change a link's mode
        return OnProcPath(node, text => HostSyscall.Invoke(HostSyscall.Fchmodat, HostPath.CurrentDirectory, text, mode));
    }

    public override Errno ChangeOwner(GuestThread? caller, Node node, uint user, uint group)
    {
        fixed (byte* empty = "\0"u8)
            return HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.Fchownat, ((HostNode)node).Descriptor, (long)empty, user, group, (long)(AtFlags.AT_EMPTY_PATH | AtFlags.AT_SYMLINK_NOFOLLOW)));
    }

    public override Errno SetTimes(GuestThread? caller, Node node, Timespec* times)
    {
        if (node.IsSymbolicLink)
            return Errno.EOPNOTSUPP;
        return OnProcPath(node, text => HostSyscall.Invoke(HostSyscall.Utimensat, HostPath.CurrentDirectory, text, (long)times, 0));
    }

    public override Errno Truncate(GuestThread? caller, Node node, long length)
        => OnProcPath(node, text => HostSyscall.Invoke(HostSyscall.Truncate, text, length));

    public override Errno Access(GuestThread? caller, Node node, AccessMode mode, bool effective)
        => OnProcPath(node, text => HostSyscall.Invoke(HostSyscall.Faccessat2, HostPath.CurrentDirectory, text, (long)mode, effective ? (long)AtFlags.AT_EACCESS : 0));

    public override Errno FileSystemStatus(Node node, Span<byte> statfs)
    {
        fixed (byte* buffer = statfs)
            return HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.Fstatfs, ((HostNode)node).Descriptor, (long)buffer));
    }

    public override string? HostPathOf(Node node) => ((HostNode)node).ProcPath;

    internal static Errno StatusOf(int descriptor, out LinuxStat status)
    {
        LinuxStat buffer;
        long result;
        fixed (byte* empty = "\0"u8)
            result = HostSyscall.Invoke(HostSyscall.Newfstatat, descriptor, (long)empty, (long)&buffer, (long)(AtFlags.AT_EMPTY_PATH | AtFlags.AT_SYMLINK_NOFOLLOW));
        status = buffer;
        return HostSyscall.ErrorOf(result);
    }

    private static string TypeOf(int descriptor)
    {
        var buffer = stackalloc long[15];
        if (HostSyscall.Invoke(HostSyscall.Fstatfs, descriptor, (long)buffer) < 0)
            return "ext4";
        return (ulong)buffer[0] switch
        {
            0x01021994 => "tmpfs",
            0x9fa0 => "proc",
            0x794c7630 => "overlay",
            0x58465342 => "xfs",
            0x9123683e => "btrfs",
            _ => "ext4",
        };
    }

    internal static OpenFlags StatusFlagsOf(OpenFlags flags)
        => flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOCTTY | OpenFlags.O_TRUNC | OpenFlags.O_CLOEXEC);

    internal static byte[] Terminated(byte[] name)
    {
        var bytes = new byte[name.Length + 1];
        name.CopyTo(bytes, 0);
        return bytes;
    }

    private static Errno AtName(Node directory, byte[] name, Func<long, long, long> call)
    {
        fixed (byte* text = Terminated(name))
            return HostSyscall.ErrorOf(call(((HostNode)directory).Descriptor, (long)text));
    }

    private static Errno OnProcPath(Node node, Func<long, long> call)
    {
        fixed (byte* text = Terminated(System.Text.Encoding.ASCII.GetBytes(((HostNode)node).ProcPath)))
            return HostSyscall.ErrorOf(call((long)text));
    }
}
