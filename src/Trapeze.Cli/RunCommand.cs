using System.CommandLine;
using Trapeze.Kernel;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Loader;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Cli;

/// <summary>`trapeze run [options] PROGRAM [ARGS...]`: the exit code is the guest's.</summary>
internal static class RunCommand
{
    public const int NotFound = 127;
    public const int CannotExecute = 126;
    public const int UsageError = CommandLine.UsageError;

    public static Command Create()
    {
        var program = new Argument<string>("PROGRAM") { Description = "The program to run" };
        var arguments = new Argument<string[]>("ARGS") { Description = "Its arguments", Arity = ArgumentArity.ZeroOrMore };
        var set = new Option<string[]>("-E") { HelpName = "VAR=VALUE", Description = "Set VAR=VALUE in the guest's environment (repeatable)" };
        var unset = new Option<string[]>("-U") { HelpName = "VAR", Description = "Remove VAR from the guest's environment (repeatable)" };
        var argv0 = new Option<string?>("--argv0") { HelpName = "NAME", Description = "argv[0] for the guest (default: PROGRAM)" };
        var reportUnsupported = new Option<bool>("--report-unsupported") { Description = "Name each unsupported syscall once on stderr" };
        var maxProcesses = new Option<int>("--max-processes") { Description = "Guest processes alive at once at most; fork beyond it fails with EAGAIN", DefaultValueFactory = _ => 1024, HelpName = "N" };
        var memory = new Option<string?>("--memory") { HelpName = "BYTES", Description = "Each guest process's address space at most this size (RLIMIT_AS; k, m, g suffixes): mmap and brk past it fail with ENOMEM" };
        var maxOpenFiles = new Option<int?>("--max-open-files") { HelpName = "N", Description = "Descriptors per guest process at most (RLIMIT_NOFILE): open past it fails with EMFILE" };
        var timeout = new Option<double?>("--timeout") { HelpName = "SECONDS", Description = $"Kill the whole guest after SECONDS; trapeze then exits {TimedOut}, as timeout(1) does" };
        var debugInternal = new Option<bool>("--debug-internal") { Description = "Print the full report of an internal error" };
        var network = new Option<string>("--net") { Description = "host: inet sockets are host sockets; none: loopback and AF_UNIX only, inside Trapeze", DefaultValueFactory = _ => "host", HelpName = "host|none" };
        network.AcceptOnlyFromAmong("host", "none");
        var personality = new Option<string?>("--personality") { Description = "Run every program as this system's: linux, freebsd, darwin or sunos4 (default: what the file says)" };
        personality.AcceptOnlyFromAmong("linux", "freebsd", "darwin", "sunos4");
        var gdb = new Option<string?>("--gdb") { HelpName = "HOST:PORT|PATH", Description = "Stop before the first instruction and wait for gdb on a TCP address or a Unix socket path" };
        var deterministic = new Option<bool>("--deterministic") { Description = "The same output on every run: a virtual clock moved by guest progress, seeded random bytes, pids from 1000, scheduling by progress" };
        var seed = new Option<ulong>("--seed") { HelpName = "N", Description = "The seed of --deterministic's random bytes (default 0)" };
        var command = new Command("run", "Run a program under Trapeze") { program, arguments, set, unset, argv0, reportUnsupported, maxProcesses, memory, maxOpenFiles, timeout, debugInternal, network, personality, gdb, deterministic, seed };
        var layout = FileSystemOptions.AddTo(command);
        var platform = PlatformOption.AddTo(command, deterministic);
        command.SetAction(result =>
        {
            if (layout(result, out var layoutError) is not { } fileSystem)
            {
                Console.Error.WriteLine($"trapeze: {layoutError}");
                return UsageError;
            }
            if (ReadLimits(result.GetValue(memory), result.GetValue(maxOpenFiles), result.GetValue(timeout), out var memoryLimit, out var limitError) is not { } limits)
            {
                Console.Error.WriteLine($"trapeze: {limitError}");
                return UsageError;
            }
            if (platform(result, out var platformError) is not { } chosen)
            {
                Console.Error.WriteLine($"trapeze: {platformError}");
                return UsageError;
            }
            if (result.GetValue(gdb) is not null && chosen.Name != "unicorn")
            {
                Console.Error.WriteLine("trapeze: --gdb needs --platform unicorn: the debugger's breakpoints and steps are the emulator's");
                return UsageError;
            }
            var options = new KernelOptions
            {
                MemoryLimit = memoryLimit,
                MaximumOpenFiles = limits.OpenFiles,
                Platform = chosen,
                Deterministic = result.GetValue(deterministic),
                Seed = result.GetValue(seed),
                ReportUnsupported = result.GetValue(reportUnsupported),
                FileCreationMask = HostProcess.TakeFileCreationMask(),
                MaximumProcesses = Math.Max(1, result.GetValue(maxProcesses)),
                DebugInternal = result.GetValue(debugInternal),
                Layout = fileSystem,
                Network = result.GetValue(network) == "none" ? Trapeze.Kernel.Net.NetworkMode.None : Trapeze.Kernel.Net.NetworkMode.Host,
                Personality = result.GetValue(personality) is { } name ? Trapeze.Kernel.Loader.ProgramOsDetector.FromName(name) : null,
            };
            var environment = GuestEnvironment.Build(result.GetValue(set) ?? [], result.GetValue(unset) ?? []);
            var path = result.GetValue(program)!;
            var argv = new List<string> { result.GetValue(argv0) ?? path };
            argv.AddRange(result.GetValue(arguments) ?? []);
            return Execute(options, path, argv, environment, limits.Timeout, result.GetValue(gdb));
        });
        return command;
    }

