using System.Buffers.Binary;
using System.Text;
using Trapeze.Cpu;

namespace Trapeze.Kernel.Loader;

/// <summary>How a Mach-O program starts: LC_UNIXTHREAD's registers (PC, SP and RAX/EAX), or LC_MAIN's entry called as dyld calls main.</summary>
public sealed record MachOStart(bool CallsMain, ulong Entry, ulong StackPointer, ulong Accumulator = 0);

/// <summary>
/// A Mach-O executable (MH_EXECUTE, x86-64 or i386) as segments the ELF loader maps: LC_SEGMENT(_64)
/// with their file ranges and initial protections, the entry from LC_UNIXTHREAD or LC_MAIN. There is
/// no dyld: a program that imports symbols from a library (not just naming libSystem) is refused.
/// </summary>
/// <summary>A malformed Mach-O file; it never leaves <see cref="MachOImage"/>, which answers ENOEXEC.</summary>
internal sealed class MachOFormatException(string message) : Exception(message);

public static class MachOImage
{
    private const uint Magic32 = 0xfeedface, Magic64 = 0xfeedfacf;
    private const uint CpuX86 = 7, CpuX86_64 = 0x0100_0007;
    private const uint TypeExecute = 2;
    private const uint Segment32 = 0x1, Symbols = 0x2, UnixThread = 0x5, DynamicSymbols = 0xb, Segment64 = 0x19, Main = 0x8000_0028;
    private const uint ThreadState32 = 1, ThreadState64 = 4;

    public static bool IsMachO(ReadOnlySpan<byte> data)
        => data.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(data) is Magic32 or Magic64;

    /// <summary>Mach-O files are read whole; a larger one is refused rather than allocated.</summary>
    public const int SizeMaximum = 256 << 20;

    /// <summary>Parses a Mach-O file read whole from <paramref name="file"/>; a malformed one is ENOEXEC with one line.</summary>
    internal static LoadFailure? Parse(ExecutableFile file, byte[] data, string path, out (ElfImage Image, MachOStart Start)? parsed)
    {
        parsed = null;
        try
        {
            parsed = Parse(file, data, path);
            return null;
        }
        catch (MachOFormatException error)
        {
            return new LoadFailure(Errno.ENOEXEC, LoadFailure.Printable(error.Message));
        }
    }

