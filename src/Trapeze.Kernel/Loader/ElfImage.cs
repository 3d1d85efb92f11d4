using System.Buffers.Binary;
using System.Text;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Loader;

public readonly record struct ProgramSegment(ulong FileOffset, ulong VirtualAddress, ulong FileSize, ulong MemorySize, MemoryProtection Protection)
{
    public ulong End => VirtualAddress + MemorySize;
}

/// <summary>
/// The parts of an ELF64 file the loader needs: type, entry, program headers, interpreter.
/// Parsing checks every field against the file and the address space with overflow-safe
/// arithmetic (fs/binfmt_elf.c's checks), so loading never meets a bad offset or size.
/// </summary>
internal sealed class ElfImage
{
    private const uint ProgramLoad = 1, ProgramInterpreter = 3, ProgramHeader = 6;
    private const ushort TypeExecutable = 2, TypeShared = 3;
    private const ushort MachineX86_64 = 62;
    private const int HeaderSize = 64, ProgramHeaderEntrySize = 56;

    /// <summary>Linux reads at most 64 KiB of program headers (ELF_MIN_ALIGN); more is ENOEXEC.</summary>
    private const int ProgramHeadersMaximum = 65536;

    public required ExecutableFile File { get; init; }
    public required bool IsPositionIndependent { get; init; }
    public required ulong Entry { get; init; }
    public required ulong ProgramHeaderOffset { get; init; }
    public required ushort ProgramHeaderSize { get; init; }
    public required ushort ProgramHeaderCount { get; init; }
    public required List<ProgramSegment> Segments { get; init; }
    public ulong? ProgramHeaderAddress { get; init; }
    public string? Interpreter { get; init; }

    /// <summary>Lowest page and end of the loadable segments (before any bias).</summary>
    public ulong Start => AddressSpace.PageDown(Segments.Min(s => s.VirtualAddress));
    public ulong End => Segments.Max(s => s.End);

    /// <summary>True when the first bytes are an ELF magic number (the loader's format test).</summary>
    public static bool HasMagic(ReadOnlySpan<byte> prefix)
        => prefix.Length >= 4 && prefix[0] == 0x7f && prefix[1] == (byte)'E' && prefix[2] == (byte)'L' && prefix[3] == (byte)'F';

    public static LoadFailure? Parse(ExecutableFile file, string path, out ElfImage? image)
    {
        image = null;
        var name = LoadFailure.Printable(path);
        LoadFailure Bad(string why) => new(Errno.ENOEXEC, $"{name}: {why}");
        Span<byte> header = stackalloc byte[HeaderSize];
        var length = file.ReadAt(0, header);
        if (length < 0)
            return LoadFailure.From(HostSyscallError(length), path);
        if (!HasMagic(header[..(int)length]))
            return Bad("not an executable (no ELF header)");
        if (length < HeaderSize)
            return Bad($"truncated ELF header ({length} bytes)");
        if (header[4] != 2)
            return Bad("32-bit ELF; this personality runs x86-64 (ELFCLASS64) programs");
        if (header[5] != 1)
            return Bad("big-endian ELF is not supported");
        var type = U16(header, 16);
        var machine = U16(header, 18);
        if (machine != MachineX86_64)
            return Bad($"ELF for machine {machine} ({MachineName(machine)}), not x86-64");
        if (type is not (TypeExecutable or TypeShared))
            return Bad($"ELF type {type} is not an executable");
        var phoff = U64(header, 32);
        var phentsize = U16(header, 54);
        var phnum = U16(header, 56);
        if (phentsize != ProgramHeaderEntrySize || phnum == 0 || phnum * ProgramHeaderEntrySize > ProgramHeadersMaximum)
            return Bad("truncated or malformed ELF program headers");
        var table = new byte[phnum * ProgramHeaderEntrySize];
        if (!file.ReadExactly(phoff, table))
            return Bad("truncated or malformed ELF program headers");

        var segments = new List<ProgramSegment>();
        string? interpreter = null;
        ulong? phdrAddress = null;
        for (var index = 0; index < phnum; index++)
        {
            var entry = table.AsSpan(index * ProgramHeaderEntrySize, ProgramHeaderEntrySize);
            var kind = U32(entry, 0);
            var flags = U32(entry, 4);
            var offset = U64(entry, 8);
            var vaddr = U64(entry, 16);
            var filesz = U64(entry, 32);
            var memsz = U64(entry, 40);
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
                var end = Array.IndexOf(bytes, (byte)0);
                interpreter = Encoding.UTF8.GetString(bytes, 0, end);
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
            Entry = U64(header, 24),
            ProgramHeaderOffset = phoff,
            ProgramHeaderSize = phentsize,
            ProgramHeaderCount = phnum,
            Segments = segments,
            ProgramHeaderAddress = phdrAddress,
            Interpreter = interpreter,
        };
        return null;
    }

    internal static Errno HostSyscallError(long result) => result < 0 ? (Errno)(-result) : Errno.EIO;

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
