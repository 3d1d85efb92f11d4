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

    /// <summary>
    /// A host page that is mapped but inaccessible: a host call given it fails with EFAULT exactly
    /// where the guest's unmapped buffer would, after the host kernel's other checks. One per host
    /// process: it holds nothing and never changes, so sharing it shares no state.
    /// </summary>
    public static nint FaultPage => FaultPageHolder.Page;

    /// <summary>An address in the kernel half: host calls fail their access_ok check with it, as Linux does for a range past user space.</summary>
    public const long KernelAddress = unchecked((long)0xffff_8000_0000_0000);

    private static class FaultPageHolder
    {
        public static readonly nint Page = (nint)HostSyscall.Invoke(HostSyscall.Mmap, 0, 4096, 0, MapPrivateAnonymous | MapNoReserve, -1, 0);
    }

    public static void Release(nint address, ulong length) => HostSyscall.Invoke(HostSyscall.Munmap, address, (long)length);
}
