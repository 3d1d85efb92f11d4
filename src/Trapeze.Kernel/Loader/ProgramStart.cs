using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// A program checked and opened, ready to replace a process's image: execve's first half, which
/// can still fail with an errno for the caller. <see cref="Start"/> is the second half.
/// </summary>
public sealed class PreparedProgram : IDisposable
{
    private PreparedProgram(string name, string path, ElfImage image, ElfImage? interpreter, List<string> arguments, IReadOnlyList<string> environment)
    {
        Name = name;
        Path = path;
        Image = image;
        InterpreterImage = interpreter;
        Arguments = arguments;
        Environment = environment;
    }

    /// <summary>The path execve was given (AT_EXECFN, the process's command name).</summary>
    public string Name { get; }

    /// <summary>The ELF file that runs: <see cref="Name"/>, or the interpreter named by its #! line.</summary>
    public string Path { get; }

    /// <summary>argv as the program will see it (a #! line prepends its interpreter and argument).</summary>
    public IReadOnlyList<string> Arguments { get; }
    public IReadOnlyList<string> Environment { get; }

    internal ElfImage Image { get; }
    internal ElfImage? InterpreterImage { get; }

    public void Dispose()
    {
        Image.File.Dispose();
        InterpreterImage?.File.Dispose();
    }

    internal static LoadFailure? Create(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, out PreparedProgram? program)
    {
        program = null;
        if (ArgumentsTooLarge(arguments, environment) is { } tooLarge)
            return tooLarge;
        var argv = arguments.ToList();
        var file = path;
        var buffer = new byte[Script.LineMaximum];
        // Each #! line names another file to run; binfmt_script lets that go a few levels deep.
        for (var depth = 0; ; depth++)
        {
            if (ExecutableFile.Open(file, out var opened) is { } openFailure)
                return openFailure;
            var executable = opened!;
            var length = executable.ReadAt(0, buffer);
            var prefix = buffer.AsSpan(0, (int)Math.Max(0, length));
            if (!Script.HasMagic(prefix))
            {
                if (ElfImage.Parse(executable, file, out var image) is { } parseFailure)
                {
                    executable.Dispose();
                    return parseFailure;
                }
                if (LoadInterpreter(image!, file, out var interpreter) is { } interpreterFailure)
                {
                    executable.Dispose();
                    return interpreterFailure;
                }
                program = new PreparedProgram(path, file, image!, interpreter, argv, environment);
                return null;
            }
            executable.Dispose();
            if (depth >= 4)
                return new LoadFailure(Errno.ELOOP, $"{LoadFailure.Printable(path)}: too many levels of #! interpreters");
            if (Script.Parse(prefix, file, out var scriptInterpreter, out var argument) is { } scriptFailure)
                return scriptFailure;
            // The interpreter gets [interpreter, argument?, script path, the script's argv[1..]].
            var rewritten = new List<string> { scriptInterpreter };
            if (argument is not null)
                rewritten.Add(argument);
            rewritten.Add(file);
            rewritten.AddRange(argv.Skip(1));
            argv = rewritten;
            if (ArgumentsTooLarge(argv, environment) is { } rewrittenTooLarge)
                return rewrittenTooLarge;
            var scriptPath = file;
            file = scriptInterpreter;
            if (IsUnderProc(file))
                return new LoadFailure(Errno.ENOEXEC, $"{LoadFailure.Printable(scriptPath)}: bad interpreter {LoadFailure.Printable(file)}: under /proc");
            if (ExecutableFile.Open(file, out var probe) is { } missing)
                return missing with { Message = $"{LoadFailure.Printable(scriptPath)}: bad interpreter: {missing.Message}" };
            probe!.Dispose();
        }
    }

    /// <summary>
    /// Opens and checks the PT_INTERP file. Linux wants an x86-64 ELF executable or shared object
    /// (ELIBBAD otherwise); Trapeze also refuses one that names an interpreter itself (Linux would
    /// jump into it unrelocated and crash) and one under /proc, which on the host names Trapeze.
    /// </summary>
    private static LoadFailure? LoadInterpreter(ElfImage image, string path, out ElfImage? interpreter)
    {
        interpreter = null;
        if (image.Interpreter is not { } name)
            return null;
        var prefix = $"{LoadFailure.Printable(path)}: interpreter {LoadFailure.Printable(name)}";
        if (IsUnderProc(name))
            return new LoadFailure(Errno.ELIBBAD, $"{prefix}: not a program interpreter (under /proc)");
        if (ExecutableFile.Open(name, out var file) is { } openFailure)
            return openFailure with { Message = $"{prefix}: {ErrnoMessages.Text[(int)openFailure.Errno]}" };
        if (ElfImage.Parse(file!, name, out interpreter) is { } parseFailure)
        {
            file!.Dispose();
            return new LoadFailure(Errno.ELIBBAD, $"{prefix}: {parseFailure.Message[(LoadFailure.Printable(name).Length + 2)..]}");
        }
        if (interpreter!.Interpreter is not null)
        {
            file!.Dispose();
            interpreter = null;
            return new LoadFailure(Errno.ELIBBAD, $"{prefix}: not a program interpreter (it names an interpreter itself)");
        }
        return null;
    }

    /// <summary>The host's /proc names Trapeze's process, not the guest's: an interpreter there would be the wrong program.</summary>
    private static bool IsUnderProc(string path) => path == "/proc" || path.StartsWith("/proc/", StringComparison.Ordinal);

