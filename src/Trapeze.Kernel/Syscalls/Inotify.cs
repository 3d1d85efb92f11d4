using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;
using Trapeze.Kernel.Vfs;

namespace Trapeze.Kernel.Syscalls;

/// <summary>inotify(7): instances, and watches on the inodes Trapeze's walker resolves.</summary>
public static class Inotify
{
    private const int CurrentDirectory = -100; // AT_FDCWD

    /// <summary>Every bit inotify_add_watch knows (ALL_INOTIFY_BITS); a mask without one is EINVAL.</summary>
    private const InotifyMask KnownBits = FileNotifications.AllEvents | InotifyMask.IN_UNMOUNT | InotifyMask.IN_Q_OVERFLOW | InotifyMask.IN_IGNORED
        | InotifyMask.IN_ONLYDIR | InotifyMask.IN_DONT_FOLLOW | InotifyMask.IN_EXCL_UNLINK | InotifyMask.IN_MASK_CREATE | InotifyMask.IN_MASK_ADD
        | InotifyMask.IN_ISDIR | InotifyMask.IN_ONESHOT;

    [Syscall("inotify_init1", Returns = ResultKind.Fd, Support = Support.Full)]
    public static Result Init1(GuestThread thread, InotifyFlags flags)
    {
        if ((flags & ~(InotifyFlags.IN_CLOEXEC | InotifyFlags.IN_NONBLOCK)) != 0)
            return Errno.EINVAL;
        if (thread.Kernel.Notifications.NewInstance(out var file) is { IsError: true } refused)
            return refused;
        file!.StatusFlags = OpenFlags.O_RDONLY | ((flags & InotifyFlags.IN_NONBLOCK) != 0 ? OpenFlags.O_NONBLOCK : 0);
        var fd = thread.Process.Files.Add(file, (flags & InotifyFlags.IN_CLOEXEC) != 0);
        if (fd.IsError)
            file.Release();
        return fd;
    }

    [Syscall("inotify_init", Returns = ResultKind.Fd, Support = Support.Full)]
    public static Result Init(GuestThread thread) => Init1(thread, 0);

    [Syscall("inotify_add_watch", Support = Support.Partial, Note = "events come from what guests do through Trapeze; changes made by host processes outside Trapeze, writes through shared mappings, splice/sendfile/io_uring transfers are not seen; IN_EXCL_UNLINK is accepted and changes nothing")]
    public static Result AddWatch(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, CString path, InotifyMask mask)
    {
        if ((mask & KnownBits) == 0 || (mask & (InotifyMask.IN_MASK_ADD | InotifyMask.IN_MASK_CREATE)) == (InotifyMask.IN_MASK_ADD | InotifyMask.IN_MASK_CREATE))
            return Errno.EINVAL;
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        if (file is not InotifyFile instance)
            return Errno.EINVAL;
        if (thread.Memory.ReadCStringBytes(path, out var text) is var fault and not Errno.None)
            return fault;
        var follow = (mask & InotifyMask.IN_DONT_FOLLOW) != 0 ? WalkFlags.None : WalkFlags.FollowLast;
        var walkError = PathWalker.Walk(thread, CurrentDirectory, text, follow, out var walk);
        using (walk)
        {
            if (walkError != Errno.None)
                return walkError;
            if (walk.Target is not { } target)
                return Errno.ENOENT;
            if ((mask & InotifyMask.IN_ONLYDIR) != 0 && !target.Node.IsDirectory)
                return Errno.ENOTDIR;
            if (target.Node.FileSystem.Access(thread, target.Node, AccessMode.R_OK, effective: true) is var denied and not Errno.None)
                return denied;
            return instance.AddWatch(target.Node.Identity, mask);
        }
    }

    [Syscall("inotify_rm_watch", Support = Support.Full)]
    public static Result RemoveWatch(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, int watch)
        => thread.Process.Files.Get(fd) switch
        {
            null => Errno.EBADF,
            InotifyFile instance => instance.RemoveWatch(watch),
            _ => Errno.EINVAL,
        };
}
