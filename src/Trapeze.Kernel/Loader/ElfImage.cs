using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Loader;

public readonly record struct ProgramSegment(ulong FileOffset, ulong VirtualAddress, ulong FileSize, ulong MemorySize, MemoryProtection Protection)
{
    public ulong End => VirtualAddress + MemorySize;
}

/// <summary>
/// The parts of an ELF64 or ELF32 file the loader needs: type, entry, program headers,
/// interpreter. Parsing reads the file by offset and checks every field against the file and the
/// address space with overflow-safe arithmetic (fs/binfmt_elf.c's checks), so loading never meets
/// a bad offset or size.
/// </summary>
public sealed class ElfImage
{
    private const uint ProgramLoad = 1, ProgramInterpreter = 3, ProgramHeader = 6;
    private const ushort TypeExecutable = 2, TypeShared = 3;
    private const ushort MachineX86_64 = 62, MachineI386 = 3, MachineArm = 40;
    private const int HeaderSize = 64;

    /// <summary>Linux reads at most 64 KiB of program headers (ELF_MIN_ALIGN); more is ENOEXEC.</summary>
    private const int ProgramHeadersMaximum = 65536;

    public required ExecutableFile File { get; init; }

    /// <summary>A Mach-O program's whole file (MachOImage reads its load commands from it); null for ELF.</summary>
    public byte[]? MachOData { get; init; }

    /// <summary>A SunOS a.out program's magic (ZMAGIC, NMAGIC or OMAGIC); null for ELF and Mach-O.</summary>
    public ushort? AOutMagic { get; init; }

    /// <summary>How a Mach-O program starts (LC_MAIN or LC_UNIXTHREAD); null for ELF.</summary>
    public MachOStart? MachOStart { get; init; }
    public required bool IsPositionIndependent { get; init; }
    public required ulong Entry { get; init; }
    public required ulong ProgramHeaderOffset { get; init; }
    public required ushort ProgramHeaderSize { get; init; }
    public required ushort ProgramHeaderCount { get; init; }
    public required List<ProgramSegment> Segments { get; init; }
    public ulong? ProgramHeaderAddress { get; init; }
    public string? Interpreter { get; init; }

    /// <summary>The CPU the program is for (e_machine with the ELF class): it picks the personality.</summary>
    public CpuArchitecture Architecture { get; init; } = CpuArchitecture.X86_64;

    /// <summary>Lowest page and end of the loadable segments (before any bias).</summary>
    public ulong Start => AddressSpace.PageDown(Segments.Min(s => s.VirtualAddress));
    public ulong End => Segments.Max(s => s.End);

