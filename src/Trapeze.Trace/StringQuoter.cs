using System.Text;

namespace Trapeze.Trace;

/// <summary>
/// Quotes bytes the way strace prints strings: C escapes, octal for other non-printable bytes,
/// hex with -x (when anything is non-printable) or -xx (always), cut at -s with "...".
/// </summary>
public static class StringQuoter
{
    /// <summary>Quotes <paramref name="bytes"/>; <paramref name="truncated"/> appends "..." after the closing quote.</summary>
    public static string Quote(ReadOnlySpan<byte> bytes, int hexMode, bool truncated, bool forceHex = false)
    {
        var hex = forceHex || hexMode >= 2 || hexMode == 1 && !AllPrintable(bytes);
        var text = new StringBuilder(bytes.Length + 8);
        text.Append('"');
        for (var index = 0; index < bytes.Length; index++)
        {
            var value = bytes[index];
            if (hex)
            {
                text.Append("\\x").Append(value.ToString("x2"));
                continue;
            }
            switch (value)
            {
                case (byte)'"': text.Append("\\\""); break;
                case (byte)'\\': text.Append("\\\\"); break;
                case (byte)'\n': text.Append("\\n"); break;
                case (byte)'\t': text.Append("\\t"); break;
                case (byte)'\r': text.Append("\\r"); break;
                case (byte)'\f': text.Append("\\f"); break;
                case (byte)'\v': text.Append("\\v"); break;
                default:
                    if (value is >= 0x20 and < 0x7f)
                    {
                        text.Append((char)value);
                        break;
                    }
                    // An octal escape takes up to three digits, so the next byte being a digit forces all three.
                    var nextIsDigit = index + 1 < bytes.Length && bytes[index + 1] is >= (byte)'0' and <= (byte)'7';
                    var octal = Convert.ToString(value, 8);
                    text.Append('\\').Append(nextIsDigit ? octal.PadLeft(3, '0') : octal);
                    break;
            }
        }
        text.Append('"');
        if (truncated)
            text.Append("...");
        return text.ToString();
    }

    private static bool AllPrintable(ReadOnlySpan<byte> bytes)
    {
        foreach (var value in bytes)
        {
            if (value is < 0x20 or >= 0x7f && value is not ((byte)'\n' or (byte)'\t' or (byte)'\r' or (byte)'\f' or (byte)'\v'))
                return false;
        }
        return true;
    }
}
