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
    private const int CurrentDirectory = HostPath.CurrentDirectory;

    /// <summary>The open flags that make open's mode argument mean something (the tracer prints it only then).</summary>
    private const long CreatesFile = (long)(OpenFlags.O_CREAT | OpenFlags.__O_TMPFILE);

    /// <summary>The permission bits of a mode (0777).</summary>
    public const uint PermissionBits = 0b111_111_111;

    /// <summary>The mode a new file gets: the requested one less the process's umask.</summary>
    private static uint CreationMode(GuestThread thread, uint mode) => mode & ~thread.Process.FileCreationMask & 0xfff;

    [Syscall("open", Returns = ResultKind.Fd)]
    public static Result Open(GuestThread thread, CString path, OpenFlags flags, [Argument(ArgumentKind.Octal, ShownIf = nameof(flags), ShownIfAny = CreatesFile)] uint mode)
        => OpenAt(thread, CurrentDirectory, path, flags, mode);

    [Syscall("creat", Returns = ResultKind.Fd)]
    public static Result Create(GuestThread thread, CString path, [Argument(ArgumentKind.Octal)] uint mode)
        => OpenAt(thread, CurrentDirectory, path, OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, mode);

    [Syscall("openat", Returns = ResultKind.Fd, Support = Support.Partial, Note = "host files; Trapeze's own /proc (see docs/ARCHITECTURE.md); /dev is the host's")]
    public static Result OpenAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, OpenFlags flags, [Argument(ArgumentKind.Octal, ShownIf = nameof(flags), ShownIfAny = CreatesFile)] uint mode)
    {
        if (ReadPath(thread, path, allowEmpty: false, out var text) is var readError and not Errno.None)
            return readError;
        if (GuestPaths.Route(thread, directory, text, (flags & OpenFlags.O_NOFOLLOW) == 0) is { } procPath)
        {
            var result = ProcFiles.Open(thread, procPath, flags, out var forwarded);
            if (forwarded is null)
                return result;
            (directory, text) = (CurrentDirectory, forwarded);
        }
        if (HostPath.FromText(thread, directory, text, out var hostPath) is var error and not Errno.None)
            return error;
        using (hostPath)
        {
            // Host descriptors never leak into host children; the guest's close-on-exec bit lives in its FileTable.
            var descriptor = HostSyscall.Invoke(HostSyscall.Openat, hostPath.Directory, hostPath.Pointer, (long)(flags | OpenFlags.O_CLOEXEC), CreationMode(thread, mode));
            if (descriptor < 0)
                return descriptor;
            var status = flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOCTTY | OpenFlags.O_TRUNC | OpenFlags.O_CLOEXEC);
            var result = thread.Process.Files.Add(new HostFile((int)descriptor, hostPath.Text, status), (flags & OpenFlags.O_CLOEXEC) != 0);
            if (result.IsError)
                HostSyscall.Invoke(HostSyscall.Close, descriptor);
            return result;
        }
    }

    [Syscall("close")]
    public static Result Close(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd) => thread.Process.Files.Close(fd);

    [Syscall("stat")]
    public static Result Stat(GuestThread thread, CString path, [Argument(ArgumentKind.Stat, Direction = Direction.Out)] GuestAddress status)
        => StatAt(thread, CurrentDirectory, path, status, 0);

    [Syscall("lstat")]
    public static Result LinkStat(GuestThread thread, CString path, [Argument(ArgumentKind.Stat, Direction = Direction.Out)] GuestAddress status)
        => StatAt(thread, CurrentDirectory, path, status, AtFlags.AT_SYMLINK_NOFOLLOW);

    [Syscall("fstat")]
    public static Result FileStat(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Stat, Direction = Direction.Out)] GuestAddress status)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        var result = file.Status(out var buffer);
        return result.IsError ? result : WriteOut(thread, status, buffer);
    }

    [Syscall("newfstatat")]
    public static Result StatAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(ArgumentKind.Stat, Direction = Direction.Out)] GuestAddress status, AtFlags flags)
    {
        var emptyPath = (flags & AtFlags.AT_EMPTY_PATH) != 0;
        if (ReadPath(thread, path, emptyPath, out var text) is var readError and not Errno.None)
            return readError;
        if (text.Length == 0 && thread.Process.Files.Get(directory) is { HostDescriptor: null })
            return FileStat(thread, directory, status);
        if (GuestPaths.Route(thread, directory, text, (flags & AtFlags.AT_SYMLINK_NOFOLLOW) == 0) is { } procPath)
        {
            var result = ProcFiles.Status(thread, procPath, (flags & AtFlags.AT_SYMLINK_NOFOLLOW) == 0, out var procStatus, out var forwarded);
            if (forwarded is null)
                return result.IsError ? result : WriteOut(thread, status, procStatus);
            (directory, text) = (CurrentDirectory, forwarded);
        }
        if (HostPath.FromText(thread, directory, text, out var hostPath) is var error and not Errno.None)
            return error;
        using (hostPath)
        {
            LinuxStat buffer;
            var result = HostSyscall.Invoke(HostSyscall.Newfstatat, hostPath.Directory, hostPath.Pointer, (long)&buffer, (long)flags);
            return result < 0 ? result : WriteOut(thread, status, buffer);
        }
    }

    [Syscall("statx")]
    public static Result StatExtended(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(Enum = typeof(StatxFlags))] AtFlags flags, [Argument(Enum = typeof(StatxMask))] uint mask, [Argument(ArgumentKind.Statx, Direction = Direction.Out)] GuestAddress status)
    {
        const int StatxSize = 256;
        if (ReadPath(thread, path, (flags & AtFlags.AT_EMPTY_PATH) != 0, out var text) is var readError and not Errno.None)
            return readError;
        LinuxStat made = default;
        var madeUp = Errno.EAGAIN;
        if (text.Length == 0 && thread.Process.Files.Get(directory) is { HostDescriptor: null } file)
            madeUp = file.Status(out made).Error;
        else if (GuestPaths.Route(thread, directory, text, (flags & AtFlags.AT_SYMLINK_NOFOLLOW) == 0) is { } procPath)
        {
            var result = ProcFiles.Status(thread, procPath, (flags & AtFlags.AT_SYMLINK_NOFOLLOW) == 0, out made, out var forwarded);
            if (forwarded is null)
                madeUp = result.Error;
            else
                (directory, text) = (CurrentDirectory, forwarded);
        }
        if (madeUp != Errno.EAGAIN)
            return madeUp != Errno.None ? madeUp : thread.Memory.Write(status, ProcFiles.ToStatx(made)) is var madeFault and not Errno.None ? madeFault : 0;
        if (HostPath.FromText(thread, directory, text, out var hostPath) is var error and not Errno.None)
            return error;
        using (hostPath)
        {
            var buffer = stackalloc byte[StatxSize];
            var result = HostSyscall.Invoke(HostSyscall.Statx, hostPath.Directory, hostPath.Pointer, (long)flags, mask, (long)buffer);
            return result < 0 ? result : thread.Memory.Write(status, new ReadOnlySpan<byte>(buffer, StatxSize)) is var fault and not Errno.None ? fault : 0;
        }
    }

    [Syscall("access")]
    public static Result Access(GuestThread thread, CString path, AccessMode mode)
        => AccessAt2(thread, CurrentDirectory, path, mode, 0);

    [Syscall("faccessat")]
    public static Result AccessAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, AccessMode mode)
        => AccessAt2(thread, directory, path, mode, 0);

    [Syscall("faccessat2")]
    public static Result AccessAt2(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, AccessMode mode, AtFlags flags)
    {
        if (ReadPath(thread, path, allowEmpty: false, out var text) is var readError and not Errno.None)
            return readError;
        if (GuestPaths.Route(thread, directory, text, (flags & AtFlags.AT_SYMLINK_NOFOLLOW) == 0) is { } procPath)
        {
            var result = ProcFiles.Access(thread, procPath, mode, (flags & AtFlags.AT_SYMLINK_NOFOLLOW) == 0, out var forwarded);
            if (forwarded is null)
                return result;
            (directory, text) = (CurrentDirectory, forwarded);
        }
        if (HostPath.FromText(thread, directory, text, out var hostPath) is var error and not Errno.None)
            return error;
        using (hostPath)
            return HostSyscall.Invoke(HostSyscall.Faccessat2, hostPath.Directory, hostPath.Pointer, (long)mode, (long)flags);
    }

    [Syscall("readlink")]
    public static Result ReadLink(GuestThread thread, CString path, [Argument(ArgumentKind.Buffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress buffer, int size)
        => ReadLinkAt(thread, CurrentDirectory, path, buffer, size);

    [Syscall("readlinkat")]
    public static Result ReadLinkAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(ArgumentKind.Buffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress buffer, int size)
    {
        if (size <= 0)
            return Errno.EINVAL;
        if (ReadPath(thread, path, allowEmpty: false, out var text) is var error and not Errno.None)
            return error;
        if (GuestPaths.Route(thread, directory, text, followLast: false) is { } procPath)
        {
            var result = ProcFiles.ReadLink(thread, procPath, buffer, size, out var forwarded);
            if (forwarded is null)
                return result;
            (directory, text) = (CurrentDirectory, forwarded);
        }
        if (HostPath.FromText(thread, directory, text, out var hostPath) is var pathError and not Errno.None)
            return pathError;
        using (hostPath)
        {
            var scratch = new byte[size];
            fixed (byte* pointer = scratch)
            {
                var result = HostSyscall.Invoke(HostSyscall.Readlinkat, hostPath.Directory, hostPath.Pointer, (long)pointer, size);
                if (result < 0)
                    return result;
                return thread.Memory.Write(buffer, scratch.AsSpan(0, (int)result)) is var fault and not Errno.None ? fault : result;
            }
        }
    }

    [Syscall("getcwd")]
    public static Result GetWorkingDirectory(GuestThread thread, [Argument(ArgumentKind.String, Direction = Direction.Out)] GuestAddress buffer, ulong size)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(thread.Process.WorkingDirectoryPath + "\0");
        if ((ulong)bytes.Length > size)
            return Errno.ERANGE;
        return thread.Memory.Write(buffer, bytes) is var fault and not Errno.None ? fault : bytes.Length;
    }

    [Syscall("chdir")]
    public static Result ChangeDirectory(GuestThread thread, CString path)
    {
        if (ReadPath(thread, path, allowEmpty: false, out var text) is var readError and not Errno.None)
            return readError;
        if (GuestPaths.Route(thread, CurrentDirectory, text) is { } procPath)
        {
            if (ProcFs.Lookup(thread, procPath, followLast: true, out var node) is var lookupError and not Errno.None)
                return lookupError;
            if (node is ProcDirectoryNode)
                return EnterProcDirectory(thread.Process, node.Path);
            if (node is not HostPathNode forwarded)
                return Errno.ENOTDIR;
            text = forwarded.Path;
        }
        if (HostPath.FromText(thread, CurrentDirectory, text, out var hostPath) is var error and not Errno.None)
            return error;
        using (hostPath)
        {
            var descriptor = HostSyscall.Invoke(HostSyscall.Openat, hostPath.Directory, hostPath.Pointer, (long)(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC));
            return descriptor < 0 ? descriptor : SetWorkingDirectory(thread.Process, (int)descriptor);
        }
    }

    [Syscall("fchdir")]
    public static Result ChangeDirectoryTo(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd)
    {
        if (thread.Process.Files.Get(fd) is SyntheticDirectory synthetic)
            return EnterProcDirectory(thread.Process, synthetic.Path);
        if (thread.Process.Files.Get(fd) is not { HostDescriptor: { } host })
            return Errno.EBADF;
        var dot = HostStrings.Pin(".", out var handle);
        var descriptor = HostSyscall.Invoke(HostSyscall.Openat, host, dot, (long)(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC));
        handle.Free();
        return descriptor < 0 ? descriptor : SetWorkingDirectory(thread.Process, (int)descriptor);
    }

    [Syscall("getdents64")]
    public static Result GetDirectoryEntries(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.DirectoryEntries, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress buffer, uint count)
        => thread.Process.Files.Get(fd) is { } file ? file.ReadDirectory(thread.Memory, buffer, count) : Errno.EBADF;

    [Syscall("mkdir")]
    public static Result MakeDirectory(GuestThread thread, CString path, [Argument(ArgumentKind.Octal)] uint mode) => MakeDirectoryAt(thread, CurrentDirectory, path, mode);

    [Syscall("mkdirat")]
    public static Result MakeDirectoryAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(ArgumentKind.Octal)] uint mode)
        => WithPath(thread, directory, path, p => HostSyscall.Invoke(HostSyscall.Mkdirat, p.Directory, p.Pointer, CreationMode(thread, mode)));

    [Syscall("rmdir")]
    public static Result RemoveDirectory(GuestThread thread, CString path) => UnlinkAt(thread, CurrentDirectory, path, AtFlags.AT_REMOVEDIR);

    [Syscall("unlink")]
    public static Result Unlink(GuestThread thread, CString path) => UnlinkAt(thread, CurrentDirectory, path, 0);

    [Syscall("unlinkat")]
    public static Result UnlinkAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, AtFlags flags)
        => WithPath(thread, directory, path, p => HostSyscall.Invoke(HostSyscall.Unlinkat, p.Directory, p.Pointer, (long)flags));

    [Syscall("rename")]
    public static Result Rename(GuestThread thread, CString from, CString to) => RenameAt2(thread, CurrentDirectory, from, CurrentDirectory, to, 0);

    [Syscall("renameat")]
    public static Result RenameAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int fromDirectory, CString from, [Argument(ArgumentKind.DirectoryFd)] int toDirectory, CString to)
        => RenameAt2(thread, fromDirectory, from, toDirectory, to, 0);

    [Syscall("renameat2")]
    public static Result RenameAt2(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int fromDirectory, CString from, [Argument(ArgumentKind.DirectoryFd)] int toDirectory, CString to, uint flags)
        => WithPath(thread, fromDirectory, from, source => WithPath(thread, toDirectory, to,
            target => HostSyscall.Invoke(HostSyscall.Renameat2, source.Directory, source.Pointer, target.Directory, target.Pointer, flags)));

    [Syscall("link")]
    public static Result Link(GuestThread thread, CString from, CString to) => LinkAt(thread, CurrentDirectory, from, CurrentDirectory, to, 0);

    [Syscall("linkat")]
    public static Result LinkAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int fromDirectory, CString from, [Argument(ArgumentKind.DirectoryFd)] int toDirectory, CString to, AtFlags flags)
        => WithPath(thread, fromDirectory, from, source => WithPath(thread, toDirectory, to,
            target => HostSyscall.Invoke(HostSyscall.Linkat, source.Directory, source.Pointer, target.Directory, target.Pointer, (long)flags)));

    [Syscall("symlink")]
    public static Result SymbolicLink(GuestThread thread, CString target, CString path) => SymbolicLinkAt(thread, target, CurrentDirectory, path);

    [Syscall("symlinkat")]
    public static Result SymbolicLinkAt(GuestThread thread, CString target, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path)
    {
        if (thread.Memory.ReadCString(target, out var targetText) is var error and not Errno.None)
            return error;
        var targetPointer = HostStrings.Pin(targetText, out var handle);
        try
        {
            return WithPath(thread, directory, path, p => HostSyscall.Invoke(HostSyscall.Symlinkat, targetPointer, p.Directory, p.Pointer));
        }
        finally
        {
            handle.Free();
        }
    }

    [Syscall("chmod")]
    public static Result ChangeMode(GuestThread thread, CString path, [Argument(ArgumentKind.Octal)] uint mode) => ChangeModeAt(thread, CurrentDirectory, path, mode);

    [Syscall("fchmodat")]
    public static Result ChangeModeAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(ArgumentKind.Octal)] uint mode)
        => WithPath(thread, directory, path, p => HostSyscall.Invoke(HostSyscall.Fchmodat, p.Directory, p.Pointer, mode));

    [Syscall("fchmod")]
    public static Result ChangeModeOf(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Octal)] uint mode)
        => WithDescriptor(thread, fd, host => HostSyscall.Invoke(HostSyscall.Fchmod, host, mode));

    [Syscall("chown")]
    public static Result ChangeOwner(GuestThread thread, CString path, uint user, uint group) => ChangeOwnerAt(thread, CurrentDirectory, path, user, group, 0);

    [Syscall("lchown")]
    public static Result ChangeOwnerOfLink(GuestThread thread, CString path, uint user, uint group)
        => ChangeOwnerAt(thread, CurrentDirectory, path, user, group, AtFlags.AT_SYMLINK_NOFOLLOW);

    [Syscall("fchownat")]
    public static Result ChangeOwnerAt(GuestThread thread, int directory, CString path, uint user, uint group, AtFlags flags)
    {
        if ((flags & AtFlags.AT_EMPTY_PATH) != 0)
        {
            if (thread.Memory.ReadCString(path, out var text) is var error and not Errno.None)
                return error;
            if (text.Length == 0)
                return ChangeOwnerOf(thread, directory, user, group);
        }
        return WithPath(thread, directory, path, p => HostSyscall.Invoke(HostSyscall.Fchownat, p.Directory, p.Pointer, user, group, (long)flags));
    }

    [Syscall("fchown")]
    public static Result ChangeOwnerOf(GuestThread thread, int fd, uint user, uint group)
        => WithDescriptor(thread, fd, host => HostSyscall.Invoke(HostSyscall.Fchown, host, user, group));

    [Syscall("ftruncate")]
    public static Result TruncateFile(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, long length)
        => WithDescriptor(thread, fd, host => HostSyscall.Invoke(HostSyscall.Ftruncate, host, length));

    [Syscall("truncate")]
    public static Result Truncate(GuestThread thread, CString path, long length)
        => WithPath(thread, CurrentDirectory, path, p => p.Text.StartsWith('/')
            ? HostSyscall.Invoke(HostSyscall.Truncate, p.Pointer, length)
            : TruncateRelative(p, length));

    [Syscall("fsync")]
    public static Result Synchronize(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd) => WithDescriptor(thread, fd, host => HostSyscall.Invoke(HostSyscall.Fsync, host));

    [Syscall("fdatasync")]
    public static Result SynchronizeData(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd) => WithDescriptor(thread, fd, host => HostSyscall.Invoke(HostSyscall.Fdatasync, host));

    [Syscall("utimensat")]
    public static Result SetTimesAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, GuestAddress times, AtFlags flags)
    {
        var buffer = stackalloc Timespec[2];
        if (!times.IsNull && thread.Memory.Read(times, new Span<byte>(buffer, 2 * sizeof(Timespec))) is var fault and not Errno.None)
            return fault;
        var timesPointer = times.IsNull ? 0 : (long)buffer;
        if (path.IsNull)
            return WithDescriptor(thread, directory, host => HostSyscall.Invoke(HostSyscall.Utimensat, host, 0, timesPointer, (long)flags));
        return WithPath(thread, directory, path, p => HostSyscall.Invoke(HostSyscall.Utimensat, p.Directory, p.Pointer, timesPointer, (long)flags));
    }

    [Syscall("statfs")]
    public static Result FileSystemStatus(GuestThread thread, CString path, GuestAddress buffer)
    {
        if (ReadPath(thread, path, allowEmpty: false, out var text) is var error and not Errno.None)
            return error;
        if (GuestPaths.Route(thread, CurrentDirectory, text) is not null)
            text = ProcFs.Root; // Trapeze's /proc reports the host proc file system's figures
        else if (!text.StartsWith('/'))
            text = $"/proc/self/fd/{thread.Process.WorkingDirectory}/{text}"; // statfs has no *at form
        var pointer = HostStrings.Pin(text, out var handle);
        try
        {
            return CopyStatfs(thread, buffer, statfs => HostSyscall.Invoke(HostSyscall.Statfs, pointer, statfs));
        }
        finally
        {
            handle.Free();
        }
    }

    [Syscall("fstatfs")]
    public static Result FileSystemStatusOf(GuestThread thread, int fd, GuestAddress buffer)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        if (file.HostDescriptor is { } host)
            return CopyStatfs(thread, buffer, statfs => HostSyscall.Invoke(HostSyscall.Fstatfs, host, statfs));
        var pointer = HostStrings.Pin(ProcFs.Root, out var handle);
        try
        {
            return CopyStatfs(thread, buffer, statfs => HostSyscall.Invoke(HostSyscall.Statfs, pointer, statfs));
        }
        finally
        {
            handle.Free();
        }
    }

    private static Result CopyStatfs(GuestThread thread, GuestAddress buffer, Func<long, long> call)
    {
        const int StatfsSize = 120; // struct statfs on x86-64
        var bytes = new byte[StatfsSize];
        fixed (byte* pointer = bytes)
        {
            var result = call((long)pointer);
            if (result < 0)
                return result;
        }
        return thread.Memory.Write(buffer, bytes) is var fault and not Errno.None ? fault : 0;
    }

    private static Result TruncateRelative(HostPath path, long length)
    {
        var descriptor = HostSyscall.Invoke(HostSyscall.Openat, path.Directory, path.Pointer, (long)(OpenFlags.O_WRONLY | OpenFlags.O_CLOEXEC));
        if (descriptor < 0)
            return descriptor;
        var result = HostSyscall.Invoke(HostSyscall.Ftruncate, descriptor, length);
        HostSyscall.Invoke(HostSyscall.Close, descriptor);
        return result;
    }

    private static Result WithPath(GuestThread thread, int directory, CString path, Func<HostPath, Result> call)
    {
        if (HostPath.Resolve(thread, directory, path, out var hostPath) is var error and not Errno.None)
            return error;
        using (hostPath)
            return call(hostPath);
    }

    private static Result WithDescriptor(GuestThread thread, int fd, Func<int, Result> call)
        => thread.Process.Files.Get(fd) is { HostDescriptor: { } host } ? call(host) : Errno.EBADF;

    /// <summary>
    /// A working directory inside Trapeze's /proc: getcwd shows the guest path, relative names
    /// route through /proc (GuestPaths), and the host descriptor is the host's /proc, which only
    /// ".." out of /proc reaches.
    /// </summary>
    private static Result EnterProcDirectory(Process process, string path)
    {
        var pointer = HostStrings.Pin(ProcFs.Root, out var handle);
        var descriptor = HostSyscall.Invoke(HostSyscall.Openat, CurrentDirectory, pointer, (long)(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC));
        handle.Free();
        if (descriptor < 0)
            return descriptor;
        HostSyscall.Invoke(HostSyscall.Close, process.WorkingDirectory);
        process.WorkingDirectory = (int)descriptor;
        process.WorkingDirectoryPath = path.TrimEnd('/');
        return 0;
    }

    private static Result SetWorkingDirectory(Process process, int descriptor)
    {
        var buffer = new byte[GuestMemory.PathMax];
        var link = HostStrings.Pin($"/proc/self/fd/{descriptor}", out var handle);
        long length;
        fixed (byte* pointer = buffer)
            length = HostSyscall.Invoke(HostSyscall.Readlinkat, HostPath.CurrentDirectory, link, (long)pointer, buffer.Length);
        handle.Free();
        if (length < 0)
        {
            HostSyscall.Invoke(HostSyscall.Close, descriptor);
            return length;
        }
        HostSyscall.Invoke(HostSyscall.Close, process.WorkingDirectory);
        process.WorkingDirectory = descriptor;
        process.WorkingDirectoryPath = System.Text.Encoding.UTF8.GetString(buffer, 0, (int)length);
        return 0;
    }

    private static Errno ReadPath(GuestThread thread, CString path, bool allowEmpty, out string text)
    {
        if (thread.Memory.ReadCString(path, out text) is var error and not Errno.None)
            return error;
        return text.Length == 0 && !allowEmpty ? Errno.ENOENT : Errno.None;
    }

    // In the guest's layout: struct stat on x86-64, struct stat64 for the 32-bit personalities' *64 calls.
    private static Result WriteOut(GuestThread thread, GuestAddress address, in LinuxStat status)
        => thread.Process.Personality.Structures.WriteStat(thread.Memory, address, status) is var fault and not Errno.None ? fault : 0;
}