    internal static LoadFailure? Parse(ExecutableFile file, string path, out ElfImage? image)
    {
        image = null;
        var name = LoadFailure.Printable(path);
        LoadFailure Bad(string why) => new(Errno.ENOEXEC, $"{name}: {why}");
        Span<byte> header = stackalloc byte[HeaderSize];
        var length = file.ReadAt(0, header);
        if (length < 0)
            return LoadFailure.From((Errno)(-length), path);
        if (length < 4 || header[0] != 0x7f || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
            return Bad("not an executable (no ELF header)");
        if (header[4] is not (1 or 2))
            return Bad($"ELF class {header[4]} is neither 32- nor 64-bit");
        var wide = header[4] == 2;
        if (length < (wide ? 64 : 52))
            return Bad($"truncated ELF header ({length} bytes)");
        if (header[5] != 1)
            return Bad("big-endian ELF is not supported");
        var type = U16(header, 16);
        var machine = U16(header, 18);
        var architecture = (wide, machine) switch
        {
            (true, MachineX86_64) => CpuArchitecture.X86_64,
            (false, MachineI386) => CpuArchitecture.I386,
            (false, MachineArm) => CpuArchitecture.Arm,
            _ => (CpuArchitecture?)null,
        };
        if (architecture is null)
            return Bad($"{(wide ? 64 : 32)}-bit ELF for machine {machine} ({MachineName(machine)}); Trapeze runs x86-64, i386 and ARM programs");
        if (type is not (TypeExecutable or TypeShared))
            return Bad($"ELF type {type} is not an executable");
        // ELF64 and ELF32 differ in where the header fields sit and how wide they are.
        var phoff = wide ? U64(header, 32) : U32(header, 28);
        var phentsize = U16(header, wide ? 54 : 42);
        var phnum = U16(header, wide ? 56 : 44);
        var entrySize = wide ? 56 : 32;
        if (phentsize != entrySize || phnum == 0 || phnum * entrySize > ProgramHeadersMaximum)
            return Bad("truncated or malformed ELF program headers");
        var table = new byte[phnum * entrySize];
        if (!file.ReadExactly(phoff, table))
            return Bad("truncated or malformed ELF program headers");

        var segments = new List<ProgramSegment>();
        string? interpreter = null;
        ulong? phdrAddress = null;
        for (var index = 0; index < phnum; index++)
        {
            var entry = table.AsSpan(index * entrySize, entrySize);
            var kind = U32(entry, 0);
            var flags = wide ? U32(entry, 4) : U32(entry, 24);
            var offset = wide ? U64(entry, 8) : U32(entry, 4);
            var vaddr = wide ? U64(entry, 16) : U32(entry, 8);
            var filesz = wide ? U64(entry, 32) : U32(entry, 16);
            var memsz = wide ? U64(entry, 40) : U32(entry, 20);
            if (kind == ProgramLoad)
            {
                if (offset > file.Length || filesz > file.Length - offset)
                    return Bad($"truncated ELF (segment {index} runs past the end of the file)");
                if (filesz > memsz)
                    return new LoadFailure(Errno.EINVAL, $"{name}: segment {index} has more file bytes than memory bytes");
                if (memsz > AddressSpace.UserTop || vaddr > AddressSpace.UserTop - memsz)
                    return new LoadFailure(Errno.EINVAL, $"{name}: segment {index} lies outside the user address space");
                var protection = ((flags & 4) != 0 ? MemoryProtection.Read : 0)
                    | ((flags & 2) != 0 ? MemoryProtection.Write : 0)
                    | ((flags & 1) != 0 ? MemoryProtection.Execute : 0);
                segments.Add(new ProgramSegment(offset, vaddr, filesz, memsz, protection));
            }
            else if (kind == ProgramInterpreter && interpreter is null)
            {
                // binfmt_elf: 2 <= p_filesz <= PATH_MAX and a NUL at the end, else ENOEXEC.
                if (filesz < 2 || filesz > GuestMemory.PathMax || offset > file.Length || filesz > file.Length - offset)
                    return Bad("malformed PT_INTERP");
                var bytes = new byte[filesz];
                if (!file.ReadExactly(offset, bytes) || bytes[^1] != 0)
                    return Bad("malformed PT_INTERP");
                interpreter = Memory.GuestText.Decode(bytes.AsSpan(0, Array.IndexOf(bytes, (byte)0)));
                if (interpreter.Length == 0)
                    return Bad("malformed PT_INTERP");
            }
            else if (kind == ProgramHeader)
            {
                phdrAddress = vaddr;
            }
        }
        if (segments.Count == 0)
            return Bad("ELF has no loadable segments");
        image = new ElfImage
        {
            File = file,
            IsPositionIndependent = type == TypeShared,
            Entry = wide ? U64(header, 24) : U32(header, 24),
            Architecture = architecture.Value,
            ProgramHeaderOffset = phoff,
            ProgramHeaderSize = phentsize,
            ProgramHeaderCount = phnum,
            Segments = segments,
            ProgramHeaderAddress = phdrAddress,
            Interpreter = interpreter,
        };
        return null;
    }

    private static string MachineName(ushort machine) => machine switch
    {
        3 => "i386",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        2 or 18 or 43 => "SPARC",
        40 => "ARM",
        183 => "AArch64",
        243 => "RISC-V",
        _ => "unknown",
    };

    private static ushort U16(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(span[offset..]);
    private static uint U32(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
    private static ulong U64(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(span[offset..]);
}
