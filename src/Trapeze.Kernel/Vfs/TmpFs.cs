using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// Trapeze's own in-memory file system (--tmpfs, /dev, memfd_create). Names, modes, owners, links
/// and times live in <see cref="TmpNode"/>s; a regular file's bytes live in a host memfd, so an
/// open file is a <see cref="HostFile"/> over a reopened memfd: read, write, mmap (MAP_SHARED
/// included), ftruncate, fallocate, SEEK_DATA and seals are the host kernel's. Permissions are
/// checked here against the caller's credentials, as the host cannot know the guest's.
/// </summary>
public sealed unsafe partial class TmpFs : FileSystem
{
    public const ulong Magic = 0x01021994; // TMPFS_MAGIC
    private const uint Read = 4, Write = 2, Execute = 1;
    private const uint StickyBit = 0x200, SetGroupBit = 0x400;
    private readonly Lock gate = new();
    private ulong nextInode = 1;

    /// <summary>A tmpfs whose root has <paramref name="rootMode"/> (permission bits) and owner, holding at most <paramref name="sizeLimit"/> bytes and <paramref name="inodeLimit"/> inodes.</summary>
    public TmpFs(uint rootMode, uint user, uint group, long? sizeLimit = null, uint deviceMinor = 40, long? inodeLimit = null)
    {
        Device = deviceMinor; // makedev(0, minor): an anonymous device, as Linux gives tmpfs
        SizeLimit = sizeLimit;
        InodeLimit = inodeLimit;
        TakeInode();
        RootNode = new TmpNode(this, FileTypes.Directory | (rootMode & 0b111_111_111_111), user, group, null);
    }

    public override string Type => "tmpfs";
    public override Node Root => RootNode;
    public TmpNode RootNode { get; }
    public ulong Device { get; }

    /// <summary>The size= option: the most bytes the files hold (half the host's memory for statfs when unset, as Linux's default).</summary>
    public long? SizeLimit { get; }

    internal ulong NextInode() => Interlocked.Increment(ref nextInode);

    internal static Timespec Now()
    {
        var ticks = DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks;
        return new Timespec { Seconds = ticks / TimeSpan.TicksPerSecond, Nanoseconds = ticks % TimeSpan.TicksPerSecond * 100 };
    }

    /// <summary>A host memfd (close-on-exec, sealable) for a regular file's bytes.</summary>
    internal static int MakeMemory(string name)
    {
        const long CloseOnExec = 1, AllowSealing = 2;
        fixed (byte* text = HostFs.Terminated(System.Text.Encoding.UTF8.GetBytes(name)))
        {
            var descriptor = HostSyscall.Invoke(HostSyscall.Number("memfd_create"), (long)text, CloseOnExec | AllowSealing);
            if (descriptor < 0)
                throw new InvalidOperationException($"memfd_create: {HostSyscall.ErrorOf(descriptor)}");
            return (int)descriptor;
        }
    }

    /// <summary>Makes a regular file that no directory names (O_TMPFILE, memfd_create).</summary>
    public TmpNode? MakeUnnamed(GuestThread? caller, uint permissions, int memory = -1)
    {
        lock (gate)
        {
            if (!TakeInode())
                return null;
        }
        var (user, group) = Owner(caller, null);
        var node = new TmpNode(this, FileTypes.Regular | (permissions & 0b111_111_111_111), user, group, null) { Memory = memory };
        node.LinkCount = 0;
        return node;
    }

    /// <summary>Adds a node under <paramref name="directory"/> while the file system is being built (DevFs).</summary>
    internal TmpNode Populate(TmpNode directory, string name, uint mode, ulong device = 0, byte[]? target = null)
    {
        var node = new TmpNode(this, mode, directory.UserId, directory.GroupId, directory) { Device = device, Target = target ?? [] };
        lock (gate)
        {
            TakeInode();
            directory.AddEntry(System.Text.Encoding.UTF8.GetBytes(name), node);
        }
        return node;
    }

    public override Errno Lookup(GuestThread? reader, Node directory, byte[] name, out Node? child)
    {
        child = null;
        var parent = (TmpNode)directory;
        if (!parent.IsDirectory)
            return Errno.ENOTDIR;
        if (!Permits(reader, parent, Execute))
            return Errno.EACCES;
        lock (gate)
            child = parent.Find(name)?.Node;
        return child is null ? Errno.ENOENT : Errno.None;
    }

