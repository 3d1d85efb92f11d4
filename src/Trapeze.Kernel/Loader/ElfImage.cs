using System.Buffers.Binary;
using System.Text;
using Trapeze.Cpu;

namespace Trapeze.Kernel.Loader;

/// <summary>Why a file cannot be started; the CLI prints the message and exits 126.</summary>
public sealed class ExecutableFormatException(string message) : Exception(message);

public readonly record struct ProgramSegment(ulong FileOffset, ulong VirtualAddress, ulong FileSize, ulong MemorySize, MemoryProtection Protection);

/// <summary>The parts of an ELF64 or ELF32 file the loader needs: type, entry, program headers, interpreter.</summary>
public sealed class ElfImage
{
    private const uint ProgramLoad = 1, ProgramInterpreter = 3, ProgramHeader = 6;
    private const ushort TypeExecutable = 2, TypeShared = 3;
    private const ushort MachineX86_64 = 62;

    public required byte[] Data { get; init; }
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

    private const ushort MachineI386 = 3, MachineArm = 40;

    public static ElfImage Parse(byte[] data, string path)
    {
        if (data.Length < 4 || data[0] != 0x7f || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F')
            throw new ExecutableFormatException($"{path}: not an executable (no ELF header)");
        if (data.Length < 52)
            throw new ExecutableFormatException($"{path}: truncated ELF header ({data.Length} bytes)");
        if (data[4] is not (1 or 2))
            throw new ExecutableFormatException($"{path}: ELF class {data[4]} is neither 32- nor 64-bit");
        var wide = data[4] == 2;
        if (wide && data.Length < 64)
            throw new ExecutableFormatException($"{path}: truncated ELF header ({data.Length} bytes)");
        if (data[5] != 1)
            throw new ExecutableFormatException($"{path}: big-endian ELF is not supported");
        var header = data.AsSpan();
        var type = U16(header, 16);
        var machine = U16(header, 18);
        var architecture = (wide, machine) switch
        {
            (true, MachineX86_64) => CpuArchitecture.X86_64,
            (false, MachineI386) => CpuArchitecture.I386,
            (false, MachineArm) => CpuArchitecture.Arm,
            _ => throw new ExecutableFormatException($"{path}: {(wide ? 64 : 32)}-bit ELF for machine {machine} ({MachineName(machine)}); Trapeze runs x86-64, i386 and ARM programs"),
        };
        if (type is not (TypeExecutable or TypeShared))
            throw new ExecutableFormatException($"{path}: ELF type {type} is not an executable");
        // ELF64 and ELF32 differ in where the header fields sit and how wide they are.
        var phoff = wide ? U64(header, 32) : U32(header, 28);
        var phentsize = U16(header, wide ? 54 : 42);
        var phnum = U16(header, wide ? 56 : 44);
        var entrySize = wide ? 56 : 32;
        if (phentsize < entrySize || phnum == 0 || phoff + (ulong)phentsize * phnum > (ulong)data.Length)
            throw new ExecutableFormatException($"{path}: truncated or malformed ELF program headers");

        var segments = new List<ProgramSegment>();
        string? interpreter = null;
        ulong? phdrAddress = null;
        for (var index = 0; index < phnum; index++)
        {
            var entry = header.Slice((int)(phoff + (ulong)(index * phentsize)), entrySize);
            var kind = U32(entry, 0);
            var flags = wide ? U32(entry, 4) : U32(entry, 24);
            var offset = wide ? U64(entry, 8) : U32(entry, 4);
            var vaddr = wide ? U64(entry, 16) : U32(entry, 8);
            var filesz = wide ? U64(entry, 32) : U32(entry, 16);
            var memsz = wide ? U64(entry, 40) : U32(entry, 20);
            if (kind == ProgramLoad)
            {
                if (offset + filesz > (ulong)data.Length || filesz > memsz)
                    throw new ExecutableFormatException($"{path}: truncated ELF (segment {index} runs past the end of the file)");
                var protection = ((flags & 4) != 0 ? MemoryProtection.Read : 0)
                    | ((flags & 2) != 0 ? MemoryProtection.Write : 0)
                    | ((flags & 1) != 0 ? MemoryProtection.Execute : 0);
                segments.Add(new ProgramSegment(offset, vaddr, filesz, memsz, protection));
            }
            else if (kind == ProgramInterpreter)
            {
                if (offset + filesz > (ulong)data.Length || filesz == 0)
                    throw new ExecutableFormatException($"{path}: malformed PT_INTERP");
                interpreter = Memory.GuestText.Decode(data.AsSpan((int)offset, (int)filesz)).TrimEnd('\0');
            }
            else if (kind == ProgramHeader)
            {
                phdrAddress = vaddr;
            }
        }
        if (segments.Count == 0)
            throw new ExecutableFormatException($"{path}: ELF has no loadable segments");
        return new ElfImage
        {
            Data = data,
            IsPositionIndependent = type == TypeShared,
            Entry = wide ? U64(header, 24) : U32(header, 24),
            Architecture = architecture,
            ProgramHeaderOffset = phoff,
            ProgramHeaderSize = phentsize,
            ProgramHeaderCount = phnum,
            Segments = segments,
            ProgramHeaderAddress = phdrAddress,
            Interpreter = interpreter,
        };
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
