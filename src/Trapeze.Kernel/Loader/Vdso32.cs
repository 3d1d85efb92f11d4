using System.Buffers.Binary;
using System.Text;
using Trapeze.Cpu;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// The i386 vDSO, linux-gate.so.1: a one-page ELF32 shared object linked at 0 whose __kernel_vsyscall
/// is <c>int $0x80; ret</c> (AT_SYSINFO names it; glibc makes every system call through it) and whose
/// __kernel_sigreturn and __kernel_rt_sigreturn are the signal trampolines. PT_DYNAMIC with a SysV
/// hash, dynsym and dynstr is what ld.so needs to resolve symbols from it; DT_SONAME lets a program
/// linked against a stub linux-gate.so.1 (reference 02) find it there.
/// </summary>
public static class Vdso32
{
    public const string SharedObjectName = "linux-gate.so.1";

    // Where each function sits in the page, and its code.
    private static readonly (string Name, int Offset, byte[] Code)[] Functions =
    [
        ("__kernel_vsyscall", 0x400, [0xcd, 0x80, 0xc3]), // int $0x80; ret
        ("__kernel_sigreturn", 0x420, [0x58, 0xb8, 0x77, 0, 0, 0, 0xcd, 0x80]), // pop %eax; mov $119 (sigreturn), %eax; int $0x80
        ("__kernel_rt_sigreturn", 0x440, [0xb8, 0xad, 0, 0, 0, 0xcd, 0x80]), // mov $173 (rt_sigreturn), %eax; int $0x80
    ];

    /// <summary>Where in the image a handler without SA_RESTORER returns to: __kernel_rt_sigreturn or __kernel_sigreturn.</summary>
    public static ulong SignalReturnOffset(bool realtime) => (ulong)Functions[realtime ? 2 : 1].Offset;

    /// <summary>Maps the image read+execute at a free address; returns it and __kernel_vsyscall's address (null: no room).</summary>
    public static (ulong Image, ulong Vsyscall)? Map(GuestMemory memory)
    {
        var image = Build();
        var space = memory.Space;
        if (space.FindFree((ulong)image.Length) is not { } address
            || space.Map(address, (ulong)image.Length, MemoryProtection.Read | MemoryProtection.Execute, Vdso.MappingName) is null)
            return null;
        memory.Poke(address, image);
        return (address, address + (ulong)Functions[0].Offset);
    }

    public static byte[] Build()
    {
        const int headerSize = 52, programHeaderSize = 32, symbolSize = 16;
        var image = new byte[4096];
        var span = image.AsSpan();
        var strings = new List<byte> { 0 };
        int AddString(string text)
        {
            var at = strings.Count;
            strings.AddRange(Encoding.ASCII.GetBytes(text));
            strings.Add(0);
            return at;
        }
        var soname = AddString(SharedObjectName);
        var nameOffsets = Functions.Select(f => AddString(f.Name)).ToArray();
        var symbolCount = 1 + Functions.Length;

        // Layout: headers, hash, dynsym, dynstr, dynamic; code from 0x400.
        var hashOffset = 0x80;
        var symbolOffset = hashOffset + (2 + 1 + symbolCount) * 4;
        var stringOffset = symbolOffset + symbolCount * symbolSize;
        var dynamicOffset = (stringOffset + strings.Count + 7) & ~7;
        const int dynamicCount = 7;

        // ELF header: ELFCLASS32, little-endian, ET_DYN, EM_386.
        "\u007fELF"u8.CopyTo(span);
        span[4] = 1;
        span[5] = 1;
        span[6] = 1;
        U16(span, 16, 3);
        U16(span, 18, 3);
        U32(span, 20, 1);
        U32(span, 24, (uint)Functions[0].Offset);
        U32(span, 28, headerSize);
        U16(span, 40, headerSize);
        U16(span, 42, programHeaderSize);
        U16(span, 44, 2);
        U16(span, 46, 40);

        // PT_LOAD of the whole page (R+X), PT_DYNAMIC.
        ProgramHeader(span[headerSize..], 1, 5, 0, 4096, 4096);
        ProgramHeader(span[(headerSize + programHeaderSize)..], 2, 4, (uint)dynamicOffset, dynamicCount * 8, 4);

        // SysV hash with one bucket: every symbol on one chain.
        U32(span, hashOffset, 1);
        U32(span, hashOffset + 4, (uint)symbolCount);
        U32(span, hashOffset + 8, 1);
        for (var index = 0; index < symbolCount; index++)
            U32(span, hashOffset + 12 + index * 4, index + 1 < symbolCount && index > 0 ? (uint)(index + 1) : 0);

        for (var index = 0; index < Functions.Length; index++)
        {
            var symbol = span[(symbolOffset + (index + 1) * symbolSize)..];
            U32(symbol, 0, (uint)nameOffsets[index]);
            U32(symbol, 4, (uint)Functions[index].Offset);
            U32(symbol, 8, (uint)Functions[index].Code.Length);
            symbol[12] = 0x12; // STB_GLOBAL, STT_FUNC
            U16(symbol, 14, 1); // defined (any section but SHN_UNDEF)
            Functions[index].Code.CopyTo(span[Functions[index].Offset..]);
        }
        strings.ToArray().CopyTo(span[stringOffset..]);

        ReadOnlySpan<(uint Tag, int Value)> dynamic =
        [
            (4, hashOffset), (5, stringOffset), (6, symbolOffset), (10, strings.Count), (11, symbolSize), (14, soname), (0, 0),
        ];
        for (var index = 0; index < dynamic.Length; index++)
        {
            U32(span, dynamicOffset + index * 8, dynamic[index].Tag);
            U32(span, dynamicOffset + index * 8 + 4, (uint)dynamic[index].Value);
        }
        return image;
    }

