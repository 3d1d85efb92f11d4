using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// What an open file is for inotify: its inode, and the directory and name it was opened by, which
/// a rename moves along (events about the file go to watches on that directory too, with the name).
/// </summary>
public sealed class WatchedName(InodeKey inode, InodeKey? parent, byte[]? name, bool isDirectory, bool writes, bool pathOnly)
{
    public InodeKey Inode => inode;
    public InodeKey? Parent { get; set; } = parent;
    public byte[]? Name { get; set; } = name;
    public bool IsDirectory => isDirectory;

    /// <summary>Opened for writing: its close is IN_CLOSE_WRITE, else IN_CLOSE_NOWRITE.</summary>
    public bool Writes => writes;

    /// <summary>An O_PATH descriptor: it keeps the inode alive but raises no events.</summary>
    public bool PathOnly => pathOnly;
}

/// <summary>
/// The kernel's inotify watches, by inode, and the events the VFS operations guests perform raise
/// on them (fsnotify's hooks): an event about a file goes first to watches on its directory, with
/// its name, then to watches on the file itself. An inode whose last link went is deleted (IN_DELETE_SELF,
/// then IN_IGNORED) once no descriptor holds it open. Changes made outside Trapeze are not seen.
/// </summary>
public sealed class FileNotifications
{
    public const InotifyMask AllEvents = InotifyMask.IN_ACCESS | InotifyMask.IN_MODIFY | InotifyMask.IN_ATTRIB | InotifyMask.IN_CLOSE_WRITE
        | InotifyMask.IN_CLOSE_NOWRITE | InotifyMask.IN_OPEN | InotifyMask.IN_MOVED_FROM | InotifyMask.IN_MOVED_TO | InotifyMask.IN_CREATE
        | InotifyMask.IN_DELETE | InotifyMask.IN_DELETE_SELF | InotifyMask.IN_MOVE_SELF;

    private readonly Dictionary<InodeKey, List<InotifyWatch>> watches = [];
    private readonly Dictionary<InodeKey, List<OpenFile>> opens = [];
    private readonly Lazy<(int Queued, int Instances, int Watches)> limits = new(ReadLimits);
    private uint lastCookie;
    private int instances, watchCount;

    internal object Gate { get; } = new();

    /// <summary>Whether any watch exists: the cheap test every hook makes first.</summary>
    public bool Active => watchCount > 0;

    /// <summary>/proc/sys/fs/inotify/max_queued_events: the host's, which the guest reads there.</summary>
    public int MaximumQueued => limits.Value.Queued;

    /// <summary>inotify_init1: EMFILE past max_user_instances (all guests are one user).</summary>
    internal Result NewInstance(out InotifyFile? file)
    {
        lock (Gate)
        {
            file = null;
            if (instances >= limits.Value.Instances)
                return Errno.EMFILE;
            instances++;
            file = new InotifyFile(this);
            return 0;
        }
    }

    internal void InstanceClosed() => instances--;

    internal bool TakeWatch() => watchCount < limits.Value.Watches;

    internal void Add(InotifyWatch watch)
    {
        if (!watches.TryGetValue(watch.Inode, out var list))
            watches[watch.Inode] = list = [];
        list.Add(watch);
        watchCount++;
    }

    internal void Remove(InotifyWatch watch)
    {
        if (watches.TryGetValue(watch.Inode, out var list) && list.Remove(watch))
        {
            watchCount--;
            if (list.Count == 0)
                watches.Remove(watch.Inode);
        }
    }

    /// <summary>
    /// A file the walker opened (or made: IN_CREATE first): remembered by inode, for renames and
    /// deletion, then IN_OPEN, and IN_MODIFY when O_TRUNC truncated it. An O_TMPFILE file has no name.
    /// </summary>
    public void Opened(OpenFile file, WalkResult walk, OpenFlags flags, bool truncated)
    {
        var unnamed = (flags & OpenFlags.__O_TMPFILE) == OpenFlags.__O_TMPFILE;
        InodeKey inode;
        var isDirectory = false;
        InodeKey? parent = null;
        byte[]? name = null;
        if (walk.Target is { } target && !unnamed)
        {
            if (target.Node.FileSystem is ProcVfs)
                return;
            inode = target.Node.Identity;
            isDirectory = target.Node.IsDirectory;
            if (NamedIn(walk))
                (parent, name) = (walk.Directory.Node.Identity, walk.Name);
        }
        else if (IdentityOf(file) is { } made)
        {
            inode = made;
            if (!unnamed && walk.Name is { } created)
            {
                (parent, name) = (walk.Directory.Node.Identity, created);
                Created(walk.Directory, created, isDirectory: false);
            }
        }
        else
            return;
        var pathOnly = (flags & OpenFlags.O_PATH) != 0;
        var writes = (flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) != 0;
        var watched = new WatchedName(inode, parent, name, isDirectory, writes, pathOnly);
        lock (Gate)
        {
            file.NamedAs = watched;
            if (!opens.TryGetValue(inode, out var list))
                opens[inode] = list = [];
            list.Add(file);
        }
        file.Released += Closed;
        if (pathOnly || !Active)
            return;
        OnFile(file, InotifyMask.IN_OPEN);
        if (truncated)
            OnFile(file, InotifyMask.IN_MODIFY);
    }

