using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Trapeze.Trace;

/// <summary>
/// Prints a value of a generated ABI enum as strace does: flag sets as NAME|NAME|0x..., values
/// by name or as "0x4d2 /* CLOCK_??? */". Names and their order come from the enums, which
/// tools/generate-abi writes in the order of tools/abi-constants.txt (strace's order).
/// </summary>
public sealed class EnumFormatter
{
    private const DynamicallyAccessedMemberTypes Fields = DynamicallyAccessedMemberTypes.PublicFields;

    private sealed record Member(string Name, ulong Value, int Order);

    private sealed record Table(bool IsFlags, Member[] Members, Member[] WidestFirst, string Prefix, ulong Mask, ulong FieldMask);

    private readonly ConcurrentDictionary<Type, Table> tables = new();

    /// <summary><paramref name="accessMode"/>: print a value field such as O_RDONLY (false for dup3's flags).</summary>
    public string Format([DynamicallyAccessedMembers(Fields)] Type type, ulong raw, bool accessMode = true)
    {
        if (!tables.TryGetValue(type, out var table))
            tables[type] = table = Build(type);
        raw &= table.Mask;
        if (!table.IsFlags)
            return FormatValue(table, raw);
        if (!accessMode && raw == 0)
            return "0";
        return FormatFlags(table, accessMode ? table.FieldMask : 0, raw);
    }

    private static Table Build([DynamicallyAccessedMembers(Fields)] Type type)
    {
        var underlying = Enum.GetUnderlyingType(type);
        var bits = underlying == typeof(long) || underlying == typeof(ulong) ? 64
            : underlying == typeof(short) || underlying == typeof(ushort) ? 16
            : underlying == typeof(byte) || underlying == typeof(sbyte) ? 8 : 32;
        var members = new List<Member>();
        foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var value = field.GetRawConstantValue() switch
            {
                int number => (ulong)(uint)number,
                long number => (ulong)number,
                uint number => number,
                ulong number => number,
                var other => Convert.ToUInt64(other, System.Globalization.CultureInfo.InvariantCulture),
            };
            members.Add(new Member(field.Name.TrimStart('_'), value, members.Count));
        }
        var first = members.Count > 0 ? members[0].Name : "";
        var prefix = first.IndexOf('_') is > 0 and var underscore ? first[..underscore] : "";
        var widestFirst = members.Where(m => m.Value != 0).OrderByDescending(m => ulong.PopCount(m.Value)).ThenBy(m => m.Order).ToArray();
        return new Table(type.IsDefined(typeof(FlagsAttribute), false), [.. members], widestFirst, prefix,
            bits == 64 ? ulong.MaxValue : (1UL << bits) - 1, FieldMask(type.Name));
    }

    private static string FormatValue(Table table, ulong raw)
    {
        foreach (var member in table.Members)
        {
            if (member.Value == raw)
                return member.Name;
        }
        return $"0x{raw:x} /* {table.Prefix}_??? */";
    }

    /// <summary>
    /// Members are taken widest first (so O_SYNC wins over O_DSYNC) and printed in declaration
    /// order. A value field such as the open access mode (O_RDONLY = 0) always prints.
    /// </summary>
    private static string FormatFlags(Table table, ulong fieldMask, ulong raw)
    {
        var parts = new List<Member>();
        var rest = raw;
        if (fieldMask != 0 && table.Members.FirstOrDefault(m => m.Value == (raw & fieldMask)) is { } field)
        {
            parts.Add(field);
            rest &= ~fieldMask;
        }
        foreach (var member in table.WidestFirst)
        {
            if ((member.Value & fieldMask) == 0 && (rest & member.Value) == member.Value)
            {
                parts.Add(member);
                rest &= ~member.Value;
            }
        }
        var names = parts.OrderBy(p => p.Order).Select(p => p.Name).ToList();
        if (rest != 0)
            names.Add($"0x{rest:x}");
        if (names.Count == 0)
            return table.Members.FirstOrDefault(m => m.Value == 0)?.Name ?? "0";
        return string.Join('|', names);
    }

    /// <summary>Bits that hold one value rather than independent flags: the access mode of open, the mapping type of mmap.</summary>
    private static ulong FieldMask(string typeName) => typeName switch
    {
        "OpenFlags" => 3,
        "MapFlags" => 3,
        "StatxFlags" => 0x6000, // AT_STATX_SYNC_TYPE: AT_STATX_SYNC_AS_STAT is its 0
        _ => 0,
    };
}