    private static (ElfImage Image, MachOStart Start) Parse(ExecutableFile file, byte[] data, string path)
    {
        var span = data.AsSpan();
        var wide = U32(span, 0) == Magic64;
        var headerSize = wide ? 32 : 28;
        if (data.Length < headerSize)
            throw new MachOFormatException($"{path}: truncated Mach-O header ({data.Length} bytes)");
        var cpu = U32(span, 4);
        var architecture = (wide, cpu) switch
        {
            (true, CpuX86_64) => CpuArchitecture.X86_64,
            (false, CpuX86) => CpuArchitecture.I386,
            _ => throw new MachOFormatException($"{path}: Mach-O for CPU type 0x{cpu:x}; Trapeze runs x86-64 and i386 Mach-O programs"),
        };
        if (U32(span, 12) != TypeExecute)
            throw new MachOFormatException($"{path}: Mach-O file type {U32(span, 12)} is not an executable (MH_EXECUTE)");
        var count = U32(span, 16);
        var commandsSize = U32(span, 20);
        if ((ulong)headerSize + commandsSize > (ulong)data.Length)
            throw new MachOFormatException($"{path}: truncated Mach-O load commands");

        var segments = new List<ProgramSegment>();
        ulong textAddress = 0, end = 0;
        MachOStart? start = null;
        (uint Offset, uint Count, uint Strings, uint StringsSize) symbols = default;
        (uint First, uint Count) undefined = default;
        var offset = headerSize;
        for (var index = 0; index < count; index++)
        {
            if (offset + 8 > headerSize + commandsSize)
                throw new MachOFormatException($"{path}: malformed Mach-O load command {index}");
            var kind = U32(span, offset);
            var size = (int)U32(span, offset + 4);
            if (size < 8 || offset + size > headerSize + commandsSize)
                throw new MachOFormatException($"{path}: malformed Mach-O load command {index}");
            var command = span.Slice(offset, size);
            switch (kind)
            {
                case Segment64 or Segment32 when size >= (kind == Segment64 ? 72 : 56):
                    {
                        var is64 = kind == Segment64;
                        var name = Encoding.ASCII.GetString(command.Slice(8, 16)).TrimEnd('\0');
                        ulong address = is64 ? U64(command, 24) : U32(command, 24);
                        ulong memorySize = is64 ? U64(command, 32) : U32(command, 28);
                        ulong fileOffset = is64 ? U64(command, 40) : U32(command, 32);
                        ulong fileSize = is64 ? U64(command, 48) : U32(command, 36);
                        var protection = (int)U32(command, is64 ? 60 : 44);
                        if (name == "__TEXT")
                            textAddress = address;
                        // __PAGEZERO (no access, no file bytes) stays unmapped: null pointers fault, as on macOS.
                        if (protection == 0 || memorySize == 0)
                            break;
                        if (fileOffset + fileSize > (ulong)data.Length || fileSize > memorySize)
                            throw new MachOFormatException($"{path}: truncated Mach-O (segment {name} runs past the end of the file)");
                        var flags = ((protection & 1) != 0 ? MemoryProtection.Read : 0)
                            | ((protection & 2) != 0 ? MemoryProtection.Write : 0)
                            | ((protection & 4) != 0 ? MemoryProtection.Execute : 0);
                        segments.Add(new ProgramSegment(fileOffset, address, fileSize, memorySize, flags));
                        end = Math.Max(end, address + memorySize);
                        break;
                    }
                case UnixThread when size >= 16:
                    start = ThreadStart(command, wide, path);
                    break;
                case Main when size >= 24:
                    start = new MachOStart(true, U64(command, 8), 0);
                    break;
                case Symbols when size >= 24:
                    symbols = (U32(command, 8), U32(command, 12), U32(command, 16), U32(command, 20));
                    break;
                case DynamicSymbols when size >= 80:
                    undefined = (U32(command, 24), U32(command, 28));
                    break;
            }
            offset += size;
        }
        if (segments.Count == 0)
            throw new MachOFormatException($"{path}: Mach-O has no loadable segments");
        if (FirstImport(span, wide, symbols, undefined) is { } import)
            throw new MachOFormatException($"{path}: needs dyld to bind {import} from its libraries; Trapeze runs Mach-O programs that make their system calls themselves");
        if (start is null)
            throw new MachOFormatException($"{path}: Mach-O has neither LC_MAIN nor LC_UNIXTHREAD");
        // LC_MAIN's entry is an offset into the file, which __TEXT maps from offset 0.
        if (start.CallsMain)
            start = start with { Entry = textAddress + start.Entry };
        var image = new ElfImage
        {
            File = file,
            MachOData = data,
            MachOStart = start,
            IsPositionIndependent = false,
            Entry = start.Entry,
            Architecture = architecture,
            ProgramHeaderOffset = 0,
            ProgramHeaderSize = 0,
            ProgramHeaderCount = 0,
            Segments = segments,
        };
        return (image, start);
    }

    /// <summary>
    /// The first undefined symbol whose code is in a library: only dyld could bring it. dyld_stub_binder,
    /// which every ld64 output imports, runs only through lazy stubs and does not count on its own.
    /// </summary>
    private static string? FirstImport(ReadOnlySpan<byte> data, bool wide, (uint Offset, uint Count, uint Strings, uint StringsSize) symbols, (uint First, uint Count) undefined)
    {
        var entrySize = wide ? 16 : 12;
        for (var index = undefined.First; index < undefined.First + undefined.Count && index < symbols.Count; index++)
        {
            var at = (long)symbols.Offset + (index * entrySize);
            if (at + entrySize > data.Length)
                return "a symbol";
            var nameAt = (long)symbols.Strings + U32(data, (int)at);
            if (nameAt >= data.Length)
                return "a symbol";
            var rest = data[(int)nameAt..];
            var end = rest.IndexOf((byte)0);
            var name = Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
            if (name != "dyld_stub_binder")
                return name;
        }
        return null;
    }

    private static MachOStart ThreadStart(ReadOnlySpan<byte> command, bool wide, string path)
    {
        var flavor = U32(command, 8);
        var state = command[16..];
        if (wide && flavor == ThreadState64 && state.Length >= 21 * 8)
            return new MachOStart(false, U64(state, 16 * 8), U64(state, 7 * 8), U64(state, 0)); // rip, rsp, rax
        if (!wide && flavor == ThreadState32 && state.Length >= 16 * 4)
            return new MachOStart(false, U32(state, 10 * 4), U32(state, 7 * 4), U32(state, 0)); // eip, esp, eax
        throw new MachOFormatException($"{path}: LC_UNIXTHREAD with thread state flavor {flavor} is not an x86 thread state");
    }

    private static uint U32(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
    private static ulong U64(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(span[offset..]);
}
