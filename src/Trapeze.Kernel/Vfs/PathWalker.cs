using Trapeze.Kernel.Files;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

[Flags]
public enum WalkFlags
{
    None = 0,
    /// <summary>Follow a final symbolic link (open without O_NOFOLLOW, stat, chdir...).</summary>
    FollowLast = 1,
    /// <summary>The last name may be missing: the walk ends at its directory (creat, mkdir, rename's target...).</summary>
    AllowMissing = 2,
    /// <summary>An empty path names the starting directory or file itself (AT_EMPTY_PATH).</summary>
    EmptyPath = 4,
    /// <summary>openat2's RESOLVE_* checks.</summary>
    Beneath = 8,
    InRoot = 16,
    NoSymbolicLinks = 32,
    NoMagicLinks = 64,
    NoCrossing = 128,
}

/// <summary>
/// Where a walk ended: the object named (if it exists), and for calls that make or remove names,
/// the directory holding the last name and the name. Disposing it releases every node the walk
/// made; keep a <see cref="Location.Clone"/> of anything needed afterwards.
/// </summary>
public sealed class WalkResult : IDisposable
{
    internal readonly List<Node> Made = [];

    public Location? Target { get; internal set; }
    public Location Directory { get; internal set; }

    /// <summary>The last name as written ("." or ".." when the path ends so; null for "/").</summary>
    public byte[]? Name { get; internal set; }

    /// <summary>The path ended with '/': the object must be a directory.</summary>
    public bool TrailingSlash { get; internal set; }

    public void Dispose()
    {
        foreach (var node in Made)
            node.Dispose();
        Made.Clear();
    }
}

/// <summary>
/// The one path walker: resolves a guest path one name at a time over the mount table, from the
/// process's root or working directory (or a dirfd), as Linux's namei does. ".." never leaves the
/// root, symbolic links (absolute ones from the root) resolve inside it, and at most 40 are followed.
/// </summary>
public static class PathWalker
{
    public const int MaximumLinks = 40;
    public const int NameMaximum = 255;
    private const int CurrentDirectory = -100; // AT_FDCWD

    /// <summary>Walks a path a thread names relative to <paramref name="directory"/> (a dirfd or AT_FDCWD).</summary>
    public static Errno Walk(GuestThread thread, int directory, byte[] path, WalkFlags flags, out WalkResult result)
    {
        result = new WalkResult();
        var context = thread.Process.FileSystem;
        if (path.Length == 0 && (flags & WalkFlags.EmptyPath) == 0)
            return Errno.ENOENT;
        Location start;
        if (path.Length > 0 && path[0] == '/' && (flags & (WalkFlags.InRoot | WalkFlags.Beneath)) == 0)
            start = context.Root;
        else if (directory == CurrentDirectory)
            start = context.WorkingDirectory;
        else if (thread.Process.Files.Get(directory) is not { } file)
            return Errno.EBADF;
        else if (LocationOf(thread.Kernel, file, result) is { } location)
            start = location;
        else
            return path.Length == 0 ? Errno.EBADF : Errno.ENOTDIR;
        if (path.Length == 0)
        {
            result.Target = start;
            result.Directory = start;
            return Errno.None;
        }
        if (!start.Node.IsDirectory)
            return Errno.ENOTDIR;
        var root = (flags & (WalkFlags.InRoot | WalkFlags.Beneath)) != 0 ? start : context.Root;
        if (start.SameAs(context.Root) && path[0] == '/' && InSysroot(thread, thread.Kernel.FileSystems.Sysroot, path, flags) is { } found)
        {
            result = found;
            return Errno.None;
        }
        return Walk(thread, root, start, path, flags, result);
    }

