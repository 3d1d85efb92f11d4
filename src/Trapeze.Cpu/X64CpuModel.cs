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

    /// <summary>CPUID.0 and 0x80000002..4: the vendor and brand of the Westmere model the engine runs; /proc/cpuinfo shows them.</summary>
    public const string Vendor = "GenuineIntel";
    public const string ModelName = "Westmere E56xx/L56xx/X56xx (Nehalem-C)";
    public const int Family = 6, Model = 26, Stepping = 5;

    /// <summary>The highest basic leaf (Westmere's: 0xb, topology).</summary>
    public const uint MaximumLeaf = 0xb;

    /// <summary>CPUID.0x80000001:ECX and EDX as <see cref="TryGet"/> answers them.</summary>
    public const uint ExtendedEcx = (1u << 0) | (1u << 5) | (1u << 8);
    // RDTSCP (EDX bit 27) is not claimed: Unicorn raises #UD for it, and Go's runtime reads the clock with it when told it exists.
    public const uint ExtendedEdx = (1u << 11) | (1u << 20) | (1u << 29);

    public static bool TryGet(uint leaf, uint subleaf, out (uint Eax, uint Ebx, uint Ecx, uint Edx) result)
    {
        const uint Signature = 0x000106a5; // family 6, model 26 (Nehalem), stepping 5
        result = leaf switch
        {
            0 => (MaximumLeaf, Word(Vendor, 0), Word(Vendor, 8), Word(Vendor, 4)),
            1 => (Signature, 0x00010800, Leaf1Ecx, Leaf1Edx),
            // Structured extended features: none (no AVX2, BMI, ...), for every subleaf.
            7 => (0, 0, 0, 0),
            // LAHF/SAHF, LZCNT, PREFETCHW; SYSCALL, NX, long mode.
            0x8000_0001 => (Signature, 0, ExtendedEcx, ExtendedEdx),
            // The brand string, 16 bytes per leaf, NUL padded.
            >= 0x8000_0002 and <= 0x8000_0004 => Brand((int)(leaf - 0x8000_0002) * 16),
            _ => default,
        };
        return leaf is 0 or 1 or 7 or (>= 0x8000_0001 and <= 0x8000_0004);
    }

    private static (uint, uint, uint, uint) Brand(int offset)
    {
        var text = ModelName.PadRight(48, '\0');
        return (Word(text, offset), Word(text, offset + 4), Word(text, offset + 8), Word(text, offset + 12));
    }

    /// <summary>Four characters of <paramref name="text"/> as CPUID returns them: little endian in a register.</summary>
    private static uint Word(string text, int offset)
        => (uint)text[offset] | (uint)text[offset + 1] << 8 | (uint)text[offset + 2] << 16 | (uint)text[offset + 3] << 24;
}
