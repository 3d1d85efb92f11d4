using System.Text;
using Trapeze.Kernel.Files;

namespace Trapeze.Kernel.Host;

/// <summary>Reads symbolic links on the host (its /proc/self/fd links name what a host descriptor is).</summary>
internal static unsafe class HostLinks
{
    public static string? Read(string path)
    {
        var buffer = new byte[4096];
        var pointer = HostStrings.Pin(path, out var handle);
        long length;
        fixed (byte* target = buffer)
            length = HostSyscall.Invoke(HostSyscall.Readlinkat, HostPath.CurrentDirectory, pointer, (long)target, buffer.Length);
        handle.Free();
        return length < 0 ? null : Encoding.UTF8.GetString(buffer, 0, (int)length);
    }

    /// <summary>The host's canonical path of <paramref name="path"/> (links and ".." resolved), or null if it cannot be opened.</summary>
    public static string? RealPath(string path)
    {
        const long PathOnly = 0x200000 | 0x80000; // O_PATH | O_CLOEXEC
        var pointer = HostStrings.Pin(path, out var handle);
        var descriptor = HostSyscall.Invoke(HostSyscall.Openat, HostPath.CurrentDirectory, pointer, PathOnly);
        handle.Free();
        if (descriptor < 0)
            return null;
        var real = PathOf((int)descriptor);
        HostSyscall.Invoke(HostSyscall.Close, descriptor);
        return real;
    }

    /// <summary>The absolute path of the file behind a host descriptor, or null for pipes and sockets.</summary>
    public static string? PathOf(int descriptor)
        => Read($"/proc/self/fd/{descriptor}") is { } target && target.StartsWith('/') ? target : null;
}
