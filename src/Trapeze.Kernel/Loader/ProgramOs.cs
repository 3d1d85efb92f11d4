using System.Buffers.Binary;

namespace Trapeze.Kernel.Loader;

/// <summary>The operating system a program was built for: it picks the personality with the CPU.</summary>
public enum ProgramOs
{
    Linux,
    FreeBsd,
    Darwin,
    SunOs4,
}

/// <summary>Reads the system a program file is for: ELF's EI_OSABI or FreeBSD's ABI note, Mach-O's magic, a SunOS SPARC a.out's magic and machine type.</summary>
public static class ProgramOsDetector
{
    private const byte OsAbiFreeBsd = 9;
    private const uint ProgramNote = 4, NoteAbiTag = 1;

    /// <summary>The name `--personality` takes for each system.</summary>
    public static ProgramOs? FromName(string name) => name switch
    {
        "linux" => ProgramOs.Linux,
        "freebsd" => ProgramOs.FreeBsd,
        "darwin" => ProgramOs.Darwin,
        "sunos4" => ProgramOs.SunOs4,
        _ => null,
    };

    /// <summary>How much of an ELF file <see cref="Detect"/> wants: FreeBSD's ABI note lies in the first page or so.</summary>
    public const int HeadSize = 64 * 1024;

    public static ProgramOs Detect(byte[] data)
    {
        if (MachOImage.IsMachO(data))
            return ProgramOs.Darwin;
        if (AOutImage.MagicOf(data) is not null)
            return ProgramOs.SunOs4;
        if (data.Length < 52 || data[0] != 0x7f || data[1] != (byte)'E')
            return ProgramOs.Linux;
        if (data[7] == OsAbiFreeBsd || HasFreeBsdNote(data))
            return ProgramOs.FreeBsd;
        return ProgramOs.Linux;
    }

    /// <summary>A PT_NOTE with the "FreeBSD" NT_FREEBSD_ABI_TAG note, which FreeBSD's crt1 carries when EI_OSABI is SYSV.</summary>
    private static bool HasFreeBsdNote(byte[] data)
    {
        var span = data.AsSpan();
        var wide = data[4] == 2;
        if (wide && data.Length < 64)
            return false;
        var phoff = wide ? BinaryPrimitives.ReadUInt64LittleEndian(span[32..]) : BinaryPrimitives.ReadUInt32LittleEndian(span[28..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[(wide ? 54 : 42)..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(span[(wide ? 56 : 44)..]);
        for (var index = 0; index < phnum; index++)
        {
            var at = phoff + (ulong)(index * phentsize);
            if (at < phoff || !Fits(at, (ulong)(wide ? 56 : 32), data.Length))
                return false;
            var entry = span[(int)at..];
            if (BinaryPrimitives.ReadUInt32LittleEndian(entry) != ProgramNote)
                continue;
            var offset = wide ? BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]);
            var size = wide ? BinaryPrimitives.ReadUInt64LittleEndian(entry[32..]) : BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
            if (!Fits(offset, size, data.Length))
                continue;
            var notes = span.Slice((int)offset, (int)size);
            while (notes.Length >= 12)
            {
                var nameSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes);
                var descriptionSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes[4..]);
                var type = BinaryPrimitives.ReadUInt32LittleEndian(notes[8..]);
                if (nameSize < 0 || descriptionSize < 0 || 12 + nameSize > notes.Length)
                    break;
                if (type == NoteAbiTag && notes.Slice(12, nameSize).SequenceEqual("FreeBSD\0"u8))
                    return true;
                var next = 12 + ((nameSize + 3) & ~3) + ((descriptionSize + 3) & ~3);
                if (next > notes.Length)
                    break;
                notes = notes[next..];
            }
        }
        return false;
    }

    /// <summary>Whether <paramref name="size"/> bytes at <paramref name="offset"/> lie within <paramref name="length"/>, with no sum that could wrap.</summary>
    private static bool Fits(ulong offset, ulong size, int length) => offset <= (ulong)length && size <= (ulong)length - offset;
}
