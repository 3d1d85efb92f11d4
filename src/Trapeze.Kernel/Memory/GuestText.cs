using System.Text;

namespace Trapeze.Kernel.Memory;

/// <summary>
/// Guest strings (paths, argv, envp) as .NET strings without losing a byte: valid UTF-8 decodes as
/// usual, and each byte that is not part of valid UTF-8 becomes the lone surrogate U+DC00+byte
/// (Python's "surrogateescape"), which <see cref="Encode"/> turns back into that byte. So a
/// file name or argument with byte 0xE9 reaches the host, the loader and the tracer unchanged.
/// </summary>
public static class GuestText
{
    private const char EscapeBase = '\uDC00';

    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
            return Encoding.UTF8.GetString(bytes);
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var consumed) == System.Buffers.OperationStatus.Done)
            {
                text.Append(rune.ToString());
                bytes = bytes[consumed..];
            }
            else
            {
                text.Append((char)(EscapeBase + bytes[0]));
                bytes = bytes[1..];
            }
        }
        return text.ToString();
    }

    public static byte[] Encode(string text)
    {
        var bytes = new List<byte>(text.Length + 8);
        Span<byte> buffer = stackalloc byte[4];
        for (var index = 0; index < text.Length;)
        {
            var character = text[index];
            if (character is >= '\uDC80' and <= '\uDCFF')
            {
                bytes.Add((byte)(character - EscapeBase));
                index++;
                continue;
            }
            if (Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
                rune = Rune.ReplacementChar;
            var length = rune.EncodeToUtf8(buffer);
            for (var at = 0; at < length; at++)
                bytes.Add(buffer[at]);
            index += consumed;
        }
        return [.. bytes];
    }
}