    public override Node? Parent(Node node)
    {
        var tmp = (TmpNode)node;
        return tmp.Parent is { } parent && !ReferenceEquals(parent, tmp) ? parent : null;
    }

    public override Errno Status(Node node, out LinuxStat status)
    {
        const ulong DirectoryEntrySize = 20; // BOGO_DIRENT_SIZE
        var tmp = (TmpNode)node;
        status = default;
        if (tmp.IsRegular)
        {
            if (HostFs.StatusOf(tmp.Memory, out status) is var error and not Errno.None)
                return error;
            if (Compare(tmp.ChangeTime, status.ChangeSeconds, status.ChangeNanoseconds) > 0)
                (status.ChangeSeconds, status.ChangeNanoseconds) = (tmp.ChangeTime.Seconds, tmp.ChangeTime.Nanoseconds);
        }
        else
        {
            status.Size = tmp.IsDirectory ? (long)(DirectoryEntrySize * (ulong)(tmp.EntryCount + 2)) : tmp.Target.Length;
            (status.AccessSeconds, status.AccessNanoseconds) = (tmp.AccessTime.Seconds, tmp.AccessTime.Nanoseconds);
            (status.ModifySeconds, status.ModifyNanoseconds) = (tmp.ModifyTime.Seconds, tmp.ModifyTime.Nanoseconds);
            (status.ChangeSeconds, status.ChangeNanoseconds) = (tmp.ChangeTime.Seconds, tmp.ChangeTime.Nanoseconds);
            status.Blocks = 0;
        }
        status.Device = Device;
        status.Inode = tmp.Inode;
        status.Mode = tmp.Mode;
        status.LinkCount = tmp.LinkCount;
        status.UserId = tmp.UserId;
        status.GroupId = tmp.GroupId;
        status.SpecialDevice = tmp.Device;
        status.BlockSize = 4096;
        return Errno.None;
    }

    public override Errno ReadLink(Node node, out byte[] target)
    {
        target = ((TmpNode)node).Target;
        return node.IsSymbolicLink ? Errno.None : Errno.EINVAL;
    }

    public override Result Open(GuestThread thread, Node node, OpenFlags flags, byte[] path, out OpenFile? file)
    {
        file = null;
        var tmp = (TmpNode)node;
        if ((flags & OpenFlags.O_PATH) != 0)
        {
            file = new TmpPathFile(tmp, path) { Node = tmp, StatusFlags = OpenFlags.O_PATH | (flags & OpenFlags.O_DIRECTORY) };
            return 0;
        }
        if (node.IsSymbolicLink)
            return Errno.ELOOP;
        var access = (flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) switch
        {
            OpenFlags.O_WRONLY => Write,
            OpenFlags.O_RDWR => Read | Write,
            _ => Read,
        };
        if ((flags & OpenFlags.O_TRUNC) != 0)
            access |= Write;
        if (!Permits(thread, tmp, access))
            return Errno.EACCES;
        return OpenNode(thread, tmp, flags, path, out file);
    }

    private Result OpenNode(GuestThread thread, TmpNode node, OpenFlags flags, byte[] path, out OpenFile? file)
    {
        file = null;
        switch (node.Mode & FileTypes.Mask)
        {
            case FileTypes.Directory:
                file = new TmpDirectory(node, path) { Node = node, StatusFlags = HostFs.StatusFlagsOf(flags) };
                return 0;
            case FileTypes.Character:
                return DevFs.OpenDevice(node, flags, path, out file);
            case FileTypes.Regular:
                const OpenFlags Kept = OpenFlags.O_WRONLY | OpenFlags.O_RDWR | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_TRUNC
                    | OpenFlags.O_SYNC | OpenFlags.O_DSYNC | OpenFlags.O_NOATIME | OpenFlags.O_LARGEFILE | OpenFlags.FASYNC;
                // The memfd reopened through the host's /proc: a new open file (its own offset and flags) on the same bytes.
                fixed (byte* text = HostFs.Terminated(System.Text.Encoding.ASCII.GetBytes($"/proc/self/fd/{node.Memory}")))
                {
                    var descriptor = HostSyscall.Invoke(HostSyscall.Openat, HostPath.CurrentDirectory, (long)text, (long)((flags & Kept) | OpenFlags.O_CLOEXEC));
                    if (descriptor < 0)
                        return descriptor;
                    file = new HostFile((int)descriptor, System.Text.Encoding.UTF8.GetString(path), HostFs.StatusFlagsOf(flags)) { GuestPath = path, Node = node };
                    lock (gate)
                        node.Opens++;
                    file.Released += _ => Closed(node);
                    return 0;
                }
            case FileTypes.Fifo:
                return TmpFifo.Open(thread, node, flags, path, out file);
            default:
                return Errno.ENXIO; // a socket cannot be opened (as Linux); block devices of a tmpfs cannot be opened yet
        }
    }

