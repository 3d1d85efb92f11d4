using System.Text;
using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Loader;

/// <summary>A program ready to load: its ELF image, and argv after any #! interpreters were put in front.</summary>
public sealed record ProgramToRun(string Path, ElfImage Image, List<string> Arguments)
{
    /// <summary>The program file, held for /proc/PID/exe (the new image owns it).</summary>
    public Vfs.Location? Location { get; init; }

    /// <summary>Its canonical guest path (/proc/PID/exe's text and the maps name).</summary>
    public string ShownPath { get; init; } = Path;
}

/// <summary>Reads a program file through the VFS: its bytes and where it is, or the errno and a line for the user.</summary>
public delegate Errno ProgramReader(string path, out Vfs.ProgramData? program, out string message);

/// <summary>
/// Finds what execve runs: an ELF file, or a #! script whose interpreter (with its optional single
/// argument) runs with the script's path inserted in argv, as Linux's binfmt_script does.
/// </summary>
public static class ProgramFile
{
    private const int InterpreterLineMaximum = 256; // BINPRM_BUF_SIZE
    private const int ScriptDepthMaximum = 4;

    /// <summary>The program, or the errno execve gives and a line for the user.</summary>
    public static Errno Find(ProgramReader read, string path, IReadOnlyList<string> arguments, out ProgramToRun? program, out string message)
    {
        program = null;
        var argv = new List<string>(arguments);
        for (var depth = 0; depth <= ScriptDepthMaximum; depth++)
        {
            if (read(path, out var file, out message) is var denied and not Errno.None)
                return denied;
            if (ReadScriptLine(file!.Data) is { } line)
            {
                file.Location.Node.Dispose();
                if (!ParseInterpreter(line, out var interpreter, out var argument))
                {
                    message = $"{path}: bad interpreter line";
                    return Errno.ENOEXEC;
                }
                // argv[0] is replaced by the interpreter, its argument, and the script as named.
                var rewritten = new List<string> { interpreter };
                if (argument is not null)
                    rewritten.Add(argument);
                rewritten.Add(path);
                rewritten.AddRange(argv.Skip(1));
                argv = rewritten;
                path = interpreter;
                continue;
            }
            try
            {
                program = new ProgramToRun(path, MachOImage.IsMachO(file.Data) ? MachOImage.Parse(file.Data, path).Image : ElfImage.Parse(file.Data, path), argv) { Location = file.Location, ShownPath = file.ShownPath };
                return Errno.None;
            }
            catch (ExecutableFormatException error)
            {
                file.Location.Node.Dispose();
                message = error.Message;
                return Errno.ENOEXEC;
            }
        }
        message = $"{path}: too many levels of #! interpreters";
        return Errno.ELOOP;
    }

    /// <summary>The first line of a #! script (without the #!), or null for any other file.</summary>
    private static string? ReadScriptLine(byte[] data)
    {
        ReadOnlySpan<byte> head = data.AsSpan(0, Math.Min(data.Length, InterpreterLineMaximum));
        var length = head.Length;
        if (length < 2 || head[0] != '#' || head[1] != '!')
            return null;
        var line = head[2..length];
        var end = line.IndexOf((byte)'\n');
        return Encoding.UTF8.GetString(end >= 0 ? line[..end] : line);
    }

    private static bool ParseInterpreter(string line, out string interpreter, out string? argument)
    {
        line = line.Trim(' ', '\t', '\r');
        var split = line.IndexOfAny([' ', '\t']);
        interpreter = split < 0 ? line : line[..split];
        var rest = split < 0 ? "" : line[split..].Trim(' ', '\t');
        argument = rest.Length > 0 ? rest : null;
        return interpreter.Length > 0;
    }
}
