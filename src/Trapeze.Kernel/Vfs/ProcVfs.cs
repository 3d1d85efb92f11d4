using System.Text;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>A node of Trapeze's /proc: a <see cref="ProcNode"/> made on lookup (null inner for the root), with the thread that looked.</summary>
internal sealed class ProcVfsNode(ProcVfs fileSystem, ProcNode? inner, GuestThread? reader) : Node
{
    public ProcNode? Inner => inner;
    public GuestThread? Reader => reader;
    public string Path => inner?.Path ?? ProcFs.Root;

    public override FileSystem FileSystem => fileSystem;

    public override uint Mode => inner switch
    {
        null => FileTypes.Directory | 0b101_101_101,
        ProcDirectoryNode directory => FileTypes.Directory | directory.Permissions,
        ProcLinkNode => FileTypes.SymbolicLink | 0b111_111_111,
        ProcFileNode file => FileTypes.Regular | file.Permissions,
        _ => FileTypes.Regular | 0b100_100_100,
    };

    public override bool SameAs(Node other) => other is ProcVfsNode proc && proc.Path == Path;
    public override Node Clone() => this;
}

/// <summary>An open file that is not in the namespace (a pipe, an inherited descriptor), reached through /proc/PID/fd/N.</summary>
internal sealed class OpenFileNode(OpenFile file, FileSystem fileSystem) : Node
{
    public OpenFile File => file;
    public override FileSystem FileSystem => fileSystem;
    public override uint Mode => file.Status(out var status).IsError ? FileTypes.Regular : status.Mode;
    public override bool SameAs(Node other) => other is OpenFileNode node && node.File == file;
    public override Node Clone() => this;
}

/// <summary>
/// Trapeze's /proc as a file system of the namespace: <see cref="ProcFs"/> makes the nodes from the
/// kernel's state; machine-wide entries it forwards (sys, uptime...) are a host tree under the
/// host's /proc whose top's ".." comes back here.
/// </summary>
internal sealed class ProcVfs : FileSystem
{
    private const uint WriteBits = 0b010_010_010;
    private readonly ProcVfsNode root;
    private readonly HostFs? hostProc;

    public ProcVfs()
    {
        root = new ProcVfsNode(this, null, null);
        HostFs.Create(ProcFs.Root, out hostProc, () => root);
        OpenFiles = new OpenFileSystem();
    }

    public override string Type => "proc";
    public override Node Root => root;

    /// <summary>The file system of <see cref="OpenFileNode"/>s.</summary>
    public FileSystem OpenFiles { get; }

    public override Errno Lookup(GuestThread? reader, Node directory, byte[] name, out Node? child)
    {
        child = null;
        if (reader is null)
            return Errno.ENOENT;
        var proc = (ProcVfsNode)directory;
        var inner = proc.Inner as ProcDirectoryNode ?? (proc.Inner is null ? ProcFs.RootDirectory(reader) : null);
        if (inner is null)
            return Errno.ENOTDIR;
        var found = inner.Child(Encoding.UTF8.GetString(name));
        switch (found)
        {
            case null:
                return Errno.ENOENT;
            case HostPathNode when hostProc is not null:
                return hostProc.Lookup(reader, hostProc.Root, name, out child);
            case HostPathNode:
                return Errno.ENOENT;
            default:
                child = new ProcVfsNode(this, found, reader);
                return Errno.None;
        }
    }

    public override Node? Parent(Node node)
    {
        var proc = (ProcVfsNode)node;
        if (proc.Inner is null || proc.Reader is null)
            return null;
        var path = proc.Path[..proc.Path.LastIndexOf('/')];
        if (path == ProcFs.Root)
            return new ProcVfsNode(this, null, proc.Reader);
        return ProcFs.Lookup(proc.Reader, path, followLast: false, out var parent) == Errno.None && parent is ProcDirectoryNode
            ? new ProcVfsNode(this, parent, proc.Reader) : root;
    }

    public override Errno Status(Node node, out LinuxStat status)
    {
        var proc = (ProcVfsNode)node;
        status = ProcFs.Status(proc.Reader!, proc.Inner ?? new ProcDirectoryNode(ProcFs.Root, () => [], _ => null));
        status.Mode = proc.Mode;
        return Errno.None;
    }

    public override Errno ReadLink(Node node, out byte[] target)
    {
        target = [];
        if (((ProcVfsNode)node).Inner is not ProcLinkNode link)
            return Errno.EINVAL;
        target = link.TargetBytes;
        return Errno.None;
    }

    public override Location? FollowMagic(GuestThread? reader, Node node)
        => ((ProcVfsNode)node).Inner is ProcLinkNode { Magic: { } magic } ? magic() : null;

