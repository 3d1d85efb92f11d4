using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;
using Trapeze.Kernel.Vfs;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Names in the file system: open, stat, access, readlink, directories, links.</summary>
public static unsafe class FileSystem
{
    private const int CurrentDirectory = -100; // AT_FDCWD

    /// <summary>The open flags that make open's mode argument mean something (the tracer prints it only then).</summary>
    private const long CreatesFile = (long)(OpenFlags.O_CREAT | OpenFlags.__O_TMPFILE);

    /// <summary>The permission bits of a mode (0777).</summary>
    public const uint PermissionBits = 0b111_111_111;

    /// <summary>The mode a new file gets: the requested one less the process's umask.</summary>
    private static uint CreationMode(GuestThread thread, uint mode) => mode & ~thread.Process.FileCreationMask & 0xfff;

    [Syscall("open", Support = Support.Partial, Note = "as openat; some invalid flag combinations are reported after the path is read", Returns = ResultKind.Fd)]
    public static Result Open(GuestThread thread, CString path, OpenFlags flags, [Argument(ArgumentKind.Octal, ShownIf = nameof(flags), ShownIfAny = CreatesFile)] uint mode)
        => OpenAt(thread, CurrentDirectory, path, flags, mode);

    [Syscall("creat", Support = Support.Partial, Note = "as openat; some invalid flag combinations are reported after the path is read", Returns = ResultKind.Fd)]
    public static Result Create(GuestThread thread, CString path, [Argument(ArgumentKind.Octal)] uint mode)
        => OpenAt(thread, CurrentDirectory, path, OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, mode);

