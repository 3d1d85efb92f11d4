using System.Text;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>A --bind: a host directory shown at a guest path, perhaps read-only.</summary>
public sealed record BindMount(string HostPath, string GuestPath, bool ReadOnly);

/// <summary>What the guest's file system is made of (the CLI's --root, --bind, --ro, --cwd).</summary>
public sealed record FileSystemLayout
{
    /// <summary>The host directory that is the guest's "/".</summary>
    public string Root { get; init; } = "/";
    public bool ReadOnly { get; init; }
    public IReadOnlyList<BindMount> Binds { get; init; } = [];

    /// <summary>The first process's working directory (a guest path); by default Trapeze's own when the root is "/", else "/".</summary>
    public string? WorkingDirectory { get; init; }
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
        foreach (var bind in layout.Binds)
        {
            if (HostFs.Create(bind.HostPath, out var bindFs) is var bindError and not Errno.None
                || Mountable(bind.GuestPath, out var at) is var pointError and not Errno.None)
            {
                message = $"--bind {bind.HostPath}:{bind.GuestPath}: cannot mount there";
                return Errno.ENOENT;
            }
            Table.Add(bindFs!, bindFs!.Root, at, bind.ReadOnly || layout.ReadOnly);
            at.Node.Dispose();
        }
        if (Mountable("/proc", out var proc) == Errno.None)
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
    public static Loader.LoadFailure? ReadProgram(GuestThread? reader, FileSystemContext context, string path, out ProgramData? program)
    {
        const uint AnyExecute = 0b001_001_001;
        program = null;
        var bytes = Encoding.UTF8.GetBytes(path);
        using var walk = new WalkResult();
        var error = bytes.Length == 0 ? Errno.ENOENT
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
        program = new ProgramData(file!, location.Clone(), Encoding.UTF8.GetString(PathWalker.Show(location.Path, context.Root.Path)));
        return null;
    }

    private Errno Mountable(string guestPath, out Location at)
    {
        at = default;
        var root = Table.RootLocation;
        using var walk = new WalkResult();
        if (PathWalker.Walk(null, root, root, Encoding.UTF8.GetBytes(guestPath), WalkFlags.FollowLast, walk) is var error and not Errno.None)
            return error;
        if (walk.Target is not { Node.IsDirectory: true } target)
            return Errno.ENOTDIR;
        at = target.Clone();
        return Errno.None;
    }
}
