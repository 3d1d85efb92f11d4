namespace Trapeze.Kernel.Loader;

/// <summary>
/// A program checked and opened, ready to replace a process's image (execve's first half, which
/// can still fail): its ELF image and interpreter, and argv after any #! interpreters were put in
/// front. Its files are read by offset while it loads; disposing closes them.
/// </summary>
public sealed record ProgramToRun(string Path, ElfImage Image, List<string> Arguments) : IDisposable
{
    /// <summary>The program file, held for /proc/PID/exe (the new image owns it).</summary>
    public Vfs.Location? Location { get; init; }

    /// <summary>Its canonical guest path (/proc/PID/exe's text and the maps name).</summary>
    public string ShownPath { get; init; } = Path;

    /// <summary>The PT_INTERP program, already opened and checked, and its canonical guest path.</summary>
    public ElfImage? InterpreterImage { get; init; }
    public string InterpreterShownPath { get; init; } = "";

    public void Dispose()
    {
        Image.File.Dispose();
        InterpreterImage?.File.Dispose();
    }

    /// <summary>For a program that will not start after all: its files and its place in the VFS are let go.</summary>
    public void Abandon()
    {
        Dispose();
        Location?.Node.Dispose();
    }
}

/// <summary>Reads a program file through the VFS: the opened file and where it is, or why not.</summary>
public delegate LoadFailure? ProgramReader(string path, out Vfs.ProgramData? program);

/// <summary>
/// Finds what execve runs: an ELF file, or a #! script whose interpreter (with its optional single
/// argument) runs with the script's path inserted in argv, as Linux's binfmt_script does. Every
/// failure is the errno execve returns (ENOENT, EACCES, ENOEXEC, ELIBBAD, E2BIG, EINVAL, ELOOP)
/// with one line for the user.
/// </summary>
public static class ProgramFile
{
    private const int ScriptDepthMaximum = 4;

    public static LoadFailure? Find(ProgramReader read, string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, out ProgramToRun? program)
    {
        program = null;
        if (ArgumentsTooLarge(arguments, environment) is { } tooLarge)
            return tooLarge;
        var argv = new List<string>(arguments);
        var buffer = new byte[Script.LineMaximum];
        string? script = null;
        for (var depth = 0; ; depth++)
        {
            if (read(path, out var file) is { } unreadable)
                return script is null ? unreadable : unreadable with { Message = $"{LoadFailure.Printable(script)}: bad interpreter: {unreadable.Message}" };
            var length = file!.File.ReadAt(0, buffer);
            var prefix = buffer.AsSpan(0, (int)Math.Max(0, length));
            if (!Script.HasMagic(prefix))
            {
                if (ParseImage(file.File, prefix, path, out var image) is { } bad)
                {
                    file.Release();
                    return bad;
                }
                if (OpenInterpreter(read, image!, path, out var interpreter) is { } badInterpreter)
                {
                    file.Release();
                    return badInterpreter;
                }
                program = new ProgramToRun(path, image!, argv)
                {
                    Location = file.Location,
                    ShownPath = file.ShownPath,
                    InterpreterImage = interpreter?.Image,
                    InterpreterShownPath = interpreter?.ShownPath ?? "",
                };
                return null;
            }
            file.Release();
            if (depth >= ScriptDepthMaximum)
                return new LoadFailure(Errno.ELOOP, $"{LoadFailure.Printable(path)}: too many levels of #! interpreters");
            if (Script.Parse(prefix, path, out var scriptInterpreter, out var argument) is { } badLine)
                return badLine;
            // argv[0] is replaced by the interpreter, its argument, and the script as named.
            var rewritten = new List<string> { scriptInterpreter };
            if (argument is not null)
                rewritten.Add(argument);
            rewritten.Add(path);
            rewritten.AddRange(argv.Skip(1));
            argv = rewritten;
            if (ArgumentsTooLarge(argv, environment) is { } rewrittenTooLarge)
                return rewrittenTooLarge;
            script = path;
            path = scriptInterpreter;
        }
    }

    /// <summary>An ELF or a.out file read by offset, or a Mach-O file read whole (its load commands point anywhere in it).</summary>
    private static LoadFailure? ParseImage(ExecutableFile file, ReadOnlySpan<byte> prefix, string path, out ElfImage? image)
    {
        image = null;
        if (AOutImage.MagicOf(prefix) is not null)
            return AOutImage.Parse(file, prefix, path, out image);
        if (!MachOImage.IsMachO(prefix))
            return ElfImage.Parse(file, path, out image);
        if (file.Length > MachOImage.SizeMaximum)
            return new LoadFailure(Errno.ENOEXEC, $"{LoadFailure.Printable(path)}: Mach-O file larger than {MachOImage.SizeMaximum >> 20} MiB");
        var data = file.Head(MachOImage.SizeMaximum);
        if ((ulong)data.Length != file.Length)
            return LoadFailure.From(Errno.EIO, path);
        var failure = MachOImage.Parse(file, data, path, out var parsed);
        image = parsed?.Image;
        return failure;
    }

    /// <summary>
    /// Opens and checks the PT_INTERP file. Linux wants an ELF executable or shared object for the
    /// same machine (ELIBBAD otherwise); Trapeze also refuses one that names an interpreter itself
    /// (PT_INTERP naming /bin/sh or /proc/self/exe): Linux would jump into it unrelocated and crash.
    /// </summary>
    private static LoadFailure? OpenInterpreter(ProgramReader read, ElfImage image, string path, out (ElfImage Image, string ShownPath)? interpreter)
    {
        interpreter = null;
        if (image.Interpreter is not { } name)
            return null;
        var prefix = $"{LoadFailure.Printable(path)}: interpreter {LoadFailure.Printable(name)}";
        if (read(name, out var file) is { } unreadable)
            return unreadable with { Message = $"{prefix}: {ErrnoMessages.Text[(int)unreadable.Errno]}" };
        // The interpreter's place in the VFS is not kept: only the program's is (/proc/PID/exe).
        file!.Location.Node.Dispose();
        LoadFailure? failure = null;
        if (ElfImage.Parse(file.File, name, out var parsed) is { } bad)
            failure = new LoadFailure(Errno.ELIBBAD, $"{prefix}: {bad.Message[(LoadFailure.Printable(name).Length + 2)..]}");
        else if (parsed!.Architecture != image.Architecture)
            failure = new LoadFailure(Errno.ELIBBAD, $"{prefix}: the interpreter is for {parsed.Architecture}, the program for {image.Architecture}");
        else if (parsed.Interpreter is not null)
            failure = new LoadFailure(Errno.ELIBBAD, $"{prefix}: not a program interpreter (it names an interpreter itself)");
        if (failure is not null)
        {
            file.File.Dispose();
            return failure;
        }
        interpreter = (parsed!, file.ShownPath);
        return null;
    }

    /// <summary>execve's limits: each string at most MAX_ARG_STRLEN, all of them at most a quarter of the stack.</summary>
    private static LoadFailure? ArgumentsTooLarge(IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        const long StringMaximum = 32 * 4096;
        long total = 0;
        foreach (var text in arguments.Concat(environment))
        {
            var bytes = Memory.GuestText.Encode(text).Length + 1L;
            if (bytes > StringMaximum)
                return new LoadFailure(Errno.E2BIG, "Argument list too long (one string is over 128 KiB)");
            total += bytes + 8;
        }
        return total > (long)(InitialStack.Size / 4) ? new LoadFailure(Errno.E2BIG, "Argument list too long") : null;
    }
}
