using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>
/// A guest path with the directory it is relative to, ready for a host *at call: the host
/// descriptor standing for the guest's dirfd (or its working directory) and the pinned path.
/// </summary>
internal readonly struct HostPath : IDisposable
{
    private readonly System.Runtime.InteropServices.GCHandle handle;

    private HostPath(long directory, string text)
    {
        Directory = directory;
        Text = text;
        Pointer = HostStrings.Pin(text, out handle);
    }

    public long Directory { get; }
    public string Text { get; }
    public long Pointer { get; }

    public const int CurrentDirectory = -100; // AT_FDCWD

    /// <summary>Reads the guest's path and finds the host directory it is relative to.</summary>
    public static Errno Resolve(GuestThread thread, int directory, CString path, out HostPath result, bool allowEmpty = false)
    {
        result = default;
        if (thread.Memory.ReadCString(path, out var text) is var error and not Errno.None)
            return error;
        if (text.Length == 0 && !allowEmpty)
            return Errno.ENOENT;
        // Calls that change names (mkdir, unlink, rename, chmod, utimens...) and chdir may not reach
        // the host's /proc through the guest's: Trapeze's /proc is read-only, and readers route
        // their /proc paths to it before coming here.
        if (Vfs.GuestPaths.Route(thread, directory, text) is not null)
            return Errno.EACCES;
        return FromText(thread, directory, text, out result);
    }

    public static Errno FromText(GuestThread thread, int directory, string text, out HostPath result)
    {
        result = default;
        long hostDirectory;
        if (text.StartsWith('/') && text.Length > 0 || directory == CurrentDirectory)
            hostDirectory = thread.Process.WorkingDirectory;
        else if (thread.Process.Files.Get(directory) is { HostDescriptor: { } descriptor })
            hostDirectory = descriptor;
        else
            return thread.Process.Files.Get(directory) is null ? Errno.EBADF : Errno.ENOTDIR;
        result = new HostPath(hostDirectory, text);
        return Errno.None;
    }

    public void Dispose()
    {
        if (handle.IsAllocated)
            handle.Free();
    }
}