    /// <summary>timeout(1)'s status when the time ran out.</summary>
    public const int TimedOut = 124;

    private readonly record struct RunLimits(int? OpenFiles, TimeSpan? Timeout);

    /// <summary>--memory, --max-open-files and --timeout checked; null with a one-line message when one is out of range.</summary>
    private static RunLimits? ReadLimits(string? memory, int? openFiles, double? seconds, out ulong? memoryLimit, out string error)
    {
        memoryLimit = null;
        error = "";
        if (memory is not null)
        {
            if (Trapeze.Kernel.Vfs.TmpFsMount.ParseSize(memory) is not { } bytes || bytes <= 0)
            {
                error = $"--memory {memory}: expected a size in bytes, e.g. 512m or 2g";
                return null;
            }
            memoryLimit = (ulong)bytes;
        }
        if (openFiles is < 3 or > 1024 * 1024)
        {
            error = $"--max-open-files {openFiles}: expected 3 to 1048576 (the guest needs 0, 1 and 2)";
            return null;
        }
        if (seconds is { } timeout && (double.IsNaN(timeout) || timeout <= 0 || timeout > int.MaxValue / 1000))
        {
            error = $"--timeout {seconds}: expected a positive number of seconds";
            return null;
        }
        return new RunLimits(openFiles, seconds is { } value ? TimeSpan.FromSeconds(value) : null);
    }

    /// <summary>What record and replay add to a run: a look at the kernel before it starts, and the last word on the exit status.</summary>
    public sealed class RunHooks
    {
        public Action<Kernel.Kernel>? Prepare { get; init; }
        public Func<ExitStatus, int?>? Ended { get; init; }
        public bool ForwardSignals { get; init; } = true;

        /// <summary>A replay: the gdb stub goes backwards over it.</summary>
        public Trapeze.Kernel.Record.Replayer? Replay { get; init; }
    }

    public static int Execute(KernelOptions options, string path, List<string> argv, List<string> environment, TimeSpan? timeout = null, string? gdbAddress = null, RunHooks? hooks = null)
    {
        using var kernel = new Kernel.Kernel(options);
        hooks?.Prepare?.Invoke(kernel);
        using var forwarding = hooks is { ForwardSignals: false } ? null : kernel.ForwardHostSignals();
        var timedOut = 0;
        using var timer = timeout is { } limit
            ? new Timer(_ =>
            {
                Interlocked.Exchange(ref timedOut, 1);
                kernel.KillAll();
            }, null, limit, Timeout.InfiniteTimeSpan)
            : null;
        ExitStatus status;
        Trapeze.Debugger.GdbServer? gdb = null;
        try
        {
            if (gdbAddress is null)
            {
                status = kernel.Run(path, argv, environment);
            }
            else
            {
                try
                {
                    gdb = Trapeze.Debugger.GdbServer.Start(kernel, gdbAddress, hooks?.Replay);
                }
                catch (Exception error) when (error is System.Net.Sockets.SocketException or IOException or FormatException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"trapeze: --gdb {gdbAddress}: {error.Message}");
                    return UsageError;
                }
                var process = kernel.Start(path, argv, environment);
                gdb.Attach(process);
                Console.Error.WriteLine($"trapeze: waiting for gdb on {gdbAddress}");
                status = kernel.Run(process);
            }
        }
        catch (ExecutableException error)
        {
            // A shell's convention: 127 when the program is missing, 126 when it cannot be run.
            Console.Error.WriteLine($"trapeze: {error.Failure.Message}");
            return error.Failure.Errno == Errno.ENOENT ? NotFound : CannotExecute;
        }
        finally
        {
            gdb?.Dispose();
        }
        if (hooks?.Ended?.Invoke(status) is { } decided)
            return decided;
        if (Volatile.Read(ref timedOut) == 1 && status.Signal == Signal.SIGKILL)
        {
            Console.Error.WriteLine($"trapeze: {path}: timed out after {timeout!.Value.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s (--timeout); every guest process was killed");
            return TimedOut;
        }
        // As shells do, a death by SIGINT (the user's Ctrl-C) or SIGPIPE (a reader that went away) goes unreported.
        if (status.Signal is { } signal && signal is not (Signal.SIGINT or Signal.SIGPIPE))
            Console.Error.WriteLine($"trapeze: {path}: {ExitStatus.Describe(signal)}{(status.Detail is { } detail ? " " + detail : "")}");
        return status.Code;
    }
}

