using System.Runtime.InteropServices;
using System.Text;

namespace Trapeze.Kernel.Host;

/// <summary>NUL-terminated host copies of strings for host syscalls.</summary>
internal static class HostStrings
{
    /// <summary>Pins a NUL-terminated UTF-8 copy of <paramref name="text"/>; free the handle after the call.</summary>
    public static long Pin(string text, out GCHandle handle)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        return handle.AddrOfPinnedObject();
    }
}