    /// <summary>execve's limits: each string at most MAX_ARG_STRLEN, all of them at most a quarter of the stack.</summary>
    private static LoadFailure? ArgumentsTooLarge(IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        const long StringMaximum = 32 * 4096;
        long total = 0;
        foreach (var text in arguments.Concat(environment))
        {
            var bytes = System.Text.Encoding.UTF8.GetByteCount(text) + 1L;
            if (bytes > StringMaximum)
                return new LoadFailure(Errno.E2BIG, "Argument list too long (one string is over 128 KiB)");
            total += bytes + 8;
        }
        return total > (long)(InitialStack.Size / 4) ? new LoadFailure(Errno.E2BIG, "Argument list too long") : null;
    }

    /// <summary>
    /// Puts the program into <paramref name="process"/>, whose address space must be empty:
    /// image, interpreter, vDSO, stack, registers. A failure here is past execve's point of no
    /// return (Linux then kills the process with SIGSEGV).
    /// </summary>
    public LoadFailure? Start(Process process)
    {
        var memory = process.Memory;
        var bias = Image.IsPositionIndependent ? ElfLoader.ProgramBase - Image.Start : 0;
        // Linux names a program by the file it opened: /proc/PID/exe and maps show the canonical path.
        var realPath = HostLinks.RealPath(Path) ?? System.IO.Path.GetFullPath(Path);
        if (ElfLoader.Load(Image, memory, bias, realPath, Path, out var program) is { } programFailure)
            return programFailure;

        var entry = program.Entry;
        ulong interpreterBase = 0;
        if (InterpreterImage is { } interpreter)
        {
            var name = HostLinks.RealPath(Image.Interpreter!) ?? Image.Interpreter!;
            if (interpreter.IsPositionIndependent)
            {
                if (ElfLoader.Fits(interpreter, 0, Image.Interpreter!) is { } tooLarge)
                    return tooLarge;
                if (process.AddressSpace.FindFree(interpreter.End - interpreter.Start) is not { } free)
                    return new LoadFailure(Errno.ENOMEM, $"{LoadFailure.Printable(Path)}: no room for the interpreter");
                interpreterBase = free - interpreter.Start;
            }
            if (ElfLoader.Load(interpreter, memory, interpreterBase, name, Image.Interpreter!, out var loaded) is { } interpreterFailure)
                return interpreterFailure;
            entry = loaded.Entry;
        }

        // Linux places the vDSO below the interpreter, top-down like any other mapping.
        if (Vdso.Map(memory) is not { } vdso || InitialStack.Create(memory) is not { } stack)
            return new LoadFailure(Errno.ENOMEM, $"{LoadFailure.Printable(Path)}: out of memory for the stack or vDSO");

        process.ExecutablePath = realPath;
        var command = System.IO.Path.GetFileName(Name);
        process.Command = command.Length > 15 ? command[..15] : command;
        process.BreakStart = process.Break = AddressSpace.PageUp(program.End);

        stack.AddAuxiliary(AuxiliaryVectorType.AT_SYSINFO_EHDR, vdso);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_HWCAP, X64CpuModel.Leaf1Edx);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PAGESZ, AddressSpace.PageSize);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_CLKTCK, 100);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PHDR, program.ProgramHeaders);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PHENT, Image.ProgramHeaderSize);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PHNUM, Image.ProgramHeaderCount);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_BASE, interpreterBase + (InterpreterImage?.Start ?? 0));
        stack.AddAuxiliary(AuxiliaryVectorType.AT_FLAGS, 0);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_ENTRY, program.Entry);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_UID, (ulong)HostIdentity.UserId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_EUID, (ulong)HostIdentity.EffectiveUserId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_GID, (ulong)HostIdentity.GroupId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_EGID, (ulong)HostIdentity.EffectiveGroupId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_SECURE, 0);
        var stackPointer = stack.Finish(Arguments, Environment, Name, HostRandom.GetBytes(16));
        process.Arguments = stack.Arguments;
        process.Environment = stack.Environment;
        process.AuxiliaryVector = stack.AuxiliaryVector;

        var cpu = process.Cpu;
        foreach (var register in Enum.GetValues<X64Register>())
        {
            if (register is not (X64Register.Rflags or X64Register.Rip))
                cpu.WriteRegister(register, 0);
        }
        cpu.WriteRegister(X64Register.Rsp, stackPointer);
        cpu.WriteRegister(X64Register.Rip, entry);
        cpu.WriteRegister(X64Register.Rflags, 0x202);

        process.WorkingDirectory = (int)HostSyscall.Invoke(HostSyscall.Openat, -100, HostStrings.Pin(".", out var handle), (long)(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC));
        handle.Free();
        process.WorkingDirectoryPath = System.Environment.CurrentDirectory;
        return null;
    }
}

/// <summary>The loader's entry points: what the CLI's first process and execve call.</summary>
public static class ProgramStart
{
    /// <summary>
    /// execve's checks, before anything of the calling process changes: opens the file (through
    /// #! lines), parses it and its interpreter, checks argument sizes. The errno is what execve
    /// returns: ENOENT, EACCES, ENOEXEC, ELIBBAD, E2BIG, EINVAL, ENOMEM, ELOOP.
    /// </summary>
    public static LoadFailure? Prepare(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, out PreparedProgram? program)
        => PreparedProgram.Create(path, arguments, environment, out program);

    /// <summary>Prepare and start in one step, for a fresh process.</summary>
    public static LoadFailure? Load(Process process, string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        if (Prepare(path, arguments, environment, out var program) is { } failure)
            return failure;
        using (program)
            return program!.Start(process);
    }
}
