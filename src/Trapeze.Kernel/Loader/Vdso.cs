using System.Buffers.Binary;
using System.Text;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// The virtual dynamic shared object Trapeze maps into every process and names in AT_SYSINFO_EHDR.
/// Linux's vDSO reads clocks from a shared data page without entering the kernel; Trapeze's
/// functions instead make the matching system call, so every clock read reaches Trapeze's clock
/// (and one day its deterministic clock) through the one dispatch point.
/// The image is a small ET_DYN ELF linked at address 0, laid out the way glibc's and musl's
/// vDSO lookup reads it: PT_LOAD + PT_DYNAMIC, a SysV hash table, dynsym/dynstr and the
/// LINUX_2.6 symbol version; section headers make it readable by readelf and gdb as well.
/// </summary>
public static class Vdso
{
    public const string SharedObjectName = "linux-vdso.so.1";
    public const string VersionName = "LINUX_2.6";
    public const string MappingName = "[vdso]";

    /// <summary>Exported function (system call it makes): the set x86-64 Linux exports.</summary>
    private static readonly (string Function, string Syscall)[] Functions =
    [
        ("clock_gettime", "clock_gettime"),
        ("gettimeofday", "gettimeofday"),
        ("time", "time"),
        ("getcpu", "getcpu"),
        ("clock_getres", "clock_getres"),
    ];

    private const int HeaderSize = 64, ProgramHeaderSize = 56, SectionHeaderSize = 64, SymbolSize = 24;
    private const int FunctionStride = 16;

    /// <summary>Builds the image and maps it read+execute at a free address; returns that address (null: no room).</summary>
    public static ulong? Map(GuestMemory memory)
    {
        var image = Build();
        var space = memory.Space;
        if (space.FindFree((ulong)image.Length) is not { } address
            || space.Map(address, (ulong)image.Length, MemoryProtection.Read | MemoryProtection.Execute, MappingName) is null)
            return null;
        memory.Poke(address, image);
        return address;
    }