    public override Result Create(GuestThread thread, Node directory, byte[] name, OpenFlags flags, uint mode, byte[] path, out OpenFile? file)
    {
        file = null;
        var parent = (TmpNode)directory;
        if (!Permits(thread, parent, Write | Execute))
            return Errno.EACCES;
        TmpNode node;
        if (PathWalker.IsDot(name))
        {
            // O_TMPFILE: an unnamed file, which linkat may name later.
            if ((flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) == 0)
                return Errno.EINVAL;
            if (MakeUnnamed(thread, mode) is not { } unnamed)
                return Errno.ENOSPC;
            node = unnamed;
            node.GroupId = Owner(thread, parent).Group;
        }
        else
        {
            lock (gate)
            {
                if (parent.Find(name) is not null)
                    return Errno.EEXIST;
                if (!TakeInode())
                    return Errno.ENOSPC;
                var (user, group) = Owner(thread, parent);
                node = new TmpNode(this, FileTypes.Regular | (mode & 0b111_111_111_111), user, group, parent);
                parent.AddEntry(name, node);
            }
        }
        return OpenNode(thread, node, flags & ~OpenFlags.O_TRUNC, path, out file);
    }

    public override Errno MakeDirectory(GuestThread? caller, Node directory, byte[] name, uint mode)
        => AddNode(caller, directory, name, FileTypes.Directory | (mode & 0b111_111_111_111), 0, null);

    public override Errno MakeNode(GuestThread? caller, Node directory, byte[] name, uint mode, ulong device)
    {
        var type = mode & FileTypes.Mask;
        if (type is FileTypes.Character or FileTypes.Block && Who(caller) is { EffectiveUser: not 0 })
            return Errno.EPERM;
        return AddNode(caller, directory, name, mode, type is FileTypes.Character or FileTypes.Block ? device : 0, null);
    }

    public override Errno SymbolicLink(GuestThread? caller, byte[] target, Node directory, byte[] name)
        => AddNode(caller, directory, name, FileTypes.SymbolicLink | 0b111_111_111, 0, target);

    private Errno AddNode(GuestThread? caller, Node directory, byte[] name, uint mode, ulong device, byte[]? target)
    {
        var parent = (TmpNode)directory;
        if (!Permits(caller, parent, Write | Execute))
            return Errno.EACCES;
        lock (gate)
        {
            if (parent.Find(name) is not null)
                return Errno.EEXIST;
            if (!TakeInode())
                return Errno.ENOSPC;
            var (user, group) = Owner(caller, parent);
            if ((mode & FileTypes.Mask) == FileTypes.Directory && (parent.Mode & SetGroupBit) != 0)
                mode |= SetGroupBit;
            parent.AddEntry(name, new TmpNode(this, mode, user, group, parent) { Device = device, Target = target ?? [] });
        }
        return Errno.None;
    }

    public override Errno Remove(GuestThread? caller, Node directory, byte[] name, bool isDirectory)
    {
        var parent = (TmpNode)directory;
        lock (gate)
        {
            if (parent.Find(name) is not { } entry)
                return Errno.ENOENT;
            if (!Permits(caller, parent, Write | Execute))
                return Errno.EACCES;
            if (Sticky(caller, parent, entry.Node))
                return Errno.EPERM;
            if (isDirectory && !entry.Node.IsDirectory)
                return Errno.ENOTDIR;
            if (!isDirectory && entry.Node.IsDirectory)
                return Errno.EISDIR;
            if (entry.Node.EntryCount > 0)
                return Errno.ENOTEMPTY;
            parent.RemoveEntry(name);
            Unlinked(entry.Node);
        }
        return Errno.None;
    }

