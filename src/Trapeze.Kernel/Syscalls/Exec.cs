using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Loader;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>What execve found to run; the run loop puts it in place of the old program.</summary>
public sealed class ExecRequest(ProgramToRun program, IPersonality personality, List<string> environment) : ControlOutcome("exec")
{
    public ProgramToRun Program { get; } = program;
    public IPersonality Personality { get; } = personality;
    public List<string> Environment { get; } = environment;
}

/// <summary>execve and execveat: a new program in the same process.</summary>
public static class ExecCalls
{
    /// <summary>Linux's limit on argv plus envp: a quarter of the 8 MiB default stack.</summary>
    private const long ArgumentBytesMaximum = 2 << 20;

    [Syscall("execve", Support = Support.Partial, Note = "ELF x86-64 and #! scripts; signal handlers are reset to their defaults")]
    public static Result Execve(GuestThread thread, CString path, [Argument(ArgumentKind.StringArray)] GuestAddress argv, [Argument(ArgumentKind.StringArray)] GuestAddress envp)
    {
        if (thread.Memory.ReadCString(path, out var text) is var fault and not Errno.None)
            return fault;
        return Execute(thread, text, argv, envp);
    }

    [Syscall("execveat", Support = Support.Partial, Note = "AT_FDCWD or absolute paths, and AT_EMPTY_PATH on a host file")]
    public static Result ExecveAt(GuestThread thread, [Argument(ArgumentKind.DirectoryFd)] int directory, CString path, [Argument(ArgumentKind.StringArray)] GuestAddress argv, [Argument(ArgumentKind.StringArray)] GuestAddress envp, AtFlags flags)
    {
        const int CurrentDirectory = -100;
        if (thread.Memory.ReadCString(path, out var text) is var fault and not Errno.None)
            return fault;
        if (text.Length == 0 && (flags & AtFlags.AT_EMPTY_PATH) != 0)
        {
            if (thread.Process.Files.Get(directory) is not { } file)
                return Errno.EBADF;
            text = Shown(thread, file);
        }
        else if (!text.StartsWith('/') && directory != CurrentDirectory)
        {
            if (thread.Process.Files.Get(directory) is not { } file)
                return Errno.EBADF;
            text = Shown(thread, file) + "/" + text;
        }
        return Execute(thread, text, argv, envp);
    }

    private static Result Execute(GuestThread thread, string path, GuestAddress argv, GuestAddress envp)
    {
        if (path.Length == 0)
            return Errno.ENOENT;
        var process = thread.Process;
        if (ReadStrings(thread, argv, out var arguments) is var argumentsFault and not Errno.None)
            return argumentsFault;
        if (ReadStrings(thread, envp, out var environment) is var environmentFault and not Errno.None)
            return environmentFault;
        if (arguments.Sum(a => (long)a.Length + 1) + environment.Sum(e => (long)e.Length + 1) > ArgumentBytesMaximum)
            return Errno.E2BIG;
        if (ProgramFile.Find((string name, out Vfs.ProgramData? data) => Vfs.KernelFileSystems.ReadProgram(thread, process.FileSystem, name, out data, thread.Kernel.FileSystems.Sysroot),
            path, arguments, environment, out var program) is { } failure)
            return failure.Errno;
        if (thread.Kernel.PersonalityFor(program!.Image, path, out var personality) is { } unsupported)
        {
            program.Abandon();
            return unsupported.Errno;
        }

        // The old image can only go outside the CPU engine, which may be running its code now.
        return Result.Exec(new ExecRequest(program, personality!, environment));
    }

    /// <summary>execve's second half, from the run loop: the point of no return.</summary>
    internal static void Complete(GuestThread thread, ExecRequest request)
    {
        var process = thread.Process;
        var kernel = thread.Kernel;
        var memory = process.MemoryContext;
        // A program for another CPU (an i386 program exec'd by an x86-64 one) gets a CPU of its kind.
        var personality = request.Personality;
        var shared = memory.Users > 1 || personality.Architecture != memory.Cpu.Architecture;
        var target = shared ? new MemoryContext(kernel.Platform, personality.Architecture) : memory;
        process.Personality = personality;
        process.BeginExec(thread, target);
        if (shared)
        {
            target.Adopt(thread);
        }
        else
        {
            // Unmapping drops the code translated from each region; a whole flush costs far more.
            target.Space.Clear();
        }
        ResetSignalHandlers(process);
        LoadFailure? failure;
        using (request.Program)
            failure = ProgramStart.Load(process, request.Program, request.Environment);
        if (failure is { } lost)
        {
            request.Program.Location?.Node.Dispose();
            kernel.Diagnostics.WriteLine($"trapeze: execve: {lost.Message}");
            process.Terminate(ExitStatus.Killed(Signal.SIGSEGV, "(execve failed after the old program was gone)"));
        }
    }

    /// <summary>The guest path of an open file, as the process sees it.</summary>
    private static string Shown(GuestThread thread, Files.OpenFile file)
        => file.GuestPath is { } bytes ? GuestText.Decode(Vfs.PathWalker.Show(bytes, thread.Process.FileSystem.Root.Path)) : file.Path;

    /// <summary>argv or envp; a NULL array is empty, as Linux takes it.</summary>
    private static Errno ReadStrings(GuestThread thread, GuestAddress array, out List<string> values)
    {
        values = [];
        return array.IsNull ? Errno.None : thread.Memory.ReadStringArray(array, out values, pointerSize: thread.Process.Personality.Structures.Model.WordSize);
    }

    /// <summary>Handlers do not survive exec (their code is gone); ignored signals stay ignored.</summary>
    private static void ResetSignalHandlers(Process process)
    {
        const ulong Ignore = 1; // SIG_IGN
        process.UnshareSignals();
        foreach (var action in process.SignalActions)
        {
            if (BitConverter.ToUInt64(action) != Ignore)
                Array.Clear(action);
        }
    }
}
