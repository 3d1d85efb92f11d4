using System.Text;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>A --bind: a host directory (or a file, on a file) shown at a guest path, perhaps read-only.</summary>
public sealed record BindMount(string HostPath, string GuestPath, bool ReadOnly);

/// <summary>
/// A --tmpfs: an empty in-memory file system at a guest path (an OCI tmpfs mount). Its root has
/// <paramref name="Mode"/>; <paramref name="SizeLimit"/> bytes is what statfs reports as its size.
/// </summary>
public sealed record TmpFsMount(string GuestPath, long? SizeLimit = null, uint Mode = 0b1_111_111_111, bool ReadOnly = false, long? InodeLimit = null)
{
    /// <summary>Parses mount(8)-style options: size=N[k|m|g|%], nr_inodes=N[k|m|g], mode=OCTAL, ro, rw (others, such as nosuid or nodev, are accepted and change nothing).</summary>
    public static TmpFsMount Parse(string guestPath, string options, out string? error)
    {
        error = null;
        var mount = new TmpFsMount(guestPath);
        foreach (var option in options.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = option.IndexOf('=') is var equals and >= 0 ? (option[..equals], option[(equals + 1)..]) : (option, "");
            switch (name)
            {
                case "size" when ParseSize(value) is { } size:
                    mount = mount with { SizeLimit = size == 0 ? null : size }; // 0: unlimited, as Linux's
                    break;
                case "nr_inodes" when !value.EndsWith('%') && ParseSize(value) is { } inodes:
                    mount = mount with { InodeLimit = inodes == 0 ? null : inodes };
                    break;
                case "mode" when value.Length > 0 && value.All(c => c is >= '0' and <= '7') && value.Length <= 4:
                    mount = mount with { Mode = Convert.ToUInt32(value, 8) };
                    break;
                case "ro" or "rw":
                    mount = mount with { ReadOnly = name == "ro" };
                    break;
                case "size" or "mode" or "nr_inodes":
                    error = $"--tmpfs {guestPath}: bad {name}= value '{value}'";
                    return mount;
                default:
                    break;
            }
        }
        return mount;
    }

    /// <summary>A size as tmpfs and --memory take it: bytes, or a number with k, m, g (KiB, MiB, GiB) or % (of memory).</summary>
    public static long? ParseSize(string text)
    {
        if (text.Length == 0)
            return null;
        var (digits, unit) = char.IsAsciiDigit(text[^1]) ? (text, 1L) : (text[..^1], char.ToLowerInvariant(text[^1]) switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, '%' => -1L, _ => 0L });
        if (unit == 0 || !long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
            return null;
        if (unit > 0 && number > long.MaxValue / unit)
            return null;
        return unit < 0 ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 100 * number : number * unit;
    }
}

/// <summary>What the guest's file system is made of (the CLI's --root, --bind, --tmpfs, --ro, --cwd).</summary>
public sealed record FileSystemLayout
{
    /// <summary>The host directory that is the guest's "/".</summary>
    public string Root { get; init; } = "/";
    public bool ReadOnly { get; init; }
    public IReadOnlyList<BindMount> Binds { get; init; } = [];

    /// <summary>
    /// In-memory file systems. Binds and tmpfs mounts are made parents first (by the depth of the
    /// guest path; at equal depth binds first, each kind in its order), so a tmpfs at /dev comes
    /// before a bind at /dev/null whatever order they were given in.
    /// </summary>
    public IReadOnlyList<TmpFsMount> TmpFs { get; init; } = [];

    /// <summary>Trapeze's /dev (null, zero, tty...) at /dev; by default when the root is not the host's "/" (whose /dev the guest then sees).</summary>
    public bool? Devices { get; init; }

    /// <summary>The first process's working directory (a guest path); by default Trapeze's own when the root is "/", else "/".</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>--sysroot: a host directory whose files an absolute path names before the root's (qemu-user's -L).</summary>
    public string? Sysroot { get; init; }
}