    /// <summary>An event about an open file (IN_ACCESS after a read, IN_MODIFY after a write, IN_ATTRIB after fchmod...).</summary>
    public void OnFile(OpenFile file, InotifyMask mask)
    {
        if (!Active || file.NamedAs is not { PathOnly: false } watched)
            return;
        lock (Gate)
            Raise(watched.Parent, watched.Name, watched.Inode, mask | (watched.IsDirectory ? InotifyMask.IN_ISDIR : 0));
    }

    /// <summary>After a read or write: an event when bytes moved (<paramref name="always"/>: when the call succeeded).</summary>
    public Result Transferred(OpenFile file, Result result, InotifyMask mask, bool always = false)
    {
        if (Active && result is { IsFinished: true, IsError: false } && (always || result.Raw > 0))
            OnFile(file, mask);
        return result;
    }

    private void Closed(OpenFile file)
    {
        if (file.NamedAs is not { } watched)
            return;
        lock (Gate)
        {
            if (opens.TryGetValue(watched.Inode, out var list))
            {
                list.Remove(file);
                if (list.Count == 0)
                    opens.Remove(watched.Inode);
            }
            if (!Active)
                return;
            if (!watched.PathOnly)
                Raise(watched.Parent, watched.Name, watched.Inode, (watched.Writes ? InotifyMask.IN_CLOSE_WRITE : InotifyMask.IN_CLOSE_NOWRITE) | (watched.IsDirectory ? InotifyMask.IN_ISDIR : 0));
            if (!opens.ContainsKey(watched.Inode) && watches.ContainsKey(watched.Inode) && file.Status(out var status) is { IsError: false } && status.LinkCount == 0)
                Deleted(watched.Inode);
        }
    }

    /// <summary>An event about the object a path named (chmod, truncate, utimensat...).</summary>
    public void OnPath(WalkResult walk, InotifyMask mask)
    {
        if (!Active || mask == 0 || walk.Target is not { } target)
            return;
        var named = NamedIn(walk);
        lock (Gate)
            Raise(named ? walk.Directory.Node.Identity : null, named ? walk.Name : null, target.Node.Identity, mask | IsDirectory(target.Node));
    }

    /// <summary>A name made in a directory (open with O_CREAT, mkdir, mknod, symlink).</summary>
    public void Created(Location directory, byte[] name, bool isDirectory)
    {
        if (!Active)
            return;
        lock (Gate)
            Raise(directory.Node.Identity, name, null, InotifyMask.IN_CREATE | (isDirectory ? InotifyMask.IN_ISDIR : 0));
    }

    /// <summary>link: the inode's link count changed (IN_ATTRIB), and a name appeared.</summary>
    public void Linked(Location existing, Location directory, byte[] name)
    {
        if (!Active)
            return;
        lock (Gate)
        {
            Raise(null, null, existing.Node.Identity, InotifyMask.IN_ATTRIB);
            Raise(directory.Node.Identity, name, null, InotifyMask.IN_CREATE);
        }
    }

    /// <summary>unlink or rmdir succeeded: a file's link count changed; the inode went if nothing else links or holds it; the name went.</summary>
    public void Removed(WalkResult walk, bool isDirectory)
    {
        if (!Active || walk.Target is not { } target || walk.Name is not { } name)
            return;
        var inode = target.Node.Identity;
        lock (Gate)
        {
            if (!isDirectory)
                Raise(null, null, inode, InotifyMask.IN_ATTRIB);
            if (Unlinked(target.Node, isDirectory))
                Deleted(inode);
            Raise(walk.Directory.Node.Identity, name, null, InotifyMask.IN_DELETE | (isDirectory ? InotifyMask.IN_ISDIR : 0));
        }
    }

    /// <summary>rename succeeded: IN_MOVED_FROM and IN_MOVED_TO with one cookie, the replaced file's link count, IN_MOVE_SELF.</summary>
    public void Renamed(WalkResult source, WalkResult target, bool exchange)
    {
        if (source.Target is not { } moved || source.Name is not { } fromName || target.Name is not { } toName)
            return;
        var replaced = target.Target;
        lock (Gate)
        {
            Follow(moved.Node.Identity, source.Directory.Node.Identity, fromName, target.Directory.Node.Identity, toName);
            if (exchange && replaced is { } other)
                Follow(other.Node.Identity, target.Directory.Node.Identity, toName, source.Directory.Node.Identity, fromName);
            if (!Active)
                return;
            Move(moved.Node, source.Directory, fromName, target.Directory, toName, exchange ? null : replaced);
            if (exchange && replaced is { } swapped)
                Move(swapped.Node, target.Directory, toName, source.Directory, fromName, null);
            else if (replaced is { } gone && Unlinked(gone.Node, gone.Node.IsDirectory))
                Deleted(gone.Node.Identity);
        }
    }

