using System.Buffers.Binary;
using System.Text;
using Trapeze.Cpu;

namespace Trapeze.Debugger;

/// <summary>
/// x86-64 as gdb sees it: the target description (core, SSE, Linux's orig_rax, fs_base/gs_base) and
/// the register file in the order that description numbers it, which is the order of the g packet.
/// The x87 and SSE state travels through the CPU's fxsave image.
/// </summary>
internal static class X64Target
{
    private enum Source { General, Segment, X87, X87Control, Xmm, Mxcsr, OrigRax }

    private readonly record struct Register(string Name, int Bits, string Type, Source Source, int Index, string? Group = null);

    private static readonly Register[] Registers = Build();

    private static Register[] Build()
    {
        var list = new List<Register>();
        string[] general = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
        for (var i = 0; i < general.Length; i++)
            list.Add(new(general[i], 64, general[i] is "rbp" or "rsp" ? "data_ptr" : "int64", Source.General, i));
        list.Add(new("rip", 64, "code_ptr", Source.General, (int)X64Register.Rip));
        list.Add(new("eflags", 32, "i386_eflags", Source.General, (int)X64Register.Rflags));
        foreach (var (name, segment) in (ReadOnlySpan<(string, X86Segment)>)[("cs", X86Segment.Cs), ("ss", X86Segment.Ss), ("ds", X86Segment.Ds), ("es", X86Segment.Es), ("fs", X86Segment.Fs), ("gs", X86Segment.Gs)])
            list.Add(new(name, 32, "int32", Source.Segment, (int)segment));
        for (var i = 0; i < 8; i++)
            list.Add(new($"st{i}", 80, "i387_ext", Source.X87, i));
        string[] control = ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"];
        for (var i = 0; i < control.Length; i++)
            list.Add(new(control[i], 32, "int", Source.X87Control, i, "float"));
        for (var i = 0; i < 16; i++)
            list.Add(new($"xmm{i}", 128, "vec128", Source.Xmm, i));
        list.Add(new("mxcsr", 32, "i386_mxcsr", Source.Mxcsr, 0, "vector"));
        list.Add(new("orig_rax", 64, "int", Source.OrigRax, 0));
        list.Add(new("fs_base", 64, "int", Source.General, (int)X64Register.FsBase));
        list.Add(new("gs_base", 64, "int", Source.General, (int)X64Register.GsBase));
        return [.. list];
    }

    public static int Count => Registers.Length;

    public static string Description { get; } = Describe();