/// <summary>A program file opened through the VFS for the loader: the file and where it is (held: the caller owns both).</summary>
public sealed record ProgramData(Loader.ExecutableFile File, Location Location, string ShownPath)
{
    public void Release()
    {
        File.Dispose();
        Location.Node.Dispose();
    }
}

/// <summary>The kernel's mount namespace: the root file system, Trapeze's /proc, and the binds.</summary>
public sealed class KernelFileSystems
{
    public MountTable Table { get; } = new();
    internal ProcVfs? Proc { get; private set; }
    public Mount? ProcMount { get; private set; }

    /// <summary>The --sysroot directory, outside the namespace: <see cref="PathWalker"/> tries it first for absolute paths.</summary>
    public Location? Sysroot { get; private set; }

    /// <summary>Builds the mounts; the message says what is wrong with the layout.</summary>
    public Errno Setup(FileSystemLayout layout, out string message)
    {
        message = "";
        if (HostFs.Create(layout.Root, out var rootFs) is var rootError and not Errno.None)
        {
            message = $"--root {layout.Root}: {ErrnoMessages.Text[(int)rootError]}";
            return rootError;
        }
        Table.Add(rootFs!, rootFs!.Root, null, layout.ReadOnly);
        if (layout.Devices ?? layout.Root != "/")
        {
            if (Mountable("/dev", create: false, out var dev) == Errno.None)
            {
                var devices = DevFs.Create(HostIdentity.EffectiveUserId, HostIdentity.EffectiveGroupId);
                Table.Add(devices, devices.Root, dev, layout.ReadOnly);
                dev.Node.Dispose();
            }
        }
        var requests = layout.Binds.Select(bind => (bind.GuestPath, Bind: (BindMount?)bind, TmpFs: (TmpFsMount?)null))
            .Concat(layout.TmpFs.Select(tmpfs => (tmpfs.GuestPath, Bind: (BindMount?)null, TmpFs: (TmpFsMount?)tmpfs)))
            .OrderBy(request => request.GuestPath.Split('/', StringSplitOptions.RemoveEmptyEntries).Length);
        var minor = 41u;
        foreach (var (guestPath, bind, tmpfs) in requests)
        {
            if (bind is not null)
            {
                if (HostFs.Create(bind.HostPath, out var bindFs) is not Errno.None
                    || Mountable(guestPath, create: true, out var at, fileOnFile: !bindFs!.Root.IsDirectory) is not Errno.None)
                {
                    message = $"--bind {bind.HostPath}:{bind.GuestPath}: cannot mount there";
                    return Errno.ENOENT;
                }
                Table.Add(bindFs!, bindFs!.Root, at, bind.ReadOnly || layout.ReadOnly);
                at.Node.Dispose();
                continue;
            }
            if (Mountable(guestPath, create: true, out var point) is var pointError and not Errno.None)
            {
                message = $"--tmpfs {guestPath}: cannot mount there: {ErrnoMessages.Text[(int)pointError]}";
                return pointError;
            }
            var memory = new TmpFs(tmpfs!.Mode, HostIdentity.EffectiveUserId, HostIdentity.EffectiveGroupId, tmpfs.SizeLimit, minor++, tmpfs.InodeLimit);
            Table.Add(memory, memory.Root, point, tmpfs.ReadOnly);
            point.Node.Dispose();
        }
        if (layout.Sysroot is { } sysrootPath)
        {
            if (HostFs.Create(sysrootPath, out var sysrootFs) is var sysrootError and not Errno.None)
            {
                message = $"--sysroot {sysrootPath}: {ErrnoMessages.Text[(int)sysrootError]}";
                return sysrootError;
            }
            var mount = new Mount(sysrootFs!, sysrootFs!.Root, null, null, "/"u8.ToArray(), readOnly: true) { Table = Table };
            Sysroot = new Location(mount, sysrootFs.Root, "/"u8.ToArray());
        }
        if (Mountable("/proc", create: false, out var proc) == Errno.None)
        {
            Proc = new ProcVfs();
            ProcMount = Table.Add(Proc, Proc.Root, proc, readOnly: false);
            proc.Node.Dispose();
        }
        return Errno.None;
    }