    public override Errno Rename(GuestThread? caller, Node fromDirectory, byte[] fromName, Node toDirectory, byte[] toName, uint flags)
    {
        const uint NoReplace = 1, Exchange = 2;
        var from = (TmpNode)fromDirectory;
        var to = (TmpNode)toDirectory;
        lock (gate)
        {
            if (from.Find(fromName) is not { } source)
                return Errno.ENOENT;
            var existing = to.Find(toName);
            if (!Permits(caller, from, Write | Execute) || !Permits(caller, to, Write | Execute))
                return Errno.EACCES;
            if (Sticky(caller, from, source.Node) || (existing is not null && Sticky(caller, to, existing.Node)))
                return Errno.EPERM;
            if ((flags & Exchange) != 0)
            {
                if (existing is null)
                    return Errno.ENOENT;
                if ((source.Node.IsDirectory && source.Node.Contains(to)) || (existing.Node.IsDirectory && existing.Node.Contains(from)))
                    return Errno.EINVAL;
                from.RemoveEntry(fromName);
                to.RemoveEntry(toName);
                to.AddEntry(toName, source.Node);
                from.AddEntry(fromName, existing.Node);
                source.Node.ChangeTime = existing.Node.ChangeTime = Now();
                return Errno.None;
            }
            if (existing is not null && ReferenceEquals(existing.Node, source.Node))
                return Errno.None; // two names of one file: rename does nothing
            if (existing is not null && (flags & NoReplace) != 0)
                return Errno.EEXIST;
            if (source.Node.IsDirectory)
            {
                if (source.Node.Contains(to))
                    return Errno.EINVAL;
                if (existing is { Node.IsDirectory: false })
                    return Errno.ENOTDIR;
            }
            else if (existing is { Node.IsDirectory: true })
            {
                return Errno.EISDIR;
            }
            if (existing is { Node.EntryCount: > 0 })
                return Errno.ENOTEMPTY;
            if (existing is not null)
            {
                to.RemoveEntry(toName);
                Unlinked(existing.Node);
            }
            from.RemoveEntry(fromName);
            to.AddEntry(toName, source.Node);
            source.Node.ChangeTime = Now();
        }
        return Errno.None;
    }

    public override Errno Link(GuestThread? caller, Node existing, Node directory, byte[] name)
    {
        var node = (TmpNode)existing;
        var parent = (TmpNode)directory;
        if (!Permits(caller, parent, Write | Execute))
            return Errno.EACCES;
        lock (gate)
        {
            if (parent.Find(name) is not null)
                return Errno.EEXIST;
            if (node.LinkCount > 0 && !TakeInode())
                return Errno.ENOSPC; // shmem reserves an inode per extra name; an O_TMPFILE's first name reuses its own
            node.LinkCount++;
            node.ChangeTime = Now();
            parent.AddEntry(name, node);
        }
        return Errno.None;
    }

    public override Errno ChangeMode(GuestThread? caller, Node node, uint mode)
    {
        var tmp = (TmpNode)node;
        if (Who(caller) is { } who && who.EffectiveUser != 0 && who.EffectiveUser != tmp.UserId)
            return Errno.EPERM;
        if (node.IsSymbolicLink)
            return Errno.EOPNOTSUPP;
        tmp.SetMode((tmp.Mode & FileTypes.Mask) | (mode & 0b111_111_111_111));
        tmp.ChangeTime = Now();
        return Errno.None;
    }

    public override Errno ChangeOwner(GuestThread? caller, Node node, uint user, uint group)
    {
        var tmp = (TmpNode)node;
        var who = Who(caller);
        var changesUser = user != uint.MaxValue && user != tmp.UserId;
        var changesGroup = group != uint.MaxValue && group != tmp.GroupId;
        // Only root gives a file away; its owner may move it to a group the owner is in.
        if (who is { EffectiveUser: not 0 } && (changesUser || (changesGroup && (who.EffectiveUser != tmp.UserId || !InGroup(who, group)))))
            return Errno.EPERM;
        // As Linux's chown_common: a change of owner drops set-user-ID, and set-group-ID when group execute is set.
        if (!tmp.IsDirectory && !tmp.IsSymbolicLink && (user != uint.MaxValue || group != uint.MaxValue))
            tmp.SetMode(tmp.Mode & ~((tmp.Mode & 0b1_000) != 0 ? 0xc00u : 0x800u));
        if (user != uint.MaxValue)
            tmp.UserId = user;
        if (group != uint.MaxValue)
            tmp.GroupId = group;
        tmp.ChangeTime = Now();
        return Errno.None;
    }

