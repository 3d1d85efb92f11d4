using System.Buffers.Binary;

namespace Trapeze.Kernel.Abi;

/// <summary>The C types guest structures are declared with; their sizes and alignments come from the <see cref="DataModel"/>.</summary>
public enum CType
{
    /// <summary>int, unsigned int: 4 bytes everywhere Linux runs.</summary>
    Int,

    /// <summary>long, unsigned long: the word.</summary>
    Long,

    /// <summary>long long: 8 bytes, aligned as the ABI says (4 on i386, 8 on ARM EABI and x86-64).</summary>
    LongLong,

    /// <summary>A pointer: the word.</summary>
    Pointer,

    /// <summary>Four bytes of explicit padding (the __pad fields of the kernel's headers).</summary>
    Pad4,

    /// <summary>short, unsigned short: 2 bytes (SunOS 4's dev_t, mode_t, uid_t and nlink).</summary>
    Short,
}

/// <summary>How a CPU's C compiler lays data out: word size, byte order, the alignment of 64-bit integers.</summary>
public sealed record DataModel(string Name, int WordSize, int LongLongAlignment, bool BigEndian = false)
{
    /// <summary>x86-64: LP64.</summary>
    public static readonly DataModel Lp64 = new("LP64", 8, 8);

    /// <summary>i386 System V: ILP32 with long long aligned to 4 bytes.</summary>
    public static readonly DataModel I386 = new("ILP32 (i386)", 4, 4);

    /// <summary>ARM EABI: ILP32 with long long aligned to 8 bytes.</summary>
    public static readonly DataModel ArmEabi = new("ILP32 (ARM EABI)", 4, 8);

    /// <summary>SPARC (the SunOS 4 C compiler's): ILP32, big-endian, long long aligned to 8 bytes.</summary>
    public static readonly DataModel Sparc = new("ILP32 (SPARC, big-endian)", 4, 8, BigEndian: true);

    public int SizeOf(CType type) => type switch
    {
        CType.Short => 2,
        CType.Int or CType.Pad4 => 4,
        CType.LongLong => 8,
        _ => WordSize,
    };

    public int AlignmentOf(CType type) => type switch
    {
        CType.Short => 2,
        CType.Int or CType.Pad4 => 4,
        CType.LongLong => LongLongAlignment,
        _ => WordSize,
    };

    /// <summary>Extends a register-sized value as a C <c>long</c> of this model (sign-extends 32-bit words).</summary>
    public long SignedWord(ulong value) => WordSize == 4 ? (int)value : (long)value;
}

/// <summary>
/// A C structure declared once as its fields (as in the kernel's header); offsets and size follow from
/// the data model's sizes and alignments, so one declaration serves every personality. Values travel
/// as 64-bit integers in field order (padding fields take none).
/// </summary>
public sealed class GuestLayout
{
    private readonly CType[] types;
    private readonly int[] offsets;

    public GuestLayout(DataModel model, params (CType Type, string Name)[] fields)
    {
        Model = model;
        var kept = new List<CType>();
        var places = new List<int>();
        var names = new List<string>();
        int offset = 0, alignment = 1;
        foreach (var (type, name) in fields)
        {
            var align = model.AlignmentOf(type);
            offset = (offset + align - 1) / align * align;
            if (type != CType.Pad4)
            {
                kept.Add(type);
                places.Add(offset);
                names.Add(name);
            }
            offset += model.SizeOf(type);
            alignment = Math.Max(alignment, align);
        }
        Size = (offset + alignment - 1) / alignment * alignment;
        types = [.. kept];
        offsets = [.. places];
        Names = names;
    }

    public DataModel Model { get; }
    public int Size { get; }

    /// <summary>The fields that carry values, in order (for the tracer and tests).</summary>
    public IReadOnlyList<string> Names { get; }

    public int OffsetOf(string name) => offsets[((List<string>)Names).IndexOf(name)];

    public void Write(Span<byte> destination, ReadOnlySpan<long> values)
    {
        destination[..Size].Clear();
        for (var i = 0; i < types.Length; i++)
        {
            var at = destination[offsets[i]..];
            if (Model.SizeOf(types[i]) == 8)
            {
                if (Model.BigEndian)
                    BinaryPrimitives.WriteInt64BigEndian(at, values[i]);
                else
                    BinaryPrimitives.WriteInt64LittleEndian(at, values[i]);
            }
            else if (Model.SizeOf(types[i]) == 2)
            {
                if (Model.BigEndian)
                    BinaryPrimitives.WriteInt16BigEndian(at, (short)values[i]);
                else
                    BinaryPrimitives.WriteInt16LittleEndian(at, (short)values[i]);
            }
            else if (Model.BigEndian)
            {
                BinaryPrimitives.WriteInt32BigEndian(at, (int)values[i]);
            }
            else
            {
                BinaryPrimitives.WriteInt32LittleEndian(at, (int)values[i]);
            }
        }
    }

    /// <summary>Writes the structure, one value per field, at <paramref name="address"/> in guest memory.</summary>
    public Errno Write(Memory.GuestMemory memory, Memory.GuestAddress address, ReadOnlySpan<long> values)
    {
        Span<byte> bytes = stackalloc byte[Size];
        Write(bytes, values);
        return memory.Write(address, bytes);
    }

    /// <summary>Reads the structure at <paramref name="address"/> in guest memory, one value per field.</summary>
    public Errno Read(Memory.GuestMemory memory, Memory.GuestAddress address, Span<long> values)
    {
        Span<byte> bytes = stackalloc byte[Size];
        if (memory.Read(address, bytes) is var fault and not Errno.None)
            return fault;
        Read(bytes, values);
        return Errno.None;
    }

    /// <summary>Reads the fields; 32-bit ones come back zero-extended (the kernel's unsigned view).</summary>
    public void Read(ReadOnlySpan<byte> source, Span<long> values)
    {
        for (var i = 0; i < types.Length; i++)
        {
            var at = source[offsets[i]..];
            values[i] = Model.SizeOf(types[i]) switch
            {
                8 => Model.BigEndian ? BinaryPrimitives.ReadInt64BigEndian(at) : BinaryPrimitives.ReadInt64LittleEndian(at),
                2 => Model.BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(at) : BinaryPrimitives.ReadUInt16LittleEndian(at),
                _ => Model.BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(at) : BinaryPrimitives.ReadUInt32LittleEndian(at),
            };
        }
    }
}