    /// <summary>The first process's root and working directory.</summary>
    public FileSystemContext InitialContext(FileSystemLayout layout, uint umask)
    {
        var root = Table.RootLocation;
        var directory = layout.WorkingDirectory ?? (layout.Root == "/" ? Environment.CurrentDirectory : "/");
        using var walk = new WalkResult();
        var cwd = PathWalker.Walk(null, root, root, Encoding.UTF8.GetBytes(directory), WalkFlags.FollowLast, walk) == Errno.None
            && walk.Target is { Node.IsDirectory: true } found ? found.Clone() : root.Clone();
        return new FileSystemContext(root.Clone(), cwd) { FileCreationMask = umask };
    }

    /// <summary>
    /// Opens a program as execve does: resolved from the process's root and working directory,
    /// a regular file with an execute bit (EACCES otherwise), read by offset, never whole.
    /// </summary>
    public static Loader.LoadFailure? ReadProgram(GuestThread? reader, FileSystemContext context, string path, out ProgramData? program, Location? sysroot = null)
    {
        const uint AnyExecute = 0b001_001_001;
        program = null;
        var bytes = Memory.GuestText.Encode(path);
        using var walk = bytes.Length > 0 && PathWalker.InSysroot(reader, sysroot, bytes, WalkFlags.FollowLast) is { } inSysroot ? inSysroot : new WalkResult();
        var error = bytes.Length == 0 ? Errno.ENOENT
            : walk.Target is not null ? Errno.None
            : PathWalker.Walk(reader, context.Root, context.WorkingDirectory, bytes, WalkFlags.FollowLast, walk);
        if (error == Errno.None && walk.Target is null)
            error = Errno.ENOENT;
        if (error != Errno.None)
            return Loader.LoadFailure.From(error, path);
        var location = walk.Target!.Value;
        var name = Loader.LoadFailure.Printable(path);
        if (location.Node.IsDirectory)
            return new Loader.LoadFailure(Errno.EACCES, $"{name}: Is a directory");
        if ((location.Node.Mode & FileTypes.Mask) != FileTypes.Regular || (location.Node.Mode & AnyExecute) == 0)
            return new Loader.LoadFailure(Errno.EACCES, $"{name}: Permission denied");
        if (location.Node.FileSystem.HostPathOf(location.Node) is not { } hostPath)
            return new Loader.LoadFailure(Errno.EACCES, $"{name}: Permission denied (not a file Trapeze can load)");
        if (Loader.ExecutableFile.Open(hostPath, path, out var file) is { } failure)
            return failure;
        program = new ProgramData(file!, location.Clone(), Memory.GuestText.Decode(PathWalker.Show(location.Path, context.Root.Path)));
        return null;
    }

    /// <summary>
    /// The directory a mount covers, or (<paramref name="fileOnFile"/>: a bind of a file, such as an
    /// engine's /etc/hosts) the file. A missing directory is made when its parent is Trapeze's own
    /// (a tmpfs), as container runtimes make /dev/shm in a fresh /dev; the host's tree is not changed.
    /// </summary>
    private Errno Mountable(string guestPath, bool create, out Location at, bool fileOnFile = false)
    {
        at = default;
        var root = Table.RootLocation;
        var path = Encoding.UTF8.GetBytes(guestPath);
        using var walk = new WalkResult();
        if (PathWalker.Walk(null, root, root, path, WalkFlags.FollowLast | WalkFlags.AllowMissing, walk) is var error and not Errno.None)
            return error;
        if (walk.Target is null && create && walk.Directory.Node is TmpNode parent && walk.Name is { } name
            && parent.FileSystem.MakeDirectory(null, parent, name, 0b111_101_101) == Errno.None)
            return Mountable(guestPath, create: false, out at, fileOnFile);
        if (walk.Target is not { } target)
            return Errno.ENOENT;
        if (target.Node.IsDirectory == fileOnFile)
            return fileOnFile ? Errno.EISDIR : Errno.ENOTDIR;
        at = target.Clone();
        return Errno.None;
    }
}