    private void Move(Node moved, Location from, byte[] fromName, Location to, byte[] toName, Location? replaced)
    {
        var cookie = ++lastCookie == 0 ? ++lastCookie : lastCookie;
        var directory = IsDirectory(moved);
        Raise(from.Node.Identity, fromName, null, InotifyMask.IN_MOVED_FROM | directory, cookie);
        Raise(to.Node.Identity, toName, null, InotifyMask.IN_MOVED_TO | directory, cookie);
        if (replaced is { } target)
            Raise(null, null, target.Node.Identity, InotifyMask.IN_ATTRIB | IsDirectory(target.Node));
        Raise(null, null, moved.Identity, InotifyMask.IN_MOVE_SELF | directory);
    }

    /// <summary>Open files of a renamed inode now report under its new directory and name.</summary>
    private void Follow(InodeKey inode, InodeKey fromDirectory, byte[] fromName, InodeKey toDirectory, byte[] toName)
    {
        if (!opens.TryGetValue(inode, out var list))
            return;
        foreach (var file in list)
        {
            if (file.NamedAs is { } watched && watched.Parent == fromDirectory && watched.Name.AsSpan().SequenceEqual(fromName))
            {
                watched.Parent = toDirectory;
                watched.Name = toName;
            }
        }
    }

    /// <summary>Whether a node that lost a name is gone: no links left (a removed directory has none) and no descriptor holding it.</summary>
    private bool Unlinked(Node node, bool isDirectory)
    {
        var inode = node.Identity;
        if (!watches.ContainsKey(inode) || opens.ContainsKey(inode))
            return false;
        return isDirectory || (node.FileSystem.Status(node, out var status) == Errno.None && status.LinkCount == 0);
    }

    /// <summary>The inode went: IN_DELETE_SELF to its watches, each of which then goes (IN_IGNORED).</summary>
    private void Deleted(InodeKey inode)
    {
        Raise(null, null, inode, InotifyMask.IN_DELETE_SELF);
        if (watches.TryGetValue(inode, out var list))
        {
            foreach (var watch in list.ToArray())
                watch.Owner.Drop(watch);
        }
    }

    /// <summary>One event: to the directory's watches with the name, then to the inode's own watches; a one-shot watch goes after it.</summary>
    private void Raise(InodeKey? directory, byte[]? name, InodeKey? inode, InotifyMask mask, uint cookie = 0)
    {
        if (directory is { } parent && watches.TryGetValue(parent, out var onDirectory))
            Deliver(onDirectory, mask, cookie, name);
        if (inode is { } self && watches.TryGetValue(self, out var onInode))
            Deliver(onInode, mask, cookie, null);
    }

    private static void Deliver(List<InotifyWatch> list, InotifyMask mask, uint cookie, byte[]? name)
    {
        foreach (var watch in list.ToArray())
        {
            if ((watch.Mask & mask & AllEvents) == 0)
                continue;
            watch.Owner.Queue(watch.Descriptor, mask, cookie, name);
            if ((watch.Mask & InotifyMask.IN_ONESHOT) != 0)
                watch.Owner.Drop(watch);
        }
    }

    /// <summary>Whether the walk reached its target by the name in its directory (not ".", "..", "/" or a magic link).</summary>
    public static bool NamedIn(WalkResult walk)
        => walk.Name is { } name && !PathWalker.IsDot(name) && !PathWalker.IsDotDot(name) && walk.Target is { } target
            && target.Path.AsSpan().SequenceEqual(PathWalker.Join(walk.Directory.Path, name));

    /// <summary>A file the open made: its tmpfs node, or the host inode behind its descriptor.</summary>
    private static InodeKey? IdentityOf(OpenFile file)
    {
        if (file.Node is { } node)
            return node.Identity;
        return file.Status(out var status).IsError ? null : new InodeKey(null, status.Device, status.Inode);
    }

    private static InotifyMask IsDirectory(Node node) => node.IsDirectory ? InotifyMask.IN_ISDIR : 0;

    private static (int, int, int) ReadLimits()
        => (Limit("max_queued_events", 16384), Limit("max_user_instances", 128), Limit("max_user_watches", 8192));

    private static int Limit(string name, int fallback)
    {
        try
        {
            return int.TryParse(File.ReadAllText($"/proc/sys/fs/inotify/{name}").Trim(), out var value) && value > 0 ? value : fallback;
        }
        catch (IOException)
        {
            return fallback;
        }
        catch (UnauthorizedAccessException)
        {
            return fallback;
        }
    }
}