    [Syscall("openat", Returns = ResultKind.Fd, Support = Support.Partial, Note = "through Trapeze's VFS (host tree, binds, /proc); O_TMPFILE on host directories")]
    public static Result OpenAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, OpenFlags flags, [Argument(ArgumentKind.Octal, ShownIf = nameof(flags), ShownIfAny = CreatesFile)] uint mode)
    {
        if (thread.Memory.ReadCStringBytes(path, out var text) is var error and not Errno.None)
            return error;
        return OpenPath(thread, directory, text, flags, mode, WalkFlags.None);
    }

    /// <summary>Linux's VALID_OPEN_FLAGS: openat2 refuses any other bit (open and openat ignore them).</summary>
    private const OpenFlags ValidOpenFlags = OpenFlags.O_WRONLY | OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOCTTY
        | OpenFlags.O_TRUNC | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_DSYNC | OpenFlags.FASYNC | OpenFlags.O_DIRECT
        | OpenFlags.O_LARGEFILE | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW | OpenFlags.O_NOATIME | OpenFlags.O_CLOEXEC | OpenFlags.__O_SYNC
        | OpenFlags.O_PATH | OpenFlags.__O_TMPFILE;

    [Syscall("openat2", Returns = ResultKind.Fd, Support = Support.Partial, Note = "RESOLVE_* checked by Trapeze's walker; RESOLVE_CACHED gives EAGAIN")]
    public static Result OpenAt2(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, GuestAddress how, ulong size)
    {
        const int OpenHowSize = 24;
        const ulong Known = (ulong)(ResolveFlags.RESOLVE_NO_XDEV | ResolveFlags.RESOLVE_NO_MAGICLINKS | ResolveFlags.RESOLVE_NO_SYMLINKS | ResolveFlags.RESOLVE_BENEATH | ResolveFlags.RESOLVE_IN_ROOT | ResolveFlags.RESOLVE_CACHED);
        if (size < OpenHowSize || size > 4096)
            return size < OpenHowSize ? Errno.EINVAL : Errno.E2BIG;
        var raw = new byte[size];
        if (thread.Memory.Read(how, raw) is var fault and not Errno.None)
            return fault;
        if (raw.AsSpan(OpenHowSize).ContainsAnyExcept((byte)0))
            return Errno.E2BIG;
        var flags = BitConverter.ToUInt64(raw, 0);
        var mode = BitConverter.ToUInt64(raw, 8);
        var resolve = (ResolveFlags)BitConverter.ToUInt64(raw, 16);
        if ((flags & ~(ulong)ValidOpenFlags) != 0 || ((ulong)resolve & ~Known) != 0 || mode > 0xfff
            || (mode != 0 && ((OpenFlags)flags & (OpenFlags.O_CREAT | OpenFlags.__O_TMPFILE)) == 0)
            || (resolve & (ResolveFlags.RESOLVE_BENEATH | ResolveFlags.RESOLVE_IN_ROOT)) == (ResolveFlags.RESOLVE_BENEATH | ResolveFlags.RESOLVE_IN_ROOT))
            return Errno.EINVAL;
        if ((resolve & ResolveFlags.RESOLVE_CACHED) != 0)
            return Errno.EAGAIN;
        if (thread.Memory.ReadCStringBytes(path, out var text) is var error and not Errno.None)
            return error;
        var walk = WalkFlags.None;
        walk |= (resolve & ResolveFlags.RESOLVE_NO_XDEV) != 0 ? WalkFlags.NoCrossing : 0;
        walk |= (resolve & ResolveFlags.RESOLVE_NO_MAGICLINKS) != 0 ? WalkFlags.NoMagicLinks : 0;
        walk |= (resolve & ResolveFlags.RESOLVE_NO_SYMLINKS) != 0 ? WalkFlags.NoSymbolicLinks : 0;
        walk |= (resolve & ResolveFlags.RESOLVE_BENEATH) != 0 ? WalkFlags.Beneath : 0;
        walk |= (resolve & ResolveFlags.RESOLVE_IN_ROOT) != 0 ? WalkFlags.InRoot : 0;
        return OpenPath(thread, directory, text, (OpenFlags)(int)flags, (uint)mode, walk);
    }

    private static Result OpenPath(GuestThread thread, int directory, byte[] text, OpenFlags flags, uint mode, WalkFlags walkFlags)
    {
        var creating = (flags & OpenFlags.O_CREAT) != 0;
        var exclusive = creating && (flags & OpenFlags.O_EXCL) != 0;
        if ((flags & (OpenFlags.O_NOFOLLOW | OpenFlags.O_PATH)) != OpenFlags.O_NOFOLLOW && (flags & OpenFlags.O_NOFOLLOW) == 0 && !exclusive)
            walkFlags |= WalkFlags.FollowLast;
        if (creating)
            walkFlags |= WalkFlags.AllowMissing;
        if (PathWalker.Walk(thread, directory, text, walkFlags, out var walk) is var error and not Errno.None)
        {
            walk.Dispose();
            return error;
        }
        using (walk)
        {
            var writes = (flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR | OpenFlags.O_TRUNC)) != 0;
            Result result;
            OpenFile? file;
            Location place;
            if (walk.Target is not { } target)
            {
                if (walk.TrailingSlash)
                    return Errno.EISDIR;
                if (walk.Directory.Mount.ReadOnly)
                    return Errno.EROFS;
                place = walk.Directory;
                result = place.Node.FileSystem.Create(thread, place.Node, walk.Name!, flags, CreationMode(thread, mode), PathWalker.Join(place.Path, walk.Name!), out file);
                if (file is not null)
                    file.GuestPath ??= PathWalker.Join(place.Path, walk.Name!);
            }
            else
            {
                if (exclusive)
                    return Errno.EEXIST;
                if (target.Node.IsDirectory && (creating || (flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) != 0) && (flags & OpenFlags.__O_TMPFILE) != OpenFlags.__O_TMPFILE)
                    return Errno.EISDIR;
                if ((flags & OpenFlags.O_DIRECTORY) != 0 && !target.Node.IsDirectory && !target.Node.IsSymbolicLink)
                    return Errno.ENOTDIR;
                var kind = target.Node.Mode & FileTypes.Mask;
                if ((writes || (flags & OpenFlags.__O_TMPFILE) == OpenFlags.__O_TMPFILE) && target.Mount.ReadOnly && kind is FileTypes.Regular or FileTypes.Directory)
                    return Errno.EROFS;
                place = target;
                result = (flags & OpenFlags.__O_TMPFILE) == OpenFlags.__O_TMPFILE
                    ? target.Node.FileSystem.Create(thread, target.Node, "."u8.ToArray(), flags, CreationMode(thread, mode), target.Path, out file)
                    : target.Node.FileSystem.Open(thread, target.Node, flags, target.Path, out file);
            }
            if (result.IsError || file is null)
                return result;
            file.Mount ??= place.Mount.FileSystem == place.Node.FileSystem || place.Node.FileSystem is not ProcVfs ? place.Mount : file.Mount;
            if (file.Node is null && file.HostDescriptor is null)
                file.Mount = null;
            // A deterministic run's /dev/urandom gives the seeded bytes.
            if (thread.Kernel.Determinism is not null)
                file = SeededRandomDevice.Replace(file);
            var added = thread.Process.Files.Add(file, (flags & OpenFlags.O_CLOEXEC) != 0);
            if (added.IsError)
            {
                file.Release();
                return added;
            }
            var truncated = (flags & OpenFlags.O_TRUNC) != 0 && walk.Target is { } opened && (opened.Node.Mode & FileTypes.Mask) == FileTypes.Regular;
            thread.Kernel.Notifications.Opened(file, walk, flags, truncated);
            return added;
        }
    }

    [Syscall("close", Support = Support.Full)]
    public static Result Close(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd) => thread.Process.Files.Close(fd);

    [Syscall("stat", Support = Support.Partial, Note = "as newfstatat")]
    public static Result Stat(GuestThread thread, CString path, [Argument(ArgumentKind.Stat, Direction = Direction.Out)] GuestAddress status)
        => StatAt(thread, CurrentDirectory, path, status, 0);

    [Syscall("lstat", Support = Support.Partial, Note = "as newfstatat")]
    public static Result LinkStat(GuestThread thread, CString path, [Argument(ArgumentKind.Stat, Direction = Direction.Out)] GuestAddress status)
        => StatAt(thread, CurrentDirectory, path, status, AtFlags.AT_SYMLINK_NOFOLLOW);

    [Syscall("fstat", Support = Support.Full)]
    public static Result FileStat(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Stat, Direction = Direction.Out)] GuestAddress status)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        var result = file.Status(out var buffer);
        return result.IsError ? result : WriteOut(thread, status, buffer);
    }

    [Syscall("newfstatat", Support = Support.Partial, Note = "an empty path with AT_EMPTY_PATH and unknown flags gives EINVAL where Linux ignores the flags")]
    public static Result StatAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(ArgumentKind.Stat, Direction = Direction.Out)] GuestAddress status, AtFlags flags)
    {
        if (OutsideNamespace(thread, directory, path, flags, out var file) is var readError and not Errno.None)
            return readError;
        if (file is not null)
            return FileStat(thread, directory, status);
        return OnTarget(thread, directory, path, Follow(flags) | Empty(flags), target =>
        {
            if (target.Node.FileSystem.Status(target.Node, out var buffer) is var error and not Errno.None)
                return error;
            return WriteOut(thread, status, buffer);
        });
    }

    [Syscall("statx", Support = Support.Partial, Note = "an empty path with AT_EMPTY_PATH and unknown flags gives EINVAL where Linux ignores the flags")]
    public static Result StatExtended(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(Enum = typeof(StatxFlags))] AtFlags flags, [Argument(Enum = typeof(StatxMask))] uint mask, [Argument(ArgumentKind.Statx, Direction = Direction.Out)] GuestAddress status)
    {
        var buffer = new byte[StatxLayout.Size];
        if (OutsideNamespace(thread, directory, path, flags, out var file) is var readError and not Errno.None)
            return readError;
        if (file is not null)
        {
            var made = file.Status(out var stat);
            if (made.IsError)
                return made;
            StatxLayout.FromStat(stat, buffer);
            return thread.Memory.Write(status, buffer) is var madeFault and not Errno.None ? madeFault : 0;
        }
        return OnTarget(thread, directory, path, Follow(flags) | Empty(flags), target =>
        {
            if (target.Node.FileSystem.StatusExtended(target.Node, mask, buffer) is var error and not Errno.None)
                return error;
            return thread.Memory.Write(status, buffer) is var fault and not Errno.None ? fault : 0;
        });
    }

    [Syscall("access", Support = Support.Full)]
    public static Result Access(GuestThread thread, CString path, AccessMode mode)
        => AccessAt2(thread, CurrentDirectory, path, mode, 0);

    [Syscall("faccessat", Support = Support.Full)]
    public static Result AccessAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, AccessMode mode)
        => AccessAt2(thread, directory, path, mode, 0);

    [Syscall("faccessat2", Support = Support.Full)]
    public static Result AccessAt2(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, AccessMode mode, AtFlags flags)
    {
        if (((int)mode & ~7) != 0 || (flags & ~(AtFlags.AT_EACCESS | AtFlags.AT_SYMLINK_NOFOLLOW | AtFlags.AT_EMPTY_PATH)) != 0)
            return Errno.EINVAL;
        return OnTarget(thread, directory, path, Follow(flags) | Empty(flags), target =>
        {
            if ((mode & AccessMode.W_OK) != 0 && target.Mount.ReadOnly && (target.Node.Mode & FileTypes.Mask) is FileTypes.Regular or FileTypes.Directory)
                return Errno.EROFS;
            return target.Node.FileSystem.Access(thread, target.Node, mode, (flags & AtFlags.AT_EACCESS) != 0);
        });
    }

    [Syscall("readlink", Support = Support.Partial, Note = "as readlinkat")]
    public static Result ReadLink(GuestThread thread, CString path, [Argument(ArgumentKind.Buffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress buffer, int size)
        => ReadLinkAt(thread, CurrentDirectory, path, buffer, size);

    [Syscall("readlinkat", Support = Support.Partial, Note = "a bad directory descriptor with a missing path may give ENOENT where Linux gives EBADF")]
    public static Result ReadLinkAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(ArgumentKind.Buffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress buffer, int size)
    {
        if (size <= 0)
            return Errno.EINVAL;
        return OnTarget(thread, directory, path, WalkFlags.EmptyPath, target =>
        {
            if (target.Node.FileSystem.ReadLink(target.Node, out var text) is var error and not Errno.None)
            {
                // Linux: an empty path that names no link (the directory itself) is ENOENT, not EINVAL. Found by the syscall fuzzer.
                var empty = thread.Memory.Read(new GuestAddress(path.Value), out byte first) == Errno.None && first == 0;
                return error == Errno.EINVAL && empty ? Errno.ENOENT : error;
            }
            var count = Math.Min(text.Length, size);
            return thread.Memory.Write(buffer, text.AsSpan(0, count)) is var fault and not Errno.None ? fault : count;
        });
    }

    [Syscall("getcwd", Support = Support.Full)]
    public static Result GetWorkingDirectory(GuestThread thread, [Argument(ArgumentKind.String, Direction = Direction.Out)] GuestAddress buffer, ulong size)
    {
        var context = thread.Process.FileSystem;
        var shown = context.WorkingDirectoryBytes;
        byte[] bytes = shown.Length > 0 && shown[0] == '/' && (PathWalker.Show(context.WorkingDirectory.Path, context.Root.Path) != context.WorkingDirectory.Path || context.Root.Path is [(byte)'/'])
            ? [.. shown, 0]
            : [.. "(unreachable)"u8, .. shown, 0];
        if ((ulong)bytes.Length > size)
            return Errno.ERANGE;
        return thread.Memory.Write(buffer, bytes) is var fault and not Errno.None ? fault : bytes.Length;
    }

    [Syscall("chdir", Support = Support.Full)]
    public static Result ChangeDirectory(GuestThread thread, CString path)
        => OnTarget(thread, CurrentDirectory, path, WalkFlags.FollowLast, target => EnterDirectory(thread, target, root: false));

    [Syscall("fchdir", Support = Support.Full)]
    public static Result ChangeDirectoryTo(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        using var owner = new WalkResult();
        return PathWalker.LocationOf(thread.Kernel, file, owner) is { } location ? EnterDirectory(thread, location, root: false) : Errno.ENOTDIR;
    }

    [Syscall("chroot", Support = Support.Full)]
    public static Result ChangeRoot(GuestThread thread, CString path)
        => OnTarget(thread, CurrentDirectory, path, WalkFlags.FollowLast, target =>
            thread.Kernel.Credentials.EffectiveUserId != 0 ? Errno.EPERM : EnterDirectory(thread, target, root: true));

    [Syscall("getdents64", Support = Support.Partial, Note = "a buffer smaller than one entry that also faults gives EFAULT where Linux gives EINVAL")]
    public static Result GetDirectoryEntries(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.DirectoryEntries, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress buffer, uint count)
        => thread.Process.Files.Get(fd) is { } file ? thread.Kernel.Notifications.Transferred(file, file.ReadDirectory(thread.Memory, buffer, count), InotifyMask.IN_ACCESS, always: true) : Errno.EBADF;

    [Syscall("mkdir", Support = Support.Full)]
    public static Result MakeDirectory(GuestThread thread, CString path, [Argument(ArgumentKind.Octal)] uint mode) => MakeDirectoryAt(thread, CurrentDirectory, path, mode);

    [Syscall("mkdirat", Support = Support.Full)]
    public static Result MakeDirectoryAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(ArgumentKind.Octal)] uint mode)
        => OnNewName(thread, directory, path, allowSlash: true, (place, name) => Created(thread, place, name, true, place.Node.FileSystem.MakeDirectory(thread, place.Node, name, CreationMode(thread, mode & 0b111_111_111_111))));

    [Syscall("mknod", Support = Support.Partial, Note = "as mknodat")]
    public static Result MakeNode(GuestThread thread, CString path, [Argument(ArgumentKind.Octal)] uint mode, ulong device) => MakeNodeAt(thread, CurrentDirectory, path, mode, device);

    [Syscall("mknodat", Support = Support.Partial, Note = "FIFOs, regular files and sockets; devices only for root (the host decides)")]
    public static Result MakeNodeAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(ArgumentKind.Octal)] uint mode, ulong device)
    {
        var kind = mode & FileTypes.Mask;
        if (kind is not (0 or FileTypes.Regular or FileTypes.Fifo or FileTypes.Socket or FileTypes.Character or FileTypes.Block))
            return Errno.EINVAL;
        if (kind is FileTypes.Character or FileTypes.Block && thread.Kernel.Credentials.EffectiveUserId != 0)
            return Errno.EPERM;
        var made = (kind == 0 ? FileTypes.Regular : kind) | CreationMode(thread, mode & 0b111_111_111_111);
        return OnNewName(thread, directory, path, allowSlash: false, (place, name) => Created(thread, place, name, false, place.Node.FileSystem.MakeNode(thread, place.Node, name, made, device)));
    }

    [Syscall("rmdir", Support = Support.Full)]
    public static Result RemoveDirectory(GuestThread thread, CString path) => UnlinkAt(thread, CurrentDirectory, path, AtFlags.AT_REMOVEDIR);

    [Syscall("unlink", Support = Support.Full)]
    public static Result Unlink(GuestThread thread, CString path) => UnlinkAt(thread, CurrentDirectory, path, 0);

    [Syscall("unlinkat", Support = Support.Full)]
    public static Result UnlinkAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, AtFlags flags)
    {
        if ((flags & ~AtFlags.AT_REMOVEDIR) != 0)
            return Errno.EINVAL;
        var isDirectory = (flags & AtFlags.AT_REMOVEDIR) != 0;
        return OnWalk(thread, directory, path, WalkFlags.None, walk =>
        {
            if (walk.Target is not { } target)
                return Errno.ENOENT;
            if (walk.Name is not { } name)
                return Errno.EBUSY;
            if (PathWalker.IsDot(name))
                return isDirectory ? Errno.EINVAL : Errno.EISDIR;
            if (PathWalker.IsDotDot(name))
                return isDirectory ? Errno.ENOTEMPTY : Errno.EISDIR;
            if (isDirectory && !target.Node.IsDirectory)
                return Errno.ENOTDIR;
            if (target.Node.SameAs(target.Mount.Root) || target.Mount != walk.Directory.Mount)
                return Errno.EBUSY;
            if (walk.Directory.Mount.ReadOnly)
                return Errno.EROFS;
            if (walk.Directory.Node.FileSystem.Remove(thread, walk.Directory.Node, name, isDirectory) is var removeError and not Errno.None)
                return removeError;
            thread.Kernel.Notifications.Removed(walk, isDirectory);
            return 0;
        });
    }

    [Syscall("rename", Support = Support.Partial, Note = "with one bad path pointer and an error on the other path, the errno reported may differ from Linux's")]
    public static Result Rename(GuestThread thread, CString from, CString to) => RenameAt2(thread, CurrentDirectory, from, CurrentDirectory, to, 0);

    [Syscall("renameat", Support = Support.Partial, Note = "with one bad path pointer and an error on the other path, the errno reported may differ from Linux's")]
    public static Result RenameAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int fromDirectory, CString from, [Argument(ArgumentKind.DirectoryFd)] int toDirectory, CString to)
        => RenameAt2(thread, fromDirectory, from, toDirectory, to, 0);

    [Syscall("renameat2", Support = Support.Partial, Note = "RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT is EINVAL")]
    public static Result RenameAt2(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int fromDirectory, CString from, [Argument(ArgumentKind.DirectoryFd)] int toDirectory, CString to, uint flags)
    {
        const uint NoReplace = 1, Exchange = 2;
        if ((flags & ~(NoReplace | Exchange)) != 0 || flags == (NoReplace | Exchange))
            return Errno.EINVAL;
        return OnWalk(thread, fromDirectory, from, WalkFlags.None, source => OnWalk(thread, toDirectory, to, WalkFlags.AllowMissing, target =>
        {
            if (source.Target is null || (target.Target is null && (flags & Exchange) != 0))
                return Errno.ENOENT;
            if (source.Name is not { } fromName || target.Name is not { } toName || PathWalker.IsDot(fromName) || PathWalker.IsDotDot(fromName) || PathWalker.IsDot(toName) || PathWalker.IsDotDot(toName))
                return Errno.EBUSY;
            if (source.Directory.Mount != target.Directory.Mount || source.Target.Value.Mount != source.Directory.Mount
                || (target.Target is { } existing && existing.Mount != target.Directory.Mount))
                return Errno.EXDEV;
            if (source.Directory.Mount.ReadOnly)
                return Errno.EROFS;
            if (source.Directory.Node.FileSystem.Rename(thread, source.Directory.Node, fromName, target.Directory.Node, toName, flags) is var renameError and not Errno.None)
                return renameError;
            thread.Kernel.Notifications.Renamed(source, target, exchange: (flags & Exchange) != 0);
            return 0;
        }));
    }

    [Syscall("link", Support = Support.Partial, Note = "with one bad path pointer and an error on the other path, the errno reported may differ from Linux's")]
    public static Result Link(GuestThread thread, CString from, CString to) => LinkAt(thread, CurrentDirectory, from, CurrentDirectory, to, 0);

    [Syscall("linkat", Support = Support.Partial, Note = "with one bad path pointer and an error on the other path, the errno reported may differ from Linux's")]
    public static Result LinkAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int fromDirectory, CString from, [Argument(ArgumentKind.DirectoryFd)] int toDirectory, CString to, AtFlags flags)
    {
        if ((flags & ~(AtFlags.AT_SYMLINK_FOLLOW | AtFlags.AT_EMPTY_PATH)) != 0)
            return Errno.EINVAL;
        var follow = (flags & AtFlags.AT_SYMLINK_FOLLOW) != 0 ? WalkFlags.FollowLast : WalkFlags.None;
        return OnWalk(thread, fromDirectory, from, follow | Empty(flags), source => OnNewName(thread, toDirectory, to, allowSlash: false, (place, name) =>
        {
            if (source.Target is not { } existing)
                return Errno.ENOENT;
            if (existing.Node.IsDirectory)
                return Errno.EPERM;
            if (existing.Mount != place.Mount || existing.Node.FileSystem != place.Node.FileSystem)
                return Errno.EXDEV;
            if (place.Node.FileSystem.Link(thread, existing.Node, place.Node, name) is var linkError and not Errno.None)
                return linkError;
            thread.Kernel.Notifications.Linked(existing, place, name);
            return 0;
        }));
    }

    [Syscall("symlink", Support = Support.Partial, Note = "with one bad path pointer and an error on the other path, the errno reported may differ from Linux's")]
    public static Result SymbolicLink(GuestThread thread, CString target, CString path) => SymbolicLinkAt(thread, target, CurrentDirectory, path);

    [Syscall("symlinkat", Support = Support.Partial, Note = "with one bad path pointer and an error on the other path, the errno reported may differ from Linux's")]
    public static Result SymbolicLinkAt(GuestThread thread, CString target, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path)
    {
        if (thread.Memory.ReadCStringBytes(target, out var text) is var error and not Errno.None)
            return error;
        if (text.Length == 0)
            return Errno.ENOENT;
        return OnNewName(thread, directory, path, allowSlash: false, (place, name) => Created(thread, place, name, false, place.Node.FileSystem.SymbolicLink(thread, text, place.Node, name)));
    }

    [Syscall("chmod", Support = Support.Full)]
    public static Result ChangeMode(GuestThread thread, CString path, [Argument(ArgumentKind.Octal)] uint mode) => ChangeModeAt(thread, CurrentDirectory, path, mode);

    [Syscall("fchmodat", Support = Support.Full)]
    public static Result ChangeModeAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(ArgumentKind.Octal)] uint mode)
        => OnChange(thread, directory, path, WalkFlags.FollowLast, InotifyMask.IN_ATTRIB, target => Writable(target) ?? target.Node.FileSystem.ChangeMode(thread, target.Node, mode & 0b111_111_111_111));

    [Syscall("fchmod", Support = Support.Partial, Note = "a pipe's or socket's mode cannot be changed (EBADF; Linux changes it)")]
    public static Result ChangeModeOf(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Octal)] uint mode)
        => OnFile(thread, fd, InotifyMask.IN_ATTRIB, target => Writable(target) ?? target.Node.FileSystem.ChangeMode(thread, target.Node, mode & 0b111_111_111_111),
            host => HostSyscall.Invoke(HostSyscall.Fchmod, host, mode));

    [Syscall("chown", Support = Support.Partial, Note = "as fchownat")]
    public static Result ChangeOwner(GuestThread thread, CString path, uint user, uint group) => ChangeOwnerAt(thread, CurrentDirectory, path, user, group, 0);

    [Syscall("lchown", Support = Support.Partial, Note = "as fchownat")]
    public static Result ChangeOwnerOfLink(GuestThread thread, CString path, uint user, uint group)
        => ChangeOwnerAt(thread, CurrentDirectory, path, user, group, AtFlags.AT_SYMLINK_NOFOLLOW);

    [Syscall("fchownat", Support = Support.Partial, Note = "the host decides who may give files away (EPERM unless root)")]
    public static Result ChangeOwnerAt(GuestThread thread, int directory, CString path, uint user, uint group, AtFlags flags)
    {
        if ((flags & ~(AtFlags.AT_SYMLINK_NOFOLLOW | AtFlags.AT_EMPTY_PATH)) != 0)
            return Errno.EINVAL;
        if (OutsideNamespace(thread, directory, path, flags, out var file) is var readError and not Errno.None)
            return readError;
        if (file is not null)
            return ChangeOwnerOf(thread, directory, user, group);
        return OnChange(thread, directory, path, Follow(flags) | Empty(flags), OwnerChange(user, group), target => Writable(target) ?? target.Node.FileSystem.ChangeOwner(thread, target.Node, user, group));
    }

    [Syscall("fchown", Support = Support.Full)]
    public static Result ChangeOwnerOf(GuestThread thread, int fd, uint user, uint group)
        => OnFile(thread, fd, OwnerChange(user, group), target => Writable(target) ?? target.Node.FileSystem.ChangeOwner(thread, target.Node, user, group),
            host => HostSyscall.Invoke(HostSyscall.Fchown, host, user, group));

    [Syscall("ftruncate", Support = Support.Full)]
    public static Result TruncateFile(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, long length)
        => length < 0 ? Errno.EINVAL : WithDescriptor(thread, fd, host => // do_sys_ftruncate: the length first
            MayGrowTo(thread, host, length) is var tooBig and not Errno.None ? (Result)tooBig : HostSyscall.Invoke(HostSyscall.Ftruncate, host, length), InotifyMask.IN_MODIFY);

    [Syscall("truncate", Support = Support.Full)]
    public static Result Truncate(GuestThread thread, CString path, long length)
        => length < 0 ? Errno.EINVAL : OnChange(thread, CurrentDirectory, path, WalkFlags.FollowLast, InotifyMask.IN_MODIFY, target => // do_sys_truncate checks the length first
            target.Node.IsDirectory ? Errno.EISDIR : Writable(target) ?? MayGrowTo(thread, target.Node, length) ?? target.Node.FileSystem.Truncate(thread, target.Node, length));

    /// <summary>RLIMIT_FSIZE for a file an open descriptor writes that would become <paramref name="size"/> bytes long (ftruncate, fallocate).</summary>
    internal static unsafe Errno MayGrowTo(GuestThread thread, int host, long size)
    {
        if (FileSizeLimit.Of(thread) is null)
            return Errno.None;
        LinuxStat status;
        var writable = (HostSyscall.Invoke(HostSyscall.Fcntl, host, (long)FcntlCommand.F_GETFL) & 3) != (long)OpenFlags.O_RDONLY;
        if (!writable || HostSyscall.Invoke(HostSyscall.Fstat, host, (long)&status) < 0)
            return Errno.None; // the host's own call gives the error Linux gives
        return FileSizeLimit.MayGrow(thread, status.Mode, status.Size, size);
    }

    private static Errno? MayGrowTo(GuestThread thread, Node node, long size)
        => FileSizeLimit.Of(thread) is not null && node.FileSystem.Status(node, out var status) == Errno.None && FileSizeLimit.MayGrow(thread, status.Mode, status.Size, size) is var tooBig and not Errno.None ? tooBig : null;

    [Syscall("fsync", Support = Support.Full)]
    public static Result Synchronize(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd) => WithDescriptor(thread, fd, host => HostSyscall.Invoke(HostSyscall.Fsync, host));

    [Syscall("fdatasync", Support = Support.Full)]
    public static Result SynchronizeData(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd) => WithDescriptor(thread, fd, host => HostSyscall.Invoke(HostSyscall.Fdatasync, host));

    [Syscall("utimensat", Support = Support.Partial, Note = "not on symbolic links themselves (EOPNOTSUPP)")]
    public static Result SetTimesAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, GuestAddress times, AtFlags flags)
    {
        var buffer = stackalloc Timespec[2];
        // Two timespecs: 32-bit fields in a 32-bit ABI's time32 utimensat.
        for (var i = 0; i < 2 && !times.IsNull; i++)
        {
            if (LinuxStructures.ReadTime(thread, times + (ulong)i * (thread.OldTimeLayout ? 8UL : 16UL), out buffer[i]) is var fault and not Errno.None)
                return fault;
        }
        return SetTimes(thread, directory, path, times.IsNull ? null : buffer, flags);
    }

    /// <summary>utimensat with the times read already (utimes, futimesat and utime convert theirs).</summary>
    internal static Result SetTimes(GuestThread thread, int directory, CString path, Timespec* times, AtFlags flags)
    {
        const long UtimeNow = (1L << 30) - 1, UtimeOmit = (1L << 30) - 2, Second = 1_000_000_000;
        if ((flags & ~(AtFlags.AT_SYMLINK_NOFOLLOW | AtFlags.AT_EMPTY_PATH)) != 0)
            return Errno.EINVAL;
        for (var index = 0; times is not null && index < 2; index++)
        {
            if (times[index].Nanoseconds is not (>= 0 and < Second or UtimeNow or UtimeOmit))
                return Errno.EINVAL;
        }
        // fsnotify_change: both times set is IN_ATTRIB, the access time alone IN_ACCESS, the modification time alone IN_MODIFY.
        var change = times is null || (times[0].Nanoseconds != UtimeOmit && times[1].Nanoseconds != UtimeOmit) ? InotifyMask.IN_ATTRIB
            : times[0].Nanoseconds != UtimeOmit ? InotifyMask.IN_ACCESS
            : times[1].Nanoseconds != UtimeOmit ? InotifyMask.IN_MODIFY : 0;
        if (path.IsNull)
            return OnFile(thread, directory, change, target => Writable(target) ?? target.Node.FileSystem.SetTimes(thread, target.Node, times),
                host => HostSyscall.Invoke(HostSyscall.Utimensat, host, 0, (long)times, 0));
        return OnChange(thread, directory, path, Follow(flags) | Empty(flags), change, target => Writable(target) ?? target.Node.FileSystem.SetTimes(thread, target.Node, times));
    }

    [Syscall("statfs", Support = Support.Partial, Note = "the host's answer; a bad buffer pointer is not always reported in Linux's order")]
    public static Result FileSystemStatus(GuestThread thread, CString path, GuestAddress buffer)
        => OnTarget(thread, CurrentDirectory, path, WalkFlags.FollowLast, target => CopyStatfs(thread, buffer, statfs => target.Node.FileSystem.FileSystemStatus(target.Node, statfs)));

    [Syscall("fstatfs", Support = Support.Partial, Note = "the host's answer; a bad buffer pointer is not always reported in Linux's order")]
    public static Result FileSystemStatusOf(GuestThread thread, int fd, GuestAddress buffer)
        => OnFile(thread, fd, 0, target => CopyStatfs(thread, buffer, statfs => target.Node.FileSystem.FileSystemStatus(target.Node, statfs)),
            host => CopyStatfs(thread, buffer, statfs =>
            {
                fixed (byte* pointer = statfs)
                    return HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.Fstatfs, host, (long)pointer));
            }));

    private static Result CopyStatfs(GuestThread thread, GuestAddress buffer, Func<byte[], Errno> call)
    {
        const int StatfsSize = 120; // struct statfs on x86-64
        var bytes = new byte[StatfsSize];
        if (call(bytes) is var error and not Errno.None)
            return error;
        return thread.Memory.Write(buffer, bytes) is var fault and not Errno.None ? fault : 0;
    }

    private static WalkFlags Follow(AtFlags flags) => (flags & AtFlags.AT_SYMLINK_NOFOLLOW) != 0 ? WalkFlags.None : WalkFlags.FollowLast;
    private static WalkFlags Empty(AtFlags flags) => (flags & AtFlags.AT_EMPTY_PATH) != 0 ? WalkFlags.EmptyPath : WalkFlags.None;

    /// <summary>EROFS for changes on a read-only mount (devices and FIFOs there may still be written).</summary>
    private static Errno? Writable(Location target) => target.Mount.ReadOnly ? Errno.EROFS : null;

    /// <summary>With AT_EMPTY_PATH and "", the dirfd itself when it is a file outside the namespace (a pipe, an inherited descriptor).</summary>
    private static Errno OutsideNamespace(GuestThread thread, int directory, CString path, AtFlags flags, out OpenFile? file)
    {
        file = null;
        if ((flags & AtFlags.AT_EMPTY_PATH) == 0)
            return Errno.None;
        if (thread.Memory.ReadCStringBytes(path, out var text) is var error and not Errno.None)
            return error;
        if (text.Length == 0 && thread.Process.Files.Get(directory) is { } found && PathWalker.LocationOf(thread.Kernel, found, null) is null)
            file = found;
        return Errno.None;
    }

    private static Result OnWalk(GuestThread thread, int directory, CString path, WalkFlags flags, Func<WalkResult, Result> call)
    {
        if (thread.Memory.ReadCStringBytes(path, out var text) is var error and not Errno.None)
            return error;
        var walkError = PathWalker.Walk(thread, directory, text, flags, out var walk);
        using (walk)
            return walkError != Errno.None ? walkError : call(walk);
    }

    /// <summary>Runs a call on the object a path names (which must exist).</summary>
    private static Result OnTarget(GuestThread thread, int directory, CString path, WalkFlags flags, Func<Location, Result> call)
        => OnWalk(thread, directory, path, flags, walk => walk.Target is { } target ? call(target) : Errno.ENOENT);

    /// <summary>Runs a call that changes the object a path names; inotify hears of it when it succeeds.</summary>
    private static Result OnChange(GuestThread thread, int directory, CString path, WalkFlags flags, InotifyMask change, Func<Location, Result> call)
        => OnWalk(thread, directory, path, flags, walk =>
        {
            if (walk.Target is not { } target)
                return Errno.ENOENT;
            var result = call(target);
            if (!result.IsError)
                thread.Kernel.Notifications.OnPath(walk, change);
            return result;
        });

    /// <summary>chown's event: IN_ATTRIB when it sets an owner or group (-1 for both changes nothing).</summary>
    private static InotifyMask OwnerChange(uint user, uint group) => user == uint.MaxValue && group == uint.MaxValue ? 0 : InotifyMask.IN_ATTRIB;

    /// <summary>A name made (mkdir, mknod, symlink): IN_CREATE when it succeeded.</summary>
    private static Result Created(GuestThread thread, Location directory, byte[] name, bool isDirectory, Errno error)
    {
        if (error != Errno.None)
            return error;
        thread.Kernel.Notifications.Created(directory, name, isDirectory);
        return 0;
    }

    /// <summary>Runs a call that makes a new name: the name must not exist, and its directory must be writable.</summary>
    private static Result OnNewName(GuestThread thread, int directory, CString path, bool allowSlash, Func<Location, byte[], Result> call)
        => OnWalk(thread, directory, path, WalkFlags.AllowMissing, walk =>
        {
            if (walk.Target is not null)
                return Errno.EEXIST;
            if (walk.TrailingSlash && !allowSlash)
                return Errno.ENOENT;
            return walk.Directory.Mount.ReadOnly ? Errno.EROFS : call(walk.Directory, walk.Name!);
        });

    /// <summary>Runs a call on an open file: through the VFS when it was opened there, else on its host descriptor.</summary>
    private static Result OnFile(GuestThread thread, int fd, InotifyMask change, Func<Location, Result> call, Func<int, Result> host)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        using var owner = new WalkResult();
        var result = PathWalker.LocationOf(thread.Kernel, file, owner) is { } location ? call(location)
            : file.HostDescriptor is { } descriptor ? host(descriptor) : Errno.EBADF;
        if (change != 0 && !result.IsError)
            thread.Kernel.Notifications.OnFile(file, change);
        return result;
    }

    /// <summary>A call on a host file; a pipe or socket has no such operation, which Linux answers with EINVAL.</summary>
    internal static Result WithDescriptor(GuestThread thread, int fd, Func<int, Result> call, InotifyMask change = 0)
        => thread.Process.Files.Get(fd) switch
        {
            null => Errno.EBADF,
            { HostDescriptor: { } host } file => change == 0 ? call(host) : thread.Kernel.Notifications.Transferred(file, call(host), change, always: true),
            _ => Errno.EINVAL,
        };

    private static Result EnterDirectory(GuestThread thread, Location target, bool root)
    {
        if (!target.Node.IsDirectory)
            return Errno.ENOTDIR;
        if (target.Node.FileSystem.Access(thread, target.Node, AccessMode.X_OK, effective: true) is var denied and not Errno.None)
            return denied;
        if (root)
            thread.Process.FileSystem.ChangeRoot(target);
        else
            thread.Process.FileSystem.ChangeDirectory(target);
        return 0;
    }

    // In the guest's layout: struct stat on x86-64, struct stat64 for the 32-bit personalities' *64 calls.
    private static Result WriteOut(GuestThread thread, GuestAddress address, in LinuxStat status)
        => thread.Process.Personality.Structures.WriteStat(thread.Memory, address, status) is var fault and not Errno.None ? fault : 0;
}
