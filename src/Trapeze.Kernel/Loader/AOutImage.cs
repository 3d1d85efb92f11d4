using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// A SunOS 4 SPARC a.out executable (sun4's &lt;a.out.h&gt;): a 32-byte big-endian header of magic and
/// machine type, text, data and bss sizes, symbol table size and entry. Text is at 0x2000 for every
/// magic; a demand-paged (ZMAGIC) file's text includes the header and starts at offset 0, the others'
/// follows it. Data starts at the next 8 KiB segment boundary (NMAGIC, ZMAGIC) or right after the text
/// (OMAGIC, whose text is writable too).
/// </summary>
public static class AOutImage
{
    public const ushort Impure = 0x107, ReadOnlyText = 0x108, DemandPaged = 0x10b; // OMAGIC 0407, NMAGIC 0410, ZMAGIC 0413
    public const byte MachineSparc = 3;
    private const ulong TextAddress = 0x2000, SegmentSize = 0x2000;
    private const int HeaderSize = 32;

    /// <summary>The header's magic number, for a SunOS SPARC a.out file; null for anything else.</summary>
    public static ushort? MagicOf(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderSize || data[1] != MachineSparc)
            return null;
        var magic = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        return magic is Impure or ReadOnlyText or DemandPaged ? magic : null;
    }

    /// <summary>file(1)'s words for each kind.</summary>
    public static string Describe(ushort magic) => magic switch
    {
        DemandPaged => "sparc demand paged executable",
        ReadOnlyText => "sparc pure executable",
        _ => "sparc executable",
    };

    internal static LoadFailure? Parse(ExecutableFile file, ReadOnlySpan<byte> header, string path, out ElfImage? image)
    {
        image = null;
        var name = LoadFailure.Printable(path);
        if (MagicOf(header) is not { } magic)
            return new LoadFailure(Errno.ENOEXEC, $"{name}: not a SunOS SPARC a.out executable");
        if ((header[0] & 0x80) != 0)
            return new LoadFailure(Errno.ENOEXEC, $"{name}: a dynamically linked {Describe(magic)}: it needs SunOS's ld.so and shared libraries; Trapeze runs static SunOS programs");
        ulong text = BinaryPrimitives.ReadUInt32BigEndian(header[4..]), data = BinaryPrimitives.ReadUInt32BigEndian(header[8..]);
        ulong bss = BinaryPrimitives.ReadUInt32BigEndian(header[12..]), entry = BinaryPrimitives.ReadUInt32BigEndian(header[20..]);
        var textOffset = magic == DemandPaged ? 0UL : HeaderSize;
        if (textOffset + text + data > file.Length)
            return new LoadFailure(Errno.ENOEXEC, $"{name}: truncated a.out (text and data run past the end of the file)");
        var dataAddress = magic == Impure ? TextAddress + text : (TextAddress + text + SegmentSize - 1) & ~(SegmentSize - 1);
        if (entry < TextAddress || entry >= TextAddress + text || dataAddress + data + bss > 0xf000_0000)
            return new LoadFailure(Errno.ENOEXEC, $"{name}: malformed a.out (entry 0x{entry:x} outside the text, or segments past user space)");
        var textRights = MemoryProtection.Read | MemoryProtection.Execute | (magic == Impure ? MemoryProtection.Write : 0);
        var dataRights = MemoryProtection.Read | MemoryProtection.Write | (magic == Impure ? MemoryProtection.Execute : 0);
        image = new ElfImage
        {
            File = file,
            IsPositionIndependent = false,
            Entry = entry,
            ProgramHeaderOffset = 0,
            ProgramHeaderSize = 0,
            ProgramHeaderCount = 0,
            Architecture = CpuArchitecture.Sparc,
            AOutMagic = magic,
            Segments =
            [
                new ProgramSegment(textOffset, TextAddress, text, text, textRights),
                new ProgramSegment(textOffset + text, dataAddress, data, data + bss, dataRights),
            ],
        };
        return null;
    }
}
