using System.Collections.Concurrent;

namespace Trapeze.Trace;

/// <summary>
/// Prints a value of a generated ABI enum as strace does: flag sets as NAME|NAME|0x..., values
/// by name or as "0x4d2 /* CLOCK_??? */". The names are the enums' own (from kernel headers).
/// </summary>
public sealed class EnumFormatter
{
    private sealed record Table(bool IsFlags, (string Name, ulong Value)[] Members, string Prefix, int Bits);

    private readonly ConcurrentDictionary<Type, Table> tables = new();

    /// <summary><paramref name="accessMode"/>: print a value field such as O_RDONLY (false for dup3's flags).</summary>
    public string Format(Type type, ulong raw, bool accessMode = true)
    {
        var table = tables.GetOrAdd(type, Build);
        raw &= table.Bits == 64 ? ulong.MaxValue : (1UL << table.Bits) - 1;
        if (!accessMode && raw == 0)
            return "0";
        return table.IsFlags ? FormatFlags(table, accessMode ? FieldMask(type) : 0, raw) : FormatValue(table, raw);
    }

    private static Table Build(Type type)
    {
        var names = Enum.GetNames(type);
        var values = Enum.GetValuesAsUnderlyingType(type);
        var underlying = Enum.GetUnderlyingType(type);
        var bits = underlying == typeof(long) || underlying == typeof(ulong) ? 64 : underlying == typeof(short) || underlying == typeof(ushort) ? 16 : underlying == typeof(byte) || underlying == typeof(sbyte) ? 8 : 32;
        var members = new (string, ulong)[names.Length];
        for (var index = 0; index < names.Length; index++)
        {
            var value = values.GetValue(index)!;
            var number = underlying == typeof(int) ? (ulong)(uint)(int)value
                : underlying == typeof(long) ? (ulong)(long)value
                : Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture);
            members[index] = (names[index].TrimStart('_'), number);
        }
        var prefix = names.Length > 0 && names[0].TrimStart('_').IndexOf('_') is > 0 and var underscore ? names[0].TrimStart('_')[..underscore] : "";
        return new Table(type.IsDefined(typeof(FlagsAttribute), false), members, prefix, bits);
    }

    private static string FormatValue(Table table, ulong raw)
    {
        foreach (var (name, value) in table.Members)
        {
            if (value == raw)
                return name;
        }
        return $"0x{raw:x} /* {table.Prefix}_??? */";
    }

    /// <summary>
    /// Members are taken widest first (so O_SYNC wins over O_DSYNC) and printed in ascending value,
    /// which is strace's order. A field such as the open access mode (O_RDONLY = 0) always prints.
    /// </summary>
    private static string FormatFlags(Table table, ulong fieldMask, ulong raw)
    {
        var parts = new List<(string Name, ulong Value)>();
        var rest = raw;
        if (fieldMask != 0)
        {
            var field = rest & fieldMask;
            var member = table.Members.FirstOrDefault(m => m.Value == field && (m.Value & ~fieldMask) == 0);
            if (member.Name is not null)
            {
                parts.Add((member.Name, 0));
                rest &= ~fieldMask;
            }
        }
        foreach (var (name, value) in table.Members.Where(m => m.Value != 0 && (m.Value & fieldMask) == 0)
                     .OrderByDescending(m => ulong.PopCount(m.Value)))
        {
            if ((rest & value) == value)
            {
                parts.Add((name, value));
                rest &= ~value;
            }
        }
        var ordered = parts.OrderBy(p => p.Value).Select(p => p.Name).ToList();
        if (rest != 0)
            ordered.Add($"0x{rest:x}");
        if (ordered.Count == 0)
            return table.Members.FirstOrDefault(m => m.Value == 0).Name ?? "0";
        return string.Join('|', ordered);
    }

    /// <summary>Bits that hold one value rather than independent flags: the access mode of open, the mapping type of mmap.</summary>
    private static ulong FieldMask(Type type) => type.Name switch
    {
        "OpenFlags" => 3,
        "MapFlags" => 3,
        _ => 0,
    };
}
