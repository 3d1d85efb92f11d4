using System.Text;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;

namespace Trapeze.Kernel.Loader;

/// <summary>A program ready to load: its ELF image, and argv after any #! interpreters were put in front.</summary>
public sealed record ProgramToRun(string Path, ElfImage Image, List<string> Arguments);

/// <summary>
/// Finds what execve runs: an ELF file, or a #! script whose interpreter (with its optional single
/// argument) runs with the script's path inserted in argv, as Linux's binfmt_script does.
/// </summary>
public static class ProgramFile
{
    private const int InterpreterLineMaximum = 256; // BINPRM_BUF_SIZE
    private const int ScriptDepthMaximum = 4;

    /// <summary>The program, or the errno execve gives and a line for the user.</summary>
    public static Errno Find(string path, IReadOnlyList<string> arguments, out ProgramToRun? program, out string message)
    {
        program = null;
        var argv = new List<string>(arguments);
        for (var depth = 0; depth <= ScriptDepthMaximum; depth++)
        {
            if (Check(path, out message) is var denied and not Errno.None)
                return denied;
            if (ReadScriptLine(path) is { } line)
            {
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
                program = new ProgramToRun(path, Kernel.ReadProgram(path), argv);
                return Errno.None;
            }
            catch (ExecutableNotFoundException error)
            {
                message = error.Message;
                return Errno.ENOENT;
            }
            catch (ExecutableFormatException error)
            {
                message = error.Message;
                return Errno.ENOEXEC;
            }
        }
        message = $"{path}: too many levels of #! interpreters";
        return Errno.ELOOP;
    }

    /// <summary>What execve checks before reading: the file exists, is regular and executable.</summary>
    private static unsafe Errno Check(string path, out string message)
    {
        const uint TypeMask = 0xf000, Regular = 0x8000, Directory = 0x4000, AnyExecute = 0x49;
        LinuxStat status;
        var text = HostStrings.Pin(path, out var handle);
        var result = HostSyscall.Invoke(HostSyscall.Newfstatat, Files.HostPath.CurrentDirectory, text, (long)&status, 0);
        handle.Free();
        if (result < 0)
        {
            var error = HostSyscall.ErrorOf(result);
            message = $"{path}: {ErrnoMessages.Text[(int)error]}";
            return error;
        }
        if ((status.Mode & TypeMask) == Directory)
        {
            message = $"{path}: is a directory";
            return Errno.EACCES;
        }
        if ((status.Mode & TypeMask) != Regular || (status.Mode & AnyExecute) == 0)
        {
            message = $"{path}: Permission denied";
            return Errno.EACCES;
        }
        message = "";
        return Errno.None;
    }

    /// <summary>The first line of a #! script (without the #!), or null for any other file.</summary>
    private static string? ReadScriptLine(string path)
    {
        Span<byte> head = stackalloc byte[InterpreterLineMaximum];
        int length;
        try
        {
            using var file = File.OpenHandle(path);
            length = RandomAccess.Read(file, head, 0);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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