    private static void ProgramHeader(Span<byte> entry, uint type, uint flags, uint offset, uint size, uint alignment)
    {
        U32(entry, 0, type);
        U32(entry, 4, offset);
        U32(entry, 8, offset);
        U32(entry, 12, offset);
        U32(entry, 16, size);
        U32(entry, 20, size);
        U32(entry, 24, flags);
        U32(entry, 28, alignment);
    }

    private static void U16(Span<byte> span, int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(span[offset..], value);
    private static void U32(Span<byte> span, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(span[offset..], value);
}

/// <summary>
/// ARM Linux's kuser helpers: code at fixed addresses in the page at 0xffff0000 that user programs
/// call (older glibc and libgcc's atomics): __kuser_get_tls (reads TPIDRURO), __kuser_cmpxchg and
/// __kuser_cmpxchg64 (ldrex/strex loops: Z and C set and r0 = 0 when the store happened),
/// __kuser_memory_barrier, and the helper version word at 0xffff0ffc.
/// </summary>
public static class KuserHelpers
{
    public const ulong Page = 0xffff_0000;

    private static readonly (int Offset, uint[] Code)[] Helpers =
    [
        // __kuser_cmpxchg64(const int64_t *old, const int64_t *new, volatile int64_t *ptr)
        (0xf60, [0xe92d00f0, 0xe1c040d0, 0xe1c160d0, 0xe1b20f9f, 0xe0303004, 0x00313005, 0x01a23f96, 0x03330001, 0x0afffff9, 0xe2730000, 0xe8bd00f0, 0xe12fff1e]),
        // __kuser_memory_barrier: dmb ish; bx lr
        (0xfa0, [0xf57ff05b, 0xe12fff1e]),
        // __kuser_cmpxchg(int old, int new, volatile int *ptr)
        (0xfc0, [0xe1923f9f, 0xe0533000, 0x01823f91, 0x03330001, 0x0afffffa, 0xe2730000, 0xe12fff1e]),
        // __kuser_get_tls: mrc p15, 0, r0, c13, c0, 3; bx lr
        (0xfe0, [0xee1d0f70, 0xe12fff1e]),
        // __kuser_helper_version: the number of 32-byte helper slots
        (0xffc, [5]),
    ];

    /// <summary>Maps the helper page; false when its fixed address is taken or the host has no memory.</summary>
    public static bool Map(GuestMemory memory)
    {
        var page = new byte[4096];
        foreach (var (offset, code) in Helpers)
        {
            for (var index = 0; index < code.Length; index++)
                BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(offset + index * 4), code[index]);
        }
        if (memory.Space.Map(Page, 4096, MemoryProtection.Read | MemoryProtection.Execute, "[vectors]") is null)
            return false;
        memory.Poke(Page, page);
        return true;
    }
}
