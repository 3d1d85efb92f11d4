using Trapeze.Cpu;
using Trapeze.Cpu.Unicorn;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Loader;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel;

public sealed class KernelOptions
{
    /// <summary>Where Trapeze's own messages go (never the guest's stderr descriptor).</summary>
    public TextWriter Diagnostics { get; init; } = Console.Error;

    /// <summary>Name each unsupported syscall once on <see cref="Diagnostics"/>.</summary>
    public bool ReportUnsupported { get; init; }

    /// <summary>
    /// The first process's umask. Trapeze applies the guest's umask itself, so the host process
    /// should run with umask 0 (the CLI sets that) or files get both masks.
    /// </summary>
    public uint FileCreationMask { get; init; } = 0b000_010_010; // 022

    /// <summary>
    /// The first process's descriptors: guest number -> host descriptor (duplicated), as exec
    /// passes open descriptors on. By default, those the host process itself inherited, at their
    /// own numbers: every descriptor without close-on-exec (Trapeze and .NET open all of theirs
    /// close-on-exec), so `trapeze run prog 3&lt;file` gives the guest its descriptor 3.
    /// </summary>
    public IReadOnlyDictionary<int, int>? InheritedDescriptors { get; init; }

    /// <summary>Sees every syscall at the dispatch point (the tracer); <see cref="Kernel.Tracer"/> can change it later.</summary>
    public ISyscallTracer? Tracer { get; init; }
}

/// <summary>
/// One Trapeze kernel: its processes and options. Nothing is global, so tests can run many
/// kernels side by side in one host process.
/// </summary>
public sealed class Kernel(KernelOptions options) : IDisposable
{
    private readonly HashSet<string> reportedUnsupported = [];
    private readonly List<Process> processes = [];
    private int nextProcessId = Environment.ProcessId;

    public KernelOptions Options => options;
    public TextWriter Diagnostics => options.Diagnostics;

    /// <summary>
    /// Hooks at the dispatch point for every syscall of every process of this kernel; null (the
    /// default) costs one check per syscall. See <see cref="SyscallHooks"/> for scripting.
    /// </summary>
    public ISyscallTracer? Tracer { get; set; } = options.Tracer;
    public LinuxX64Personality LinuxX64 { get; } = new();

    /// <summary>The guest processes this kernel runs (what /proc lists).</summary>
    public IReadOnlyList<Process> Processes => processes;

    public Process? FindProcess(int id) => processes.Find(process => process.Id == id && process.Exit is null);

    /// <summary>Runs a program to its end and returns how it ended.</summary>
    public ExitStatus Run(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        using var process = Start(path, arguments, environment);
        var status = process.Run();
        Tracer?.ProcessExited(process, status);
        return status;
    }

    /// <summary>
    /// Creates a process running <paramref name="path"/>, stopped at its first instruction; an
    /// <see cref="ExecutableException"/> (with the errno execve would give) when it cannot start.
    /// </summary>
    public Process Start(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        if (ProgramStart.Prepare(path, arguments, environment, out var program) is { } failure)
            throw new ExecutableException(failure);
        using var prepared = program!;
        // The first guest process stands in for the host process: its parent is Trapeze's parent.
        var parent = (int)HostSyscall.Invoke(HostSyscall.Getppid);
        var process = new Process(this, nextProcessId++, parent, LinuxX64, events => new UnicornX64Cpu(events));
        process.FileCreationMask = options.FileCreationMask;
        processes.Add(process);
        try
        {
            if (prepared.Start(process) is { } startFailure)
                throw new ExecutableException(startFailure);
            InheritFiles(process, options.InheritedDescriptors ?? InheritableHostDescriptors());
            Tracer?.ProcessStarted(process, path, arguments, environment);
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    internal void ReportUnsupported(string name, string reason)
    {
        if (options.ReportUnsupported && reportedUnsupported.Add(name))
            Diagnostics.WriteLine($"trapeze: unsupported syscall {name}{(reason.Length > 0 ? ": " + reason : "")}");
    }

    public void Dispose()
    {
        foreach (var process in processes)
            process.Dispose();
        processes.Clear();
    }

    /// <summary>
    /// The host process's descriptors that are not close-on-exec, each at its own number.
    /// Listed with getdents64 directly: this runs at every start, and .NET's directory
    /// enumeration costs milliseconds of JIT there.
    /// </summary>
    private static unsafe Dictionary<int, int> InheritableHostDescriptors()
    {
        const long CloseOnExec = 1; // FD_CLOEXEC
        var inherited = new Dictionary<int, int>();
        var path = HostStrings.Pin("/proc/self/fd", out var handle);
        var directory = HostSyscall.Invoke(HostSyscall.Openat, HostPath.CurrentDirectory, path, (long)(OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC));
        handle.Free();
        if (directory < 0)
            return new Dictionary<int, int> { [0] = 0, [1] = 1, [2] = 2 };
        var buffer = stackalloc byte[4096];
        long length;
        while ((length = HostSyscall.Invoke(HostSyscall.Getdents64, directory, (long)buffer, 4096)) > 0)
        {
            for (var offset = 0; offset < length; offset += *(ushort*)(buffer + offset + 16))
            {
                // linux_dirent64: d_ino, d_off, d_reclen, d_type, then the NUL-terminated name.
                var name = buffer + offset + 19;
                var fd = 0;
                var digits = 0;
                for (; name[digits] is >= (byte)'0' and <= (byte)'9'; digits++)
                    fd = fd * 10 + (name[digits] - '0');
                if (digits == 0 || name[digits] != 0 || fd == directory)
                    continue;
                var flags = HostSyscall.Invoke(HostSyscall.Fcntl, fd, (long)FcntlCommand.F_GETFD);
                if (flags >= 0 && (flags & CloseOnExec) == 0)
                    inherited[fd] = fd;
            }
        }
        HostSyscall.Invoke(HostSyscall.Close, directory);
        return inherited;
    }

    /// <summary>The guest's descriptors are its own duplicates of the host's, so closing them leaves Trapeze's intact.</summary>
    private static void InheritFiles(Process process, IReadOnlyDictionary<int, int> descriptors)
    {
        foreach (var (guestFd, hostFd) in descriptors)
        {
            var copy = HostSyscall.Invoke(HostSyscall.Fcntl, hostFd, (long)FcntlCommand.F_DUPFD_CLOEXEC, 3);
            if (copy < 0)
                continue;
            var flags = (OpenFlags)HostSyscall.Invoke(HostSyscall.Fcntl, copy, (long)FcntlCommand.F_GETFL);
            var file = new HostFile((int)copy, $"/dev/fd/{guestFd}", flags);
            if (process.Files.Replace(guestFd, file, closeOnExec: false).IsError)
                file.Release(); // beyond the guest's descriptor limit: it does not get this one
        }
    }
}
