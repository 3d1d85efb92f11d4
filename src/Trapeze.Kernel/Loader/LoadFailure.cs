using System.Text;
using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// Why a program cannot be started: the errno execve returns (ENOENT, EACCES, ENOEXEC, ELIBBAD,
/// E2BIG, EINVAL, ENOMEM...) and one line for the user, already prefixed with the path.
/// </summary>
public readonly record struct LoadFailure(Errno Errno, string Message)
{
    public static LoadFailure From(Errno errno, string path) => new(errno, $"{Printable(path)}: {ErrnoMessages.Text[(int)errno]}");

    /// <summary>
    /// Makes text from a file (or a path) safe for one line on a terminal: control characters and
    /// other unprintables are escaped, and the text is cut short, so a hostile file cannot forge
    /// output or spread a message over several lines.
    /// </summary>
    public static string Printable(string text, int maximum = 256)
    {
        var result = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (result.Length >= maximum)
                return result.Append("...").ToString();
            if (Rune.IsControl(rune) || rune == Rune.ReplacementChar || rune.Value == '\\')
                result.Append(rune.Value == '\\' ? "\\\\" : $"\\x{rune.Value:x2}");
            else
                result.Append(rune.ToString());
        }
        return result.ToString();
    }
}

/// <summary>
/// Thrown only at the host API boundary (<see cref="Kernel.Start"/>), for callers that want an
/// exception; inside the kernel loader failures travel as <see cref="LoadFailure"/> values.
/// </summary>
public sealed class ExecutableException(LoadFailure failure) : Exception(failure.Message)
{
    public LoadFailure Failure { get; } = failure;
}
