using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;
using Trapeze.Kernel.Vfs;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Extended attributes (getxattr, listxattr, setxattr, removexattr): the host file's own.</summary>
public static unsafe class ExtendedAttributes
{
    private const int CurrentDirectory = HostPath.CurrentDirectory;
    private const int NameMaximum = 255; // XATTR_NAME_MAX
    private const ulong ValueMaximum = 65536; // XATTR_SIZE_MAX

    [Syscall("getxattr", Support = Support.Partial, Note = "the host file's attributes; for a bad name together with another bad argument the errno may differ from Linux's (ERANGE/EFAULT order)")]
    public static Result Get(GuestThread thread, CString path, CString name, GuestAddress value, ulong size)
        => OnPath(thread, path, "getxattr", host => GetValue(thread, HostSyscall.Getxattr, host, name, value, size));

    [Syscall("lgetxattr", Support = Support.Partial, Note = "the host file's attributes; for a bad name together with another bad argument the errno may differ from Linux's (ERANGE/EFAULT order)")]
    public static Result GetOfLink(GuestThread thread, CString path, CString name, GuestAddress value, ulong size)
        => OnPath(thread, path, "lgetxattr", host => GetValue(thread, HostSyscall.Lgetxattr, host, name, value, size));

    [Syscall("fgetxattr", Support = Support.Partial, Note = "the host file's attributes; for a bad name together with another bad argument the errno may differ from Linux's (ERANGE/EFAULT order)")]
    public static Result GetOfFile(GuestThread thread, int fd, CString name, GuestAddress value, ulong size)
        => NameFirst(thread, name, () => OnDescriptor(thread, fd, host => GetValue(thread, HostSyscall.Fgetxattr, host, name, value, size)));

    [Syscall("listxattr", Support = Support.Full)]
    public static Result List(GuestThread thread, CString path, GuestAddress list, ulong size)
        => OnPath(thread, path, "listxattr", host => ListNames(thread, HostSyscall.Listxattr, host, list, size));

    [Syscall("llistxattr", Support = Support.Full)]
    public static Result ListOfLink(GuestThread thread, CString path, GuestAddress list, ulong size)
        => OnPath(thread, path, "llistxattr", host => ListNames(thread, HostSyscall.Llistxattr, host, list, size));

    [Syscall("flistxattr", Support = Support.Full)]
    public static Result ListOfFile(GuestThread thread, int fd, GuestAddress list, ulong size)
        => thread.Process.Files.Get(fd) is { HostDescriptor: null } ? 0 // a pipe or socket has no attributes: an empty list
            : OnDescriptor(thread, fd, host => ListNames(thread, HostSyscall.Flistxattr, host, list, size));

    [Syscall("setxattr", Support = Support.Partial, Note = "the host file's attributes; for a bad name together with another bad argument the errno may differ from Linux's (ERANGE/EFAULT order)")]
    public static Result Set(GuestThread thread, CString path, CString name, GuestAddress value, ulong size, int flags)
        => !ValidSetFlags(flags) ? Errno.EINVAL : OnPath(thread, path, "setxattr", host => SetValue(thread, HostSyscall.Setxattr, host, name, value, size, flags));

    [Syscall("lsetxattr", Support = Support.Partial, Note = "the host file's attributes; for a bad name together with another bad argument the errno may differ from Linux's (ERANGE/EFAULT order)")]
    public static Result SetOfLink(GuestThread thread, CString path, CString name, GuestAddress value, ulong size, int flags)
        => !ValidSetFlags(flags) ? Errno.EINVAL : OnPath(thread, path, "lsetxattr", host => SetValue(thread, HostSyscall.Lsetxattr, host, name, value, size, flags));

    [Syscall("fsetxattr", Support = Support.Partial, Note = "the host file's attributes; for a bad name together with another bad argument the errno may differ from Linux's (ERANGE/EFAULT order)")]
    public static Result SetOfFile(GuestThread thread, int fd, CString name, GuestAddress value, ulong size, int flags)
        => !ValidSetFlags(flags) ? Errno.EINVAL : NameFirst(thread, name, () => OnDescriptor(thread, fd, host => SetValue(thread, HostSyscall.Fsetxattr, host, name, value, size, flags)));

    [Syscall("removexattr", Support = Support.Partial, Note = "the host file's attributes; for a bad name together with another bad argument the errno may differ from Linux's (ERANGE/EFAULT order)")]
    public static Result Remove(GuestThread thread, CString path, CString name)
        => OnPath(thread, path, "removexattr", host => RemoveName(thread, HostSyscall.Removexattr, host, name));

    [Syscall("lremovexattr", Support = Support.Partial, Note = "the host file's attributes; for a bad name together with another bad argument the errno may differ from Linux's (ERANGE/EFAULT order)")]
    public static Result RemoveOfLink(GuestThread thread, CString path, CString name)
        => OnPath(thread, path, "lremovexattr", host => RemoveName(thread, HostSyscall.Lremovexattr, host, name));

    [Syscall("fremovexattr", Support = Support.Partial, Note = "the host file's attributes; for a bad name together with another bad argument the errno may differ from Linux's (ERANGE/EFAULT order)")]
    public static Result RemoveOfFile(GuestThread thread, int fd, CString name)
        => NameFirst(thread, name, () => OnDescriptor(thread, fd, host => RemoveName(thread, HostSyscall.Fremovexattr, host, name)));

