using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// The "#!" line of an interpreter script, read as fs/binfmt_script.c reads it: within the first
/// 256 bytes, the interpreter is the first word after "#!", the rest of the line (trimmed) is one
/// optional argument.
/// </summary>
internal static class Script
{
    /// <summary>BINPRM_BUF_SIZE: how much of the file the kernel looks at to recognise its format.</summary>
    public const int LineMaximum = 256;

    public static bool HasMagic(ReadOnlySpan<byte> prefix) => prefix.Length >= 2 && prefix[0] == (byte)'#' && prefix[1] == (byte)'!';

    public static LoadFailure? Parse(ReadOnlySpan<byte> prefix, string path, out string interpreter, out string? argument)
    {
        interpreter = "";
        argument = null;
        var line = prefix[2..];
        var newline = line.IndexOf((byte)'\n');
        var complete = newline >= 0;
        if (complete)
            line = line[..newline];
        line = line.Trim(" \t"u8);
        var space = line.IndexOfAny(" \t"u8);
        var word = space < 0 ? line : line[..space];
        // Without a newline in the buffer, an interpreter name that fills it may have been cut short.
        if (word.IsEmpty || (!complete && space < 0) || word.IndexOf((byte)0) >= 0)
            return new LoadFailure(Errno.ENOEXEC, $"{LoadFailure.Printable(path)}: malformed #! line");
        interpreter = Memory.GuestText.Decode(word);
        if (space >= 0)
        {
            var rest = line[space..].Trim(" \t"u8);
            if (!rest.IsEmpty)
                argument = Memory.GuestText.Decode(rest);
        }
        return null;
    }
}