    /// <summary>
    /// --sysroot, as qemu-user's -L: an absolute path that names a file (not a directory) in the sysroot
    /// means that file; otherwise it is looked up as usual. Null when the sysroot has no such file.
    /// </summary>
    public static WalkResult? InSysroot(GuestThread? reader, Location? sysroot, byte[] path, WalkFlags flags)
    {
        if (sysroot is not { } top || path[0] != '/')
            return null;
        var walk = new WalkResult();
        if (Walk(reader, top, top, path, flags & ~WalkFlags.AllowMissing, walk) == Errno.None && walk.Target is { Node.IsDirectory: false })
            return walk;
        walk.Dispose();
        return null;
    }

    /// <summary>The walk itself, from <paramref name="start"/>, with <paramref name="root"/> as "/".</summary>
    public static Errno Walk(GuestThread? reader, Location root, Location start, byte[] path, WalkFlags flags, WalkResult result)
    {
        if ((flags & WalkFlags.Beneath) != 0 && path[0] == '/')
            return Errno.EXDEV;
        var pending = new Stack<byte[]>();
        Push(pending, path);
        result.TrailingSlash = path[^1] == '/';
        var current = path[0] == '/' ? root : start;
        var links = 0;
        var depth = 0; // below the start, for RESOLVE_BENEATH
        result.Directory = current;
        while (pending.Count > 0)
        {
            var name = pending.Pop();
            var last = pending.Count == 0;
            if (!current.Node.IsDirectory)
                return Errno.ENOTDIR;
            if (name.Length > NameMaximum)
                return Errno.ENAMETOOLONG;
            if (IsDot(name) || IsDotDot(name))
            {
                if (IsDotDot(name) && DotDot(ref current, root, ref depth, flags, result) is var upError and not Errno.None)
                    return upError;
                if (last)
                {
                    result.Directory = current;
                    result.Target = current;
                    result.Name = name;
                }
                continue;
            }
            var lookup = current.Node.FileSystem.Lookup(reader, current.Node, name, out var child);
            if (lookup == Errno.ENOENT && last && (flags & WalkFlags.AllowMissing) != 0)
            {
                result.Directory = current;
                result.Name = name;
                result.Target = null;
                return Errno.None;
            }
            if (lookup != Errno.None)
                return lookup;
            result.Made.Add(child!);
            var next = new Location(current.Mount, child!, Join(current.Path, name));
            if (CrossMounts(ref next, flags) is var crossError and not Errno.None)
                return crossError;
            var follow = !last || (flags & WalkFlags.FollowLast) != 0 || result.TrailingSlash;
            if (next.Node.IsSymbolicLink && follow)
            {
                if (++links > MaximumLinks || (flags & WalkFlags.NoSymbolicLinks) != 0)
                    return Errno.ELOOP;
                if (next.Node.FileSystem.FollowMagic(reader, next.Node) is { } magic)
                {
                    result.Made.Add(magic.Node);
                    if ((flags & WalkFlags.NoMagicLinks) != 0)
                        return Errno.ELOOP;
                    if ((flags & (WalkFlags.Beneath | WalkFlags.InRoot)) != 0)
                        return Errno.EXDEV;
                    current = magic;
                    if (last)
                    {
                        result.Directory = current;
                        result.Target = current;
                        result.Name = name;
                    }
                    continue;
                }
                if (next.Node.FileSystem.ReadLink(next.Node, out var target) is var linkError and not Errno.None)
                    return linkError;
                if (target.Length == 0)
                    return Errno.ENOENT;
                if (target[0] == '/')
                {
                    if ((flags & WalkFlags.Beneath) != 0)
                        return Errno.EXDEV;
                    current = root;
                    depth = 0;
                }
                if (!Push(pending, target) && last)
                {
                    // A link to "/" (or "." ...) names the directory reached.
                    result.Directory = current;
                    result.Target = current;
                    result.Name = name;
                }
                continue;
            }
            if (last)
            {
                result.Directory = current;
                result.Target = next;
                result.Name = name;
                break;
            }
            current = next;
            depth++;
        }
        if (result.Name is null)
        {
            result.Target = current;
            result.Directory = current;
        }
        if (result.TrailingSlash && result.Target is { } found && !found.Node.IsDirectory)
            return Errno.ENOTDIR;
        return Errno.None;
    }

