namespace Trapeze.Kernel.Host;

/// <summary>Host pages that back guest memory. Trapeze owns them; the CPU maps them.</summary>
internal static class HostMemory
{
    private const long ProtectionReadWrite = 3;
    private const long MapPrivateAnonymous = 0x02 | 0x20;
    private const long MapNoReserve = 0x4000;

    /// <summary>Reserves zeroed, readable and writable host pages (guest protections are the CPU's job); 0 when the host refuses.</summary>
    public static nint Allocate(ulong length)
    {
        var result = HostSyscall.Invoke(HostSyscall.Mmap, 0, (long)length, ProtectionReadWrite, MapPrivateAnonymous | MapNoReserve, -1, 0);
        return result < 0 && result >= -4095 ? 0 : (nint)result;
    }

    public static void Release(nint address, ulong length) => HostSyscall.Invoke(HostSyscall.Munmap, address, (long)length);
}