    /// <summary>
    /// Runs a host call on the guest's path. The path calls have no *at form, so a relative path
    /// is reached through the host's link to the working directory's descriptor.
    /// Trapeze's /proc has no extended attributes (EOPNOTSUPP, as Linux's /proc answers).
    /// </summary>
    private static Result OnPath(GuestThread thread, CString path, string call, Func<long, Result> invoke)
    {
        if (thread.Memory.ReadCStringBytes(path, out var text) is var error and not Errno.None)
            return error;
        if (text.Length == 0)
            return Errno.ENOENT; // the *xattr path calls take no AT_EMPTY_PATH
        var walkError = PathWalker.Walk(thread, CurrentDirectory, text, call is "lgetxattr" or "lsetxattr" or "llistxattr" or "lremovexattr" ? WalkFlags.None : WalkFlags.FollowLast, out var walk);
        using var _ = walk;
        if (walkError != Errno.None)
            return walkError;
        if (walk.Target is not { } target)
            return Errno.ENOENT;
        // The host's /proc link of the walker's own descriptor reaches exactly the node it found.
        if (target.Node.FileSystem.HostPathOf(target.Node) is not { } hostText)
            return Errno.EOPNOTSUPP;
        if (call.StartsWith('s') || call.StartsWith("ls", StringComparison.Ordinal) || call.StartsWith('r') || call.StartsWith("lr", StringComparison.Ordinal))
        {
            if (target.Mount.ReadOnly)
                return Errno.EROFS;
        }
        var pointer = HostStrings.Pin(hostText, out var handle);
        try
        {
            return invoke(pointer);
        }
        finally
        {
            handle.Free();
        }
    }

    private static bool ValidSetFlags(int flags) => (flags & ~3) == 0; // XATTR_CREATE | XATTR_REPLACE

    /// <summary>Linux (6.x) copies the attribute name in before it looks at the descriptor: a bad name wins over a bad fd.</summary>
    private static Result NameFirst(GuestThread thread, CString name, Func<Result> call)
    {
        if (ReadName(thread, name, out _, out var handle) is var error and not Errno.None)
            return error;
        handle.Free();
        return call();
    }

    private static Result OnDescriptor(GuestThread thread, int fd, Func<long, Result> invoke)
        => thread.Process.Files.Get(fd) switch
        {
            null => Errno.EBADF,
            { HostDescriptor: { } host } => invoke(host),
            _ => Errno.EOPNOTSUPP,
        };

    private static Result GetValue(GuestThread thread, int call, long target, CString name, GuestAddress value, ulong size)
    {
        if (ReadName(thread, name, out var namePointer, out var handle) is var error and not Errno.None)
            return error;
        try
        {
            var buffer = new byte[Math.Min(size, ValueMaximum)];
            fixed (byte* pointer = buffer)
            {
                var result = HostSyscall.Invoke(call, target, namePointer, size == 0 ? 0 : (long)pointer, buffer.Length);
                if (result <= 0 || size == 0)
                    return result;
                return thread.Memory.Write(value, buffer.AsSpan(0, (int)result)) is var fault and not Errno.None ? fault : result;
            }
        }
        finally
        {
            handle.Free();
        }
    }

    private static Result ListNames(GuestThread thread, int call, long target, GuestAddress list, ulong size)
    {
        var buffer = new byte[Math.Min(size, ValueMaximum)];
        fixed (byte* pointer = buffer)
        {
            var result = HostSyscall.Invoke(call, target, size == 0 ? 0 : (long)pointer, buffer.Length);
            if (result <= 0 || size == 0)
                return result;
            return thread.Memory.Write(list, buffer.AsSpan(0, (int)result)) is var fault and not Errno.None ? fault : result;
        }
    }

    private static Result SetValue(GuestThread thread, int call, long target, CString name, GuestAddress value, ulong size, int flags)
    {
        if (size > ValueMaximum)
            return Errno.E2BIG;
        var buffer = new byte[size];
        if (thread.Memory.Read(value, buffer) is var fault and not Errno.None)
            return fault;
        if (ReadName(thread, name, out var namePointer, out var handle) is var error and not Errno.None)
            return error;
        try
        {
            fixed (byte* pointer = buffer)
                return HostSyscall.Invoke(call, target, namePointer, (long)pointer, (long)size, flags);
        }
        finally
        {
            handle.Free();
        }
    }

    private static Result RemoveName(GuestThread thread, int call, long target, CString name)
    {
        if (ReadName(thread, name, out var namePointer, out var handle) is var error and not Errno.None)
            return error;
        try
        {
            return HostSyscall.Invoke(call, target, namePointer);
        }
        finally
        {
            handle.Free();
        }
    }

    private static Errno ReadName(GuestThread thread, CString name, out long pointer, out System.Runtime.InteropServices.GCHandle handle)
    {
        pointer = 0;
        handle = default;
        if (thread.Memory.ReadCString(name, out var text, NameMaximum + 1) is var error and not Errno.None)
            return error == Errno.ENAMETOOLONG ? Errno.ERANGE : error;
        if (text.Length == 0)
            return Errno.ERANGE;
        pointer = HostStrings.Pin(text, out handle);
        return Errno.None;
    }
}