    /// <summary>The location of an open file, to walk relative to (a dirfd) or to act on (AT_EMPTY_PATH).</summary>
    public static Location? LocationOf(Kernel kernel, OpenFile file, WalkResult? owner)
    {
        if (file.Mount is not { } mount)
            return null;
        Node node;
        if (file.Node is { } kept)
            node = kept;
        else if (file.HostDescriptor is { } host && mount.FileSystem is HostFs hostFs)
        {
            node = hostFs.Borrow(host);
            owner?.Made.Add(node);
        }
        else
            return null;
        return new Location(mount, node, file.GuestPath ?? System.Text.Encoding.UTF8.GetBytes(file.Path));
    }

    private static Errno DotDot(ref Location current, Location root, ref int depth, WalkFlags flags, WalkResult result)
    {
        if ((flags & WalkFlags.Beneath) != 0 && depth == 0)
            return Errno.EXDEV;
        if (current.SameAs(root))
            return Errno.None;
        // At a mount's root, ".." is the parent of the directory it is mounted on.
        while (current.Node.SameAs(current.Mount.Root) && current.Mount.Parent is { } parentMount)
        {
            if ((flags & WalkFlags.NoCrossing) != 0)
                return Errno.EXDEV;
            current = new Location(parentMount, current.Mount.MountPoint!, current.Path);
            if (current.SameAs(root))
                return Errno.None;
        }
        if (current.Node.FileSystem.Parent(current.Node) is not { } parent)
            return Errno.None;
        result.Made.Add(parent);
        current = new Location(current.Mount, parent, ParentPath(current.Path));
        if (depth > 0)
            depth--;
        return Errno.None;
    }

    private static Errno CrossMounts(ref Location location, WalkFlags flags)
    {
        var table = location.Mount.Table;
        while (table?.MountedOn(location.Mount, location.Node) is { } mounted)
        {
            if ((flags & WalkFlags.NoCrossing) != 0)
                return Errno.EXDEV;
            location = new Location(mounted, mounted.Root, location.Path);
        }
        return Errno.None;
    }

    /// <summary>Pushes a path's names so the first pops first; false if it has none ("/", "").</summary>
    private static bool Push(Stack<byte[]> pending, byte[] path)
    {
        var names = new List<byte[]>();
        var start = 0;
        for (var index = 0; index <= path.Length; index++)
        {
            if (index == path.Length || path[index] == '/')
            {
                if (index > start)
                    names.Add(path[start..index]);
                start = index + 1;
            }
        }
        for (var index = names.Count - 1; index >= 0; index--)
            pending.Push(names[index]);
        return names.Count > 0;
    }

    public static bool IsDot(byte[] name) => name is [(byte)'.'];
    public static bool IsDotDot(byte[] name) => name is [(byte)'.', (byte)'.'];

    public static byte[] Join(byte[] directory, byte[] name)
    {
        if (directory is [(byte)'/'])
            return [(byte)'/', .. name];
        return [.. directory, (byte)'/', .. name];
    }

    public static byte[] ParentPath(byte[] path)
    {
        var slash = Array.LastIndexOf(path, (byte)'/');
        return slash <= 0 ? [(byte)'/'] : path[..slash];
    }

    /// <summary>A namespace path as a process with root <paramref name="root"/> sees it.</summary>
    public static byte[] Show(byte[] path, byte[] root)
    {
        if (root is [(byte)'/'])
            return path;
        if (path.AsSpan().SequenceEqual(root))
            return [(byte)'/'];
        if (path.Length > root.Length && path.AsSpan().StartsWith(root) && path[root.Length] == '/')
            return path[root.Length..];
        return path; // outside the root (Linux prefixes "(unreachable)" for getcwd)
    }
}
