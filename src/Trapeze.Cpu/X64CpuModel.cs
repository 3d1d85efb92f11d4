namespace Trapeze.Cpu;

/// <summary>
/// The CPUID answers Trapeze gives for the leaves that decide which code glibc and compilers pick:
/// an x86-64-v2 CPU (SSE4.2, POPCNT, CX16, AES, PCLMULQDQ) without AVX, all of which the
/// emulator implements. Other leaves are the engine's own.
/// </summary>
public static class X64CpuModel
{
    /// <summary>CPUID.1:EDX — FPU through SSE2, the set AT_HWCAP also reports.</summary>
    public const uint Leaf1Edx = 0x078bfbff;

    /// <summary>CPUID.1:ECX — SSE3, PCLMULQDQ, SSSE3, CX16, SSE4.1, SSE4.2, POPCNT, AES.</summary>
    public const uint Leaf1Ecx = (1u << 0) | (1u << 1) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 23) | (1u << 25);

    /// <summary>What Unicorn's own leaves 0 and 0x80000002..4 report (Trapeze leaves them alone); /proc/cpuinfo shows them.</summary>
    public const string Vendor = "AuthenticAMD";
    public const string ModelName = "QEMU Virtual CPU version 2.5+";
    public const int Family = 6, Model = 26, Stepping = 5;

    /// <summary>CPUID.0x80000001:ECX and EDX as <see cref="TryGet"/> answers them.</summary>
    public const uint ExtendedEcx = (1u << 0) | (1u << 5) | (1u << 8);
    public const uint ExtendedEdx = (1u << 11) | (1u << 20) | (1u << 27) | (1u << 29);

    public static bool TryGet(uint leaf, uint subleaf, out (uint Eax, uint Ebx, uint Ecx, uint Edx) result)
    {
        const uint Signature = 0x000106a5; // family 6, model 26 (Nehalem), stepping 5
        result = leaf switch
        {
            1 => (Signature, 0x00010800, Leaf1Ecx, Leaf1Edx),
            // Structured extended features: none (no AVX2, BMI, ...), for every subleaf.
            7 => (0, 0, 0, 0),
            // LAHF/SAHF, LZCNT, PREFETCHW; SYSCALL, NX, RDTSCP, long mode.
            0x8000_0001 => (Signature, 0, ExtendedEcx, ExtendedEdx),
            _ => default,
        };
        return leaf is 1 or 7 or 0x8000_0001;
    }
}