    /// <summary>The ELF image, page sized, linked at 0.</summary>
    public static byte[] Build()
    {
        // Symbols: the null symbol, then for each function the __vdso_ name (global) and the
        // plain name (weak), both versioned LINUX_2.6 as the kernel exports them. Plain loops and
        // arrays: this runs in every start-up, where each generic instantiation costs JIT time.
        var symbolCount = 1 + 2 * Functions.Length;
        var names = new string[symbolCount];
        names[0] = "";
        for (var index = 0; index < Functions.Length; index++)
        {
            names[1 + 2 * index] = "__vdso_" + Functions[index].Function;
            names[2 + 2 * index] = Functions[index].Function;
        }
        var strings = new StringTable();
        var sharedObjectNameOffset = strings.Add(SharedObjectName);
        var versionNameOffset = strings.Add(VersionName);
        var nameOffsets = new int[symbolCount];
        for (var index = 1; index < symbolCount; index++)
            nameOffsets[index] = strings.Add(names[index]);

        // Layout: headers, then each piece 8- or 16-aligned, in the order a linker would place them.
        const int programHeaderCount = 2;
        var cursor = HeaderSize + programHeaderCount * ProgramHeaderSize;
        var hashOffset = Align(ref cursor, 8, (2 + 2 * symbolCount) * 4); // nbucket, nchain, buckets, chains
        var symbolOffset = Align(ref cursor, 8, symbolCount * SymbolSize);
        var stringOffset = Align(ref cursor, 1, strings.Length);
        var versymOffset = Align(ref cursor, 2, symbolCount * 2);
        var verdefOffset = Align(ref cursor, 8, 2 * (20 + 8));
        var textOffset = Align(ref cursor, 16, Functions.Length * FunctionStride);
        const int dynamicCount = 10;
        var dynamicOffset = Align(ref cursor, 8, dynamicCount * 16);
        var sectionNames = new StringTable();
        string[] sectionList = ["", ".hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".text", ".dynamic", ".shstrtab"];
        var sectionNameOffsets = new int[sectionList.Length];
        for (var index = 0; index < sectionList.Length; index++)
            sectionNameOffsets[index] = sectionNames.Add(sectionList[index]);
        var sectionNamesOffset = Align(ref cursor, 1, sectionNames.Length);
        var sectionHeadersOffset = Align(ref cursor, 8, sectionList.Length * SectionHeaderSize);
        var loadedSize = dynamicOffset + dynamicCount * 16;
        var image = new byte[AddressSpace.PageUp((ulong)cursor)];
        var span = image.AsSpan();
        const int textSection = 6;

        // ELF header: ELFCLASS64, little endian, ET_DYN, EM_X86_64.
        "\x7f"u8.CopyTo(span);
        "ELF"u8.CopyTo(span[1..]);
        span[4] = 2;
        span[5] = 1;
        span[6] = 1;
        U16(span, 16, 3);
        U16(span, 18, 62);
        U32(span, 20, 1);
        U64(span, 24, (ulong)textOffset);
        U64(span, 32, HeaderSize);
        U64(span, 40, (ulong)sectionHeadersOffset);
        U16(span, 52, HeaderSize);
        U16(span, 54, ProgramHeaderSize);
        U16(span, 56, programHeaderCount);
        U16(span, 58, SectionHeaderSize);
        U16(span, 60, (ushort)sectionList.Length);
        U16(span, 62, (ushort)(sectionList.Length - 1));

        // PT_LOAD r-x covering everything the loader reads; PT_DYNAMIC read-only, as Linux's is.
        ProgramHeader(span[HeaderSize..], type: 1, flags: 5, 0, (ulong)loadedSize, alignment: AddressSpace.PageSize);
        ProgramHeader(span[(HeaderSize + ProgramHeaderSize)..], type: 2, flags: 4, (ulong)dynamicOffset, dynamicCount * 16, alignment: 8);

        // SysV hash: one bucket per symbol, chained by the ELF hash of the name.
        var buckets = symbolCount;
        U32(span, hashOffset, (uint)buckets);
        U32(span, hashOffset + 4, (uint)symbolCount);
        var bucketBase = hashOffset + 8;
        var chainBase = bucketBase + buckets * 4;
        for (var index = 1; index < symbolCount; index++)
        {
            var slot = bucketBase + (int)(ElfHash(names[index]) % (uint)buckets) * 4;
            var previous = BinaryPrimitives.ReadUInt32LittleEndian(span[slot..]);
            U32(span, chainBase + index * 4, previous);
            U32(span, slot, (uint)index);
        }

        for (var index = 1; index < symbolCount; index++)
        {
            var entry = span[(symbolOffset + index * SymbolSize)..];
            var binding = index % 2 == 1 ? 1 : 2; // STB_GLOBAL for __vdso_*, STB_WEAK for the plain name
            U32(entry, 0, (uint)nameOffsets[index]);
            entry[4] = (byte)((binding << 4) | 2); // STT_FUNC
            U16(entry, 6, textSection);
            U64(entry, 8, (ulong)(textOffset + (index - 1) / 2 * FunctionStride));
            U64(entry, 16, 8);
        }
        strings.CopyTo(span[stringOffset..]);

        // Version index 1 is the object itself (VER_FLG_BASE), 2 is LINUX_2.6, which every symbol has.
        for (var index = 1; index < symbolCount; index++)
            U16(span, versymOffset + index * 2, 2);
        VersionDefinition(span[verdefOffset..], flags: 1, index: 1, SharedObjectName, sharedObjectNameOffset, next: 28);
        VersionDefinition(span[(verdefOffset + 28)..], flags: 0, index: 2, VersionName, versionNameOffset, next: 0);

        // Each function: mov eax, NR; syscall; ret — padded with int3. The syscall leaves its
        // result in rax and clobbers only rcx and r11, which the C calling convention allows.
        for (var index = 0; index < Functions.Length; index++)
        {
            var code = span.Slice(textOffset + index * FunctionStride, FunctionStride);
            code.Fill(0xcc);
            code[0] = 0xb8;
            U32(code, 1, (uint)SyscallNumber(Functions[index].Syscall));
            code[5] = 0x0f;
            code[6] = 0x05;
            code[7] = 0xc3;
        }

        // Tag, value pairs.
        ulong[] dynamic =
        [
            4, (ulong)hashOffset, // DT_HASH
            5, (ulong)stringOffset, // DT_STRTAB
            6, (ulong)symbolOffset, // DT_SYMTAB
            10, (ulong)strings.Length, // DT_STRSZ
            11, SymbolSize, // DT_SYMENT
            14, (ulong)sharedObjectNameOffset, // DT_SONAME
            0x6ffffff0, (ulong)versymOffset, // DT_VERSYM
            0x6ffffffc, (ulong)verdefOffset, // DT_VERDEF
            0x6ffffffd, 2, // DT_VERDEFNUM
            0, 0, // DT_NULL
        ];
        for (var index = 0; index < dynamic.Length; index++)
            U64(span, dynamicOffset + index * 8, dynamic[index]);

        sectionNames.CopyTo(span[sectionNamesOffset..]);
        var headers = span[sectionHeadersOffset..];
        // name, type, flags (A=2, X=4, W=1), offset, size, link, info, alignment, entry size
        SectionHeader(headers, 1, sectionNameOffsets[1], 5, 2, hashOffset, (2 + 2 * symbolCount) * 4, 2, 0, 8, 4);
        SectionHeader(headers, 2, sectionNameOffsets[2], 11, 2, symbolOffset, symbolCount * SymbolSize, 3, 1, 8, SymbolSize);
        SectionHeader(headers, 3, sectionNameOffsets[3], 3, 2, stringOffset, strings.Length, 0, 0, 1, 0);
        SectionHeader(headers, 4, sectionNameOffsets[4], 0x6fffffff, 2, versymOffset, symbolCount * 2, 2, 0, 2, 2);
        SectionHeader(headers, 5, sectionNameOffsets[5], 0x6ffffffd, 2, verdefOffset, 2 * 28, 3, 2, 8, 0);
        SectionHeader(headers, 6, sectionNameOffsets[6], 1, 6, textOffset, Functions.Length * FunctionStride, 0, 0, 16, 0);
        SectionHeader(headers, 7, sectionNameOffsets[7], 6, 2, dynamicOffset, dynamicCount * 16, 3, 0, 8, 16);
        SectionHeader(headers, 8, sectionNameOffsets[8], 3, 0, sectionNamesOffset, sectionNames.Length, 0, 0, 1, 0, loaded: false);
        return image;
    }

    /// <summary>The System V ABI's ELF hash, which DT_HASH buckets and vd_hash use.</summary>
    public static uint ElfHash(string name)
    {
        uint hash = 0;
        foreach (var character in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash << 4) + character;
            var high = hash & 0xf0000000;
            if (high != 0)
                hash ^= high >> 24;
            hash &= ~high;
        }
        return hash;
    }