    private static string Describe()
    {
        var xml = new StringBuilder();
        xml.Append("""
            <?xml version="1.0"?>
            <!DOCTYPE target SYSTEM "gdb-target.dtd">
            <target version="1.0">
            <architecture>i386:x86-64</architecture>
            <osabi>GNU/Linux</osabi>
            <feature name="org.gnu.gdb.i386.core">
            <flags id="i386_eflags" size="4">
            <field name="CF" start="0" end="0"/><field name="" start="1" end="1"/><field name="PF" start="2" end="2"/>
            <field name="AF" start="4" end="4"/><field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
            <field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/><field name="DF" start="10" end="10"/>
            <field name="OF" start="11" end="11"/><field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
            <field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/><field name="VIF" start="19" end="19"/>
            <field name="VIP" start="20" end="20"/><field name="ID" start="21" end="21"/>
            </flags>

            """);
        var feature = "core";
        foreach (var register in Registers)
        {
            var wanted = register.Source switch
            {
                Source.Xmm or Source.Mxcsr => "sse",
                Source.OrigRax => "linux",
                _ when register.Name is "fs_base" or "gs_base" => "segments",
                _ => "core",
            };
            if (wanted != feature)
            {
                xml.Append("</feature>\n");
                xml.Append($"<feature name=\"org.gnu.gdb.i386.{wanted}\">\n");
                if (wanted == "sse")
                    xml.Append("""
                        <vector id="v4f" type="ieee_single" count="4"/><vector id="v2d" type="ieee_double" count="2"/>
                        <vector id="v16i8" type="int8" count="16"/><vector id="v8i16" type="int16" count="8"/>
                        <vector id="v4i32" type="int32" count="4"/><vector id="v2i64" type="int64" count="2"/>
                        <union id="vec128"><field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/>
                        <field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/>
                        <field name="v2_int64" type="v2i64"/><field name="uint128" type="uint128"/></union>
                        <flags id="i386_mxcsr" size="4">
                        <field name="IE" start="0" end="0"/><field name="DE" start="1" end="1"/><field name="ZE" start="2" end="2"/>
                        <field name="OE" start="3" end="3"/><field name="UE" start="4" end="4"/><field name="PE" start="5" end="5"/>
                        <field name="DAZ" start="6" end="6"/><field name="IM" start="7" end="7"/><field name="DM" start="8" end="8"/>
                        <field name="ZM" start="9" end="9"/><field name="OM" start="10" end="10"/><field name="UM" start="11" end="11"/>
                        <field name="PM" start="12" end="12"/><field name="FZ" start="15" end="15"/>
                        </flags>

                        """);
                feature = wanted;
            }
            xml.Append($"<reg name=\"{register.Name}\" bitsize=\"{register.Bits}\" type=\"{register.Type}\"{(register.Group is { } group ? $" group=\"{group}\"" : "")}/>\n");
        }
        xml.Append("</feature>\n</target>\n");
        return xml.ToString();
    }

    /// <summary>One register's bytes, little-endian as the g packet carries them; null for a number gdb made up.</summary>
    public static byte[]? Read(ICpu cpu, int number, long originalRax)
    {
        if (number < 0 || number >= Registers.Length)
            return null;
        var register = Registers[number];
        var value = new byte[register.Bits / 8];
        switch (register.Source)
        {
            case Source.General:
                Put(value, cpu.ReadRegister((X64Register)register.Index));
                break;
            case Source.Segment:
                Put(value, cpu.ReadSegment((X86Segment)register.Index));
                break;
            case Source.OrigRax:
                Put(value, (ulong)originalRax);
                break;
            default:
                Span<byte> fxsave = stackalloc byte[512];
                cpu.SaveFloatingPoint(fxsave);
                FromFxsave(register, fxsave, value);
                break;
        }
        return value;
    }

    /// <summary>Writes one register; false when it cannot be written (the segment selectors).</summary>
    public static bool Write(ICpu cpu, int number, ReadOnlySpan<byte> value)
    {
        if (number < 0 || number >= Registers.Length || value.Length < Registers[number].Bits / 8)
            return false;
        var register = Registers[number];
        switch (register.Source)
        {
            case Source.General:
                var bytes = new byte[8];
                value[..Math.Min(8, value.Length)].CopyTo(bytes);
                cpu.WriteRegister((X64Register)register.Index, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
                return true;
            case Source.Segment:
            case Source.OrigRax:
                return true; // accepted and kept as they are: user code cannot change them either
            default:
                Span<byte> fxsave = stackalloc byte[512];
                cpu.SaveFloatingPoint(fxsave);
                ToFxsave(register, fxsave, value);
                cpu.RestoreFloatingPoint(fxsave);
                return true;
        }
    }

    public static byte[] ReadAll(ICpu cpu, long originalRax)
    {
        var all = new List<byte>();
        for (var i = 0; i < Registers.Length; i++)
            all.AddRange(Read(cpu, i, originalRax)!);
        return [.. all];
    }

    public static void WriteAll(ICpu cpu, ReadOnlySpan<byte> values)
    {
        var offset = 0;
        for (var i = 0; i < Registers.Length && offset < values.Length; i++)
        {
            var size = Registers[i].Bits / 8;
            if (offset + size > values.Length)
                break;
            Write(cpu, i, values.Slice(offset, size));
            offset += size;
        }
    }

    private static void Put(Span<byte> into, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        bytes[..into.Length].CopyTo(into);
    }

    // fxsave (64-bit): FCW 0, FSW 2, abridged FTW 4, FOP 6, FIP 8, FDP 16, MXCSR 24, ST0-7 at 32 (16 apart), XMM0-15 at 160.
    private static void FromFxsave(Register register, ReadOnlySpan<byte> fxsave, Span<byte> value)
    {
        switch (register.Source)
        {
            case Source.X87:
                fxsave.Slice(32 + 16 * register.Index, 10).CopyTo(value);
                break;
            case Source.Xmm:
                fxsave.Slice(160 + 16 * register.Index, 16).CopyTo(value);
                break;
            case Source.Mxcsr:
                fxsave.Slice(24, 4).CopyTo(value);
                break;
            default:
                ulong field = register.Index switch
                {
                    0 => BinaryPrimitives.ReadUInt16LittleEndian(fxsave),
                    1 => BinaryPrimitives.ReadUInt16LittleEndian(fxsave[2..]),
                    2 => FullTagWord(fxsave[4]),
                    4 => BinaryPrimitives.ReadUInt32LittleEndian(fxsave[8..]),
                    6 => BinaryPrimitives.ReadUInt32LittleEndian(fxsave[16..]),
                    7 => BinaryPrimitives.ReadUInt16LittleEndian(fxsave[6..]),
                    _ => 0,
                };
                Put(value, field);
                break;
        }
    }

    private static void ToFxsave(Register register, Span<byte> fxsave, ReadOnlySpan<byte> value)
    {
        switch (register.Source)
        {
            case Source.X87:
                value[..10].CopyTo(fxsave.Slice(32 + 16 * register.Index, 10));
                break;
            case Source.Xmm:
                value[..16].CopyTo(fxsave.Slice(160 + 16 * register.Index, 16));
                break;
            case Source.Mxcsr:
                value[..4].CopyTo(fxsave.Slice(24, 4));
                break;
            default:
                var field = BinaryPrimitives.ReadUInt32LittleEndian(value);
                switch (register.Index)
                {
                    case 0: BinaryPrimitives.WriteUInt16LittleEndian(fxsave, (ushort)field); break;
                    case 1: BinaryPrimitives.WriteUInt16LittleEndian(fxsave[2..], (ushort)field); break;
                    case 2: fxsave[4] = AbridgedTagWord(field); break;
                    case 7: BinaryPrimitives.WriteUInt16LittleEndian(fxsave[6..], (ushort)field); break;
                }
                break;
        }
    }

    // gdb shows the full tag word (two bits a register, 3 = empty); fxsave keeps one bit (1 = in use).
    private static ulong FullTagWord(byte abridged)
    {
        ulong tags = 0;
        for (var i = 0; i < 8; i++)
        {
            if ((abridged & (1 << i)) == 0)
                tags |= 3UL << (2 * i);
        }
        return tags;
    }

    private static byte AbridgedTagWord(uint full)
    {
        byte abridged = 0;
        for (var i = 0; i < 8; i++)
        {
            if (((full >> (2 * i)) & 3) != 3)
                abridged |= (byte)(1 << i);
        }
        return abridged;
    }
}