/// <summary>The guest's environment: Trapeze's own, in the order Trapeze got it, edited like qemu-user's -E / -U.</summary>
internal static class GuestEnvironment
{
    public static List<string> Build(IEnumerable<string> set, IEnumerable<string> unset)
    {
        var variables = Inherited();
        foreach (var name in unset)
            variables.RemoveAll(v => NameOf(v) == name);
        foreach (var assignment in set)
        {
            var name = NameOf(assignment);
            var entry = assignment.Contains('=') ? assignment : assignment + "=";
            // setenv(3) replaces a variable where it stands; a new one goes at the end.
            var index = variables.FindIndex(v => NameOf(v) == name);
            if (index < 0)
            {
                variables.Add(entry);
                continue;
            }
            variables[index] = entry;
            for (var later = variables.Count - 1; later > index; later--)
            {
                if (NameOf(variables[later]) == name)
                    variables.RemoveAt(later);
            }
        }
        return variables;
    }

    private static string NameOf(string entry) => entry.IndexOf('=') is >= 0 and var equals ? entry[..equals] : entry;

    /// <summary>
    /// The environment exactly as this process received it: /proc/self/environ keeps the order
    /// (and duplicates) of the block exec gave us, which .NET's dictionary of variables loses.
    /// </summary>
    private static List<string> Inherited()
    {
        try
        {
            var block = File.ReadAllBytes("/proc/self/environ");
            return System.Text.Encoding.UTF8.GetString(block).Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            var variables = new List<string>();
            foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
                variables.Add($"{entry.Key}={entry.Value}");
            return variables;
        }
    }
}

/// <summary>The guest's file system on the command line: --root, --bind, --tmpfs, --ro, --cwd.</summary>
internal static class FileSystemOptions
{
    /// <summary>Reads the layout from a parsed command line; null with a one-line message when an option is malformed.</summary>
    public delegate Trapeze.Kernel.Vfs.FileSystemLayout? LayoutReader(ParseResult result, out string error);

    public static LayoutReader AddTo(Command command)
    {
        var root = new Option<string?>("--root") { HelpName = "DIR", Description = "Host directory that is the guest's / (default /)" };
        var bind = new Option<string[]>("--bind") { HelpName = "HOST:GUEST[:ro]", Description = "HOST:GUEST[:ro]: show a host directory at a guest path (repeatable)" };
        var tmpfs = new Option<string[]>("--tmpfs") { HelpName = "GUEST[:size=N,nr_inodes=N,mode=M,ro]", Description = "GUEST[:size=N,nr_inodes=N,mode=M,ro]: an empty in-memory file system at a guest path (repeatable)" };
        var readOnly = new Option<bool>("--ro") { Description = "The whole root file system read-only" };
        var cwd = new Option<string?>("--cwd") { HelpName = "DIR", Description = "The guest's working directory (a guest path)" };
        command.Options.Add(root);
        command.Options.Add(bind);
        command.Options.Add(tmpfs);
        command.Options.Add(readOnly);
        var sysroot = new Option<string?>("--sysroot") { Description = "Host directory searched first for every absolute path that names a file, as qemu-user's -L (a foreign architecture's ld.so and libraries)" };
        command.Options.Add(cwd);
        command.Options.Add(sysroot);
        return (ParseResult result, out string error) =>
        {
            error = "";
            var binds = new List<Trapeze.Kernel.Vfs.BindMount>();
            foreach (var text in result.GetValue(bind) ?? [])
            {
                var parts = text.Split(':');
                if (parts.Length is < 2 or > 3 || (parts.Length == 3 && parts[2] != "ro"))
                {
                    error = $"--bind {text}: expected HOST:GUEST[:ro]";
                    return null;
                }
                binds.Add(new(Path.GetFullPath(parts[0]), parts[1], parts.Length == 3));
            }
            var memory = new List<Trapeze.Kernel.Vfs.TmpFsMount>();
            foreach (var text in result.GetValue(tmpfs) ?? [])
            {
                var colon = text.IndexOf(':');
                var guest = colon < 0 ? text : text[..colon];
                if (!guest.StartsWith('/'))
                {
                    error = $"--tmpfs {text}: expected an absolute GUEST[:OPTIONS]";
                    return null;
                }
                memory.Add(Trapeze.Kernel.Vfs.TmpFsMount.Parse(guest, colon < 0 ? "" : text[(colon + 1)..], out var optionError));
                if (optionError is not null)
                {
                    error = optionError;
                    return null;
                }
            }
            var rootPath = result.GetValue(root);
            return new Trapeze.Kernel.Vfs.FileSystemLayout
            {
                Root = rootPath is null ? "/" : Path.GetFullPath(rootPath),
                ReadOnly = result.GetValue(readOnly),
                Binds = binds,
                TmpFs = memory,
                WorkingDirectory = result.GetValue(cwd),
                Sysroot = result.GetValue(sysroot) is { } directory ? Path.GetFullPath(directory) : null,
            };
        };
    }
}