    private static int SyscallNumber(string name)
    {
        var table = LinuxX64SyscallNumbers.All;
        for (var index = 0; index < table.Length; index++)
        {
            if (table[index].Name == name)
                return table[index].Number;
        }
        throw new InvalidOperationException($"no syscall {name}");
    }

    private static int Align(ref int cursor, int alignment, int size)
    {
        var start = (cursor + alignment - 1) / alignment * alignment;
        cursor = start + size;
        return start;
    }

    private static void ProgramHeader(Span<byte> entry, uint type, uint flags, ulong offset, ulong size, ulong alignment)
    {
        U32(entry, 0, type);
        U32(entry, 4, flags);
        U64(entry, 8, offset);
        U64(entry, 16, offset); // p_vaddr: linked at 0, so address = file offset
        U64(entry, 24, offset);
        U64(entry, 32, size);
        U64(entry, 40, size);
        U64(entry, 48, alignment);
    }

    private static void VersionDefinition(Span<byte> entry, ushort flags, ushort index, string name, int nameOffset, uint next)
    {
        U16(entry, 0, 1); // VER_DEF_CURRENT
        U16(entry, 2, flags);
        U16(entry, 4, index);
        U16(entry, 6, 1); // one auxiliary entry: the name
        U32(entry, 8, ElfHash(name));
        U32(entry, 12, 20); // the auxiliary entry follows this one
        U32(entry, 16, next);
        U32(entry, 20, (uint)nameOffset);
        U32(entry, 24, 0);
    }

    private static void SectionHeader(Span<byte> table, int index, int name, uint type, ulong flags, int offset, int size,
        uint link, uint info, ulong alignment, ulong entrySize, bool loaded = true)
    {
        var entry = table[(index * SectionHeaderSize)..];
        U32(entry, 0, (uint)name);
        U32(entry, 4, type);
        U64(entry, 8, flags);
        U64(entry, 16, loaded ? (ulong)offset : 0);
        U64(entry, 24, (ulong)offset);
        U64(entry, 32, (ulong)size);
        U32(entry, 40, link);
        U32(entry, 44, info);
        U64(entry, 48, alignment);
        U64(entry, 56, entrySize);
    }

    private static void U16(Span<byte> span, int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(span[offset..], value);
    private static void U32(Span<byte> span, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(span[offset..], value);
    private static void U64(Span<byte> span, int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(span[offset..], value);

    /// <summary>An ELF string table: NUL-separated names, offset 0 being the empty name.</summary>
    private sealed class StringTable
    {
        private readonly byte[] bytes = new byte[1024];

        public int Length { get; private set; } = 1;

        /// <summary>Appends a name (the empty name is offset 0) and returns its offset.</summary>
        public int Add(string text)
        {
            if (text.Length == 0)
                return 0;
            var offset = Length;
            Length += Encoding.UTF8.GetBytes(text, bytes.AsSpan(offset)) + 1;
            return offset;
        }

        public void CopyTo(Span<byte> destination) => bytes.AsSpan(0, Length).CopyTo(destination);
    }
}
