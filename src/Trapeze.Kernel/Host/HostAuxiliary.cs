using System.Runtime.InteropServices;

namespace Trapeze.Kernel.Host;

/// <summary>The host's own auxiliary vector: what a guest running on the host CPU is told about that CPU.</summary>
internal static partial class HostAuxiliary
{
    [LibraryImport("libc", EntryPoint = "getauxval")]
    private static partial ulong GetAuxiliaryValue(ulong type);

    public static ulong HardwareCapabilities => GetAuxiliaryValue(16); // AT_HWCAP
}
