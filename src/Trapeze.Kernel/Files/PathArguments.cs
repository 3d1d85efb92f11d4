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

    public void Dispose()
    {
        if (handle.IsAllocated)
            handle.Free();
    }
}