    public override Result Open(GuestThread thread, Node node, OpenFlags flags, byte[] path, out OpenFile? file)
    {
        file = null;
        var proc = (ProcVfsNode)node;
        var inner = proc.Inner ?? ProcFs.RootDirectory(thread);
        switch (inner)
        {
            case ProcLinkNode:
                return Errno.ELOOP;
            case ProcFileNode when (flags & OpenFlags.O_DIRECTORY) != 0:
                return Errno.ENOTDIR;
            case ProcDirectoryNode when (flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) != 0:
                return Errno.EISDIR;
        }
        // Permission to open for writing follows the mode bits (root passes them); no generated file takes writes.
        if ((flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR | OpenFlags.O_TRUNC)) != 0
            && (proc.Mode & WriteBits) == 0 && Host.HostIdentity.EffectiveUserId != 0)
            return Errno.EACCES;
        var status = flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOCTTY | OpenFlags.O_TRUNC | OpenFlags.O_CLOEXEC);
        file = ProcFs.Open(thread, inner, status);
        file.StatusFlags = status;
        file.Node = proc;
        return 0;
    }

    public override Result Create(GuestThread thread, Node directory, byte[] name, OpenFlags flags, uint mode, byte[] path, out OpenFile? file)
    {
        file = null;
        return Errno.EACCES;
    }

    public override Errno Access(GuestThread? caller, Node node, AccessMode mode, bool effective)
    {
        // The guest's user owns these files; root passes read and write checks regardless of the
        // mode, and execute checks when anyone may execute (or it is a directory), as Linux decides.
        const uint OwnerRead = 0b100_000_000, OwnerWrite = 0b010_000_000, OwnerExecute = 0b001_000_000, AnyExecute = 0b001_001_001;
        var bits = node.Mode;
        if (Host.HostIdentity.EffectiveUserId == 0)
            return (mode & AccessMode.X_OK) != 0 && !node.IsDirectory && (bits & AnyExecute) == 0 ? Errno.EACCES : Errno.None;
        if (((mode & AccessMode.R_OK) != 0 && (bits & OwnerRead) == 0)
            || ((mode & AccessMode.W_OK) != 0 && (bits & OwnerWrite) == 0)
            || ((mode & AccessMode.X_OK) != 0 && (bits & OwnerExecute) == 0))
            return Errno.EACCES;
        return Errno.None;
    }

    public override Errno FileSystemStatus(Node node, Span<byte> statfs)
        => hostProc is null ? Errno.ENOSYS : hostProc.FileSystemStatus(hostProc.Root, statfs);

    /// <summary>Where /proc/PID/fd/N of a file outside the namespace leads: the open file itself.</summary>
    public static Location? OpenFileLocation(Kernel kernel, OpenFile file)
    {
        if (kernel.FileSystems.Proc is not { } proc)
            return null;
        var node = new OpenFileNode(file, proc.OpenFiles);
        return new Location(kernel.FileSystems.ProcMount!, node, Encoding.UTF8.GetBytes(file.Path));
    }

    /// <summary>/proc/PID/mounts and mountinfo: the kernel's mount table as the process (with its root) sees it.</summary>
    public static byte[] Mounts(Process process, bool info)
    {
        var text = new StringBuilder();
        var root = process.FileSystem.Root.Path;
        foreach (var mount in process.Kernel.FileSystems.Table.Mounts)
        {
            var shown = PathWalker.Show(mount.Path, root);
            if (shown.Length > 0 && shown[0] != '/')
                continue;
            var point = Encoding.UTF8.GetString(shown);
            var options = mount.ReadOnly ? "ro" : "rw";
            var source = mount.FileSystem.Type == "proc" ? "proc" : mount.FileSystem.Type == "tmpfs" ? "tmpfs" : "trapeze";
            if (info)
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{mount.Id} {mount.Parent?.Id ?? 1} 0:{mount.Id} / {point} {options},relatime - {mount.FileSystem.Type} {source} {options}\n");
            else
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{source} {point} {mount.FileSystem.Type} {options},relatime 0 0\n");
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Open files outside the namespace: opening one again shares the open file, as reopening a pipe through /proc does.</summary>
    private sealed class OpenFileSystem : FileSystem
    {
        public override string Type => "anon_inodefs";
        public override Node Root => throw new InvalidOperationException("open files have no root");

        public override Errno Lookup(GuestThread? reader, Node directory, byte[] name, out Node? child)
        {
            child = null;
            return Errno.ENOTDIR;
        }

        public override Node? Parent(Node node) => null;

        public override Errno Status(Node node, out LinuxStat status)
            => ((OpenFileNode)node).File.Status(out status) is { IsError: true } result ? result.Error : Errno.None;

        public override Result Open(GuestThread thread, Node node, OpenFlags flags, byte[] path, out OpenFile? file)
        {
            file = ((OpenFileNode)node).File;
            file.AddReference();
            return 0;
        }

        public override Errno Access(GuestThread? caller, Node node, AccessMode mode, bool effective) => Errno.None;
        public override Errno FileSystemStatus(Node node, Span<byte> statfs) => Errno.ENOSYS;
    }
}
