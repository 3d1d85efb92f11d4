using System.Buffers.Binary;
using System.Text;

namespace Trapeze.Tests.Fuzz;

/// <summary>One malformed program and the edits that made it, so a failure can be reproduced and read.</summary>
public sealed record Mutant(byte[] Bytes, string Description);

/// <summary>
/// Makes malformed executables from real ones, reproducibly from a seed: header and
/// program-header fields set to boundary values, truncations, overlapping segments, bad
/// PT_INTERP paths, #! lines. Each mutant gets one to three edits.
/// </summary>
public static class ElfMutator
{
    private const int PtLoad = 1, PtDynamic = 2, PtInterp = 3;

    private static readonly (string Name, int Offset, int Size)[] HeaderFields =
    [
        ("ei_class", 4, 1), ("ei_data", 5, 1), ("e_type", 16, 2), ("e_machine", 18, 2), ("e_entry", 24, 8),
        ("e_phoff", 32, 8), ("e_phentsize", 54, 2), ("e_phnum", 56, 2),
    ];

    private static readonly (string Name, int Offset, int Size)[] SegmentFields =
    [
        ("p_type", 0, 4), ("p_flags", 4, 4), ("p_offset", 8, 8), ("p_vaddr", 16, 8), ("p_filesz", 32, 8), ("p_memsz", 40, 8), ("p_align", 48, 8),
    ];

    private static readonly string[] Interpreters =
    [
        "/bin/sh", "/proc/self/exe", "/nonexistent/ld.so", "", "ld.so", "/etc/passwd", "/dev/zero", "/tmp", "/lib64/ld-linux-x86-64.so.2",
        "/lib/ld-musl-x86_64.so.1", "/bin/true", new string('a', 5000), "/tmp/\u001b[2J\nfake line",
    ];

    public static Mutant Mutate(byte[] original, Random random)
    {
        var bytes = (byte[])original.Clone();
        var edits = new List<string>();
        var count = 1 + random.Next(3);
        for (var index = 0; index < count; index++)
            edits.Add(Edit(ref bytes, random));
        return new Mutant(bytes, string.Join("; ", edits));
    }

    private static string Edit(ref byte[] bytes, Random random)
    {
        switch (random.Next(10))
        {
            case 0 or 1 or 2:
                {
                    var (name, offset, size) = HeaderFields[random.Next(HeaderFields.Length)];
                    var value = Interesting(random, Read(bytes, offset, size), bytes.Length);
                    Write(bytes, offset, size, value);
                    return $"{name}=0x{value & Mask(size):x}";
                }
            case 3 or 4 or 5:
                {
                    if (ProgramHeaders(bytes) is not { } headers)
                        goto default;
                    var segment = random.Next(headers.Count);
                    var (name, offset, size) = SegmentFields[random.Next(SegmentFields.Length)];
                    var at = headers.Offset + segment * 56 + offset;
                    var value = name == "p_type" && random.Next(2) == 0 ? (ulong)random.Next(8) : Interesting(random, Read(bytes, at, size), bytes.Length);
                    Write(bytes, at, size, value);
                    return $"phdr[{segment}].{name}=0x{value & Mask(size):x}";
                }
            case 6:
                {
                    var length = random.Next(bytes.Length);
                    bytes = bytes[..length];
                    return $"truncate to {length}";
                }
            case 7:
                {
                    if (ProgramHeaders(bytes) is not { } headers || headers.Count < 2)
                        goto default;
                    var (from, to) = (random.Next(headers.Count), random.Next(headers.Count));
                    bytes.AsSpan(headers.Offset + from * 56, 56).CopyTo(bytes.AsSpan(headers.Offset + to * 56));
                    return $"phdr[{to}] = phdr[{from}]";
                }
            case 8:
                {
                    if (ProgramHeaders(bytes) is not { } headers)
                        goto default;
                    var interpreter = Interpreters[random.Next(Interpreters.Length)];
                    var terminated = random.Next(4) != 0;
                    var text = Encoding.UTF8.GetBytes(interpreter + (terminated ? "\0" : ""));
                    var segment = FindType(bytes, headers, PtInterp) ?? random.Next(headers.Count);
                    var at = headers.Offset + segment * 56;
                    var offset = (ulong)bytes.Length;
                    bytes = [.. bytes, .. text];
                    Write(bytes, at, 4, PtInterp);
                    Write(bytes, at + 8, 8, offset);
                    Write(bytes, at + 32, 8, (ulong)text.Length);
                    return $"phdr[{segment}] = PT_INTERP {Printable(interpreter)}{(terminated ? "" : " (no NUL)")}";
                }
            default:
                {
                    var interpreter = random.Next(3) switch
                    {
                        0 => Interpreters[random.Next(Interpreters.Length)],
                        1 => "/bin/echo",
                        _ => new string('x', random.Next(300)),
                    };
                    var tail = new byte[random.Next(40)];
                    random.NextBytes(tail);
                    var line = Encoding.UTF8.GetBytes($"#!{(random.Next(2) == 0 ? " " : "")}{interpreter}");
                    bytes = random.Next(2) == 0 ? [.. line, (byte)'\n', .. tail] : [.. line, .. tail];
                    return $"#! {Printable(interpreter)} + {tail.Length} random bytes";
                }
        }
    }

    /// <summary>Boundary values for a field: zero, one, all ones, powers of two near the limits, the file's length, nearby values.</summary>
    private static ulong Interesting(Random random, ulong current, int fileLength)
    {
        ulong[] values =
        [
            0, 1, 2, 0x7f, 0xff, 0x100, 0xfff, 0x1000, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1UL << 32,
            1UL << 46, 0x7fff_ffff_f000, 1UL << 47, 1UL << 63, ulong.MaxValue, unchecked((ulong)-4096), (ulong)fileLength,
            (ulong)fileLength + 1, current + 1, current - 1, current * 2, current + 0x1000, 90UL << 30,
        ];
        return random.Next(8) == 0 ? (ulong)random.NextInt64() : values[random.Next(values.Length)];
    }

    private static (int Offset, int Count)? ProgramHeaders(byte[] bytes)
    {
        if (bytes.Length < 64)
            return null;
        var offset = Read(bytes, 32, 8);
        var count = (int)Read(bytes, 56, 2);
        if (Read(bytes, 54, 2) != 56 || count == 0 || offset > (ulong)bytes.Length || (ulong)count * 56 > (ulong)bytes.Length - offset)
            return null;
        return ((int)offset, count);
    }

    private static int? FindType(byte[] bytes, (int Offset, int Count) headers, uint type)
    {
        for (var index = 0; index < headers.Count; index++)
        {
            if (Read(bytes, headers.Offset + index * 56, 4) == type)
                return index;
        }
        return null;
    }
    private static ulong Mask(int size) => size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    private static ulong Read(byte[] bytes, int offset, int size)
    {
        if (offset + size > bytes.Length)
            return 0;
        var span = bytes.AsSpan(offset, size);
        return size switch
        {
            1 => span[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(span),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(span),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(span),
        };
    }

    private static void Write(byte[] bytes, int offset, int size, ulong value)
    {
        if (offset + size > bytes.Length)
            return;
        var span = bytes.AsSpan(offset, size);
        switch (size)
        {
            case 1: span[0] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)value); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(span, value); break;
        }
    }

    private static string Printable(string text)
        => text.Length > 40 ? $"{text.Length} chars" : string.Concat(text.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
}