    public override Errno SetTimes(GuestThread? caller, Node node, Timespec* times)
    {
        const long UtimeNow = (1L << 30) - 1, UtimeOmit = (1L << 30) - 2;
        var tmp = (TmpNode)node;
        var toNow = times is null || (times[0].Nanoseconds == UtimeNow && times[1].Nanoseconds == UtimeNow);
        var owner = Who(caller) is not { } who || who.EffectiveUser == 0 || who.EffectiveUser == tmp.UserId;
        if (!owner && (!toNow || !Permits(caller, tmp, Write)))
            return toNow ? Errno.EACCES : Errno.EPERM;
        if (tmp.IsRegular)
            return HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.Utimensat, tmp.Memory, 0, (long)times, 0));
        var now = Now();
        if (times is null || times[0].Nanoseconds != UtimeOmit)
            tmp.AccessTime = times is null || times[0].Nanoseconds == UtimeNow ? now : times[0];
        if (times is null || times[1].Nanoseconds != UtimeOmit)
            tmp.ModifyTime = times is null || times[1].Nanoseconds == UtimeNow ? now : times[1];
        tmp.ChangeTime = now;
        return Errno.None;
    }

    public override Errno Truncate(GuestThread? caller, Node node, long length)
    {
        var tmp = (TmpNode)node;
        if (!tmp.IsRegular)
            return node.IsDirectory ? Errno.EISDIR : Errno.EINVAL;
        if (!Permits(caller, tmp, Write))
            return Errno.EACCES;
        return HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.Ftruncate, tmp.Memory, length));
    }

    public override Errno Access(GuestThread? caller, Node node, AccessMode mode, bool effective)
        => Permits(caller, (TmpNode)node, (uint)mode & 7, real: !effective) ? Errno.None : Errno.EACCES;

    public override Errno FileSystemStatus(Node node, Span<byte> statfs)
    {
        const long Block = 4096;
        var (total, free, files, freeFiles) = Space();
        statfs.Clear();
        long[] fields = [(long)Magic, Block, total, free, free, files, freeFiles, 0, PathWalker.NameMaximum, Block, 0x20 /* ST_RELATIME */];
        for (var index = 0; index < fields.Length; index++)
            BitConverter.TryWriteBytes(statfs[(index * 8)..], fields[index]);
        BitConverter.TryWriteBytes(statfs[56..], (int)Device);
        return Errno.None;
    }

    public override string? HostPathOf(Node node) => ((TmpNode)node).IsRegular ? $"/proc/self/fd/{((TmpNode)node).Memory}" : null;

    private static ProcessCredentials? Who(GuestThread? caller) => caller?.Process.Credentials;

    /// <summary>A new node's owner: the caller's effective ids, the group of a set-group-ID directory.</summary>
    private static (uint User, uint Group) Owner(GuestThread? caller, TmpNode? directory)
    {
        var who = Who(caller);
        var user = who?.EffectiveUser ?? HostIdentity.EffectiveUserId;
        var group = who?.EffectiveGroup ?? HostIdentity.EffectiveGroupId;
        if (directory is not null && (directory.Mode & SetGroupBit) != 0)
            group = directory.GroupId;
        return (user, group);
    }

    private static bool InGroup(ProcessCredentials who, uint group) => who.EffectiveGroup == group || Array.IndexOf(who.Groups, group) >= 0;

    /// <summary>The permission check of Linux's generic_permission: owner, then group, then others; root passes but for execute.</summary>
    internal static bool Permits(GuestThread? caller, TmpNode node, uint want, bool real = false)
    {
        if (Who(caller) is not { } who)
            return true;
        var user = real ? who.RealUser : who.EffectiveUser;
        if (user == 0)
            return (want & Execute) == 0 || node.IsDirectory || (node.Mode & 0b001_001_001) != 0;
        var group = real ? who.RealGroup : who.EffectiveGroup;
        var bits = node.Mode;
        var granted = user == node.UserId ? bits >> 6 : group == node.GroupId || Array.IndexOf(who.Groups, node.GroupId) >= 0 ? bits >> 3 : bits;
        return (granted & want & 7) == want;
    }

    /// <summary>In a sticky directory only the owner of a name, of the directory, or root may remove or replace it.</summary>
    private static bool Sticky(GuestThread? caller, TmpNode directory, TmpNode node)
        => (directory.Mode & StickyBit) != 0 && Who(caller) is { EffectiveUser: not 0 } who && who.EffectiveUser != node.UserId && who.EffectiveUser != directory.UserId;

    private static int Compare(Timespec time, long seconds, long nanoseconds)
        => time.Seconds != seconds ? time.Seconds.CompareTo(seconds) : time.Nanoseconds.CompareTo(nanoseconds);
}
