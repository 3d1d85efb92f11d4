using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>memfd_create: anonymous files in memory, with seals.</summary>
public static unsafe class MemoryFiles
{
    private const uint CloseOnExec = 1, AllowSealing = 2, HugePages = 4, NoExecuteSeal = 8, Executable = 0x10;

    /// <summary>The longest name (NAME_MAX less the "memfd:" prefix Linux adds).</summary>
    private const int NameMaximum = 249;

    /// <summary>
    /// The file is a host memfd made with the guest's flags, so its size, data, MAP_SHARED mappings
    /// and seals (F_ADD_SEALS, F_GET_SEALS) are the host kernel's own, and /proc/PID/fd shows
    /// "/memfd:NAME (deleted)" as Linux does.
    /// </summary>
    [Syscall("memfd_create", Returns = ResultKind.Fd, Support = Support.Partial, Note = "a host memfd; MFD_HUGETLB as the host allows it")]
    public static Result Create(GuestThread thread, CString name, [Argument(ArgumentKind.Hex)] uint flags)
    {
        if ((flags & ~(CloseOnExec | AllowSealing | HugePages | NoExecuteSeal | Executable | (0x3fu << 26))) != 0 || (flags & (NoExecuteSeal | Executable)) == (NoExecuteSeal | Executable))
            return Errno.EINVAL;
        if (thread.Memory.ReadCStringBytes(name, out var text) is var error and not Errno.None)
            return error;
        if (text.Length > NameMaximum)
            return Errno.EINVAL;
        long descriptor;
        fixed (byte* pointer = Vfs.HostFs.Terminated(text))
            descriptor = HostSyscall.Invoke(HostSyscall.Number("memfd_create"), (long)pointer, (flags & ~CloseOnExec) | CloseOnExec);
        if (descriptor < 0)
            return descriptor;
        var file = new HostFile((int)descriptor, $"/memfd:{System.Text.Encoding.UTF8.GetString(text)} (deleted)", OpenFlags.O_RDWR | OpenFlags.O_LARGEFILE);
        var added = thread.Process.Files.Add(file, (flags & CloseOnExec) != 0);
        if (added.IsError)
            file.Release();
        return added;
    }
}
