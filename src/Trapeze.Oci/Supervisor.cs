using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Trapeze.Kernel;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Loader;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Oci;

/// <summary>
/// The container itself: a host process, started by create (or exec), in a session of its own,
/// holding the container's Trapeze kernel. It loads the program, tells create it is ready
/// (over an inherited pipe), waits on exec.fifo until `start` (as runc's init does), runs the
/// startContainer hooks in the container, then the program. Its pid is the container's pid,
/// and its exit status the program's (dying by the same signal), as engines expect of a
/// container's init.
/// </summary>
internal static class Supervisor
{
    public static readonly HashSet<string> Flags = ["bundle", "sync-fd", "console-socket", "preserve-fds", "process"];

    /// <summary>Signals a terminal sends to its foreground group; the rest go to the container's first process.</summary>
    private static readonly Signal[] TerminalSignals = [Signal.SIGINT, Signal.SIGQUIT, Signal.SIGHUP, Signal.SIGWINCH];
    private static readonly Signal[] FirstProcessSignals = [Signal.SIGTERM, Signal.SIGUSR1, Signal.SIGUSR2, Signal.SIGALRM];

    public static int Run(ContainerStore store, OciLog log, CommandArguments arguments)
    {
        var id = arguments.Id("supervise");
        var container = store.Find(id);
        var bundle = arguments.Value("bundle") ?? throw new OciException("supervise: --bundle is needed");
        if (!int.TryParse(arguments.Value("sync-fd"), CultureInfo.InvariantCulture, out var sync) || !Native.IsOpen(sync))
            throw new OciException("supervise is started by create and exec only");
        Native.SetCloseOnExec(sync);
        Native.SetSession();
        var processFile = arguments.Value("process");
        Kernel.Kernel kernel;
        Process first;
        ContainerPlan plan;
        try
        {
            plan = ContainerPlan.Build(bundle, container.ScratchDirectory, processFile is null ? null : ContainerPlan.ReadProcess(processFile), prepare: false);
            if (plan.Process.Terminal)
                AttachTerminal(plan, arguments.Value("console-socket"));
            kernel = NewKernel(plan, log, Descriptors(arguments.Value("preserve-fds")));
            first = StartProgram(kernel, plan);
        }
        catch (Exception error) when (error is OciException or IOException or UnauthorizedAccessException or JsonException or ArgumentException)
        {
            // create reports it, with its exit code; the container's own stderr stays the program's.
            Reply(sync, "error " + error.Message);
            return 1;
        }
        Reply(sync, "ok");
        if (processFile is null && !AwaitStart(container, plan, log))
            return 1;
        ExitStatus status;
        using (ForwardSignals(kernel))
            status = kernel.Run(first);
        kernel.Dispose();
        if (processFile is null)
            File.WriteAllText(container.ExitPath, JsonSerializer.Serialize(new SavedExit { Code = status.Code, Signal = (int?)status.Signal }, OciJson.Default.SavedExit));
        if (status.Signal is { } signal)
        {
            Console.Out.Flush();
            Native.DieBy((int)signal);
        }
        return status.Code;
    }

    /// <summary>
    /// Blocks on exec.fifo until `start` opens it, runs the startContainer hooks and answers
    /// `start` through the FIFO: "ok", or why the container will not run.
    /// </summary>
    private static bool AwaitStart(Container container, ContainerPlan plan, OciLog log)
    {
        var fifo = Native.OpenBlockingForWrite(container.FifoPath);
        var reply = "ok";
        try
        {
            var state = container.State();
            state.Status = "created";
            foreach (var hook in plan.Config.Hooks?.StartContainer ?? [])
                RunHookInContainer(plan, log, hook, state);
        }
        catch (OciException error)
        {
            reply = "error " + error.Message;
        }
        Native.WriteAll(fifo, Encoding.UTF8.GetBytes(reply));
        Native.Close(fifo);
        return reply == "ok";
    }

    /// <summary>A startContainer hook: its path is the container's, so it runs under a Trapeze kernel over the container's file system.</summary>
    private static void RunHookInContainer(ContainerPlan plan, OciLog log, HookConfig hook, ContainerState state)
    {
        var (read, write) = Native.Pipe(inheritWrite: false);
        Native.WriteAll(write, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(state, OciJson.Default.ContainerState)));
        Native.Close(write);
        try
        {
            using var kernel = NewKernel(plan, log, new Dictionary<int, int> { [0] = read, [1] = 1, [2] = 2 });
            Process process;
            try
            {
                process = kernel.Start(hook.Path, hook.Args is { Count: > 0 } args ? args : [hook.Path], hook.Env ?? []);
            }
            catch (ExecutableException error)
            {
                throw new OciException($"startContainer hook {hook.Path}: {error.Message}");
            }
            using var timer = hook.Timeout is int seconds && seconds > 0
                ? new Timer(_ => kernel.ForwardHostSignal(Signal.SIGKILL), null, seconds * 1000, Timeout.Infinite)
                : null;
            var status = kernel.Run(process);
            if (status.Code != 0 || status.Signal is not null)
                throw new OciException($"startContainer hook {hook.Path}: {(status.Signal is { } signal ? ExitStatus.Describe(signal) : $"exit status {status.Code}")}");
        }
        finally
        {
            Native.Close(read);
        }
    }

    private static Kernel.Kernel NewKernel(ContainerPlan plan, OciLog log, Dictionary<int, int> descriptors)
    {
        // Trapeze applies the guest's umask itself.
        Native.SetUmask(0);
        var user = plan.Process.User ?? new UserConfig();
        return new Kernel.Kernel(new KernelOptions
        {
            Platform = new Trapeze.Cpu.Unicorn.UnicornPlatform(),
            Diagnostics = log.Diagnostics,
            FileCreationMask = plan.Umask,
            MaximumProcesses = plan.MaximumProcesses,
            Layout = plan.Layout,
            HostName = plan.Config.Hostname,
            Network = plan.Network,
            InheritedDescriptors = descriptors,
        })
        { Credentials = new ContainerCredentials(user.Uid, user.Gid, [.. user.AdditionalGids ?? []]) };
    }

    /// <summary>The guest's descriptors: stdio, and with --preserve-fds N also 3 to 3+N-1 (as runc passes them).</summary>
    private static Dictionary<int, int> Descriptors(string? preserve)
    {
        var descriptors = new Dictionary<int, int> { [0] = 0, [1] = 1, [2] = 2 };
        if (preserve is not null && (!int.TryParse(preserve, CultureInfo.InvariantCulture, out var count) || count < 0))
            throw new OciException($"--preserve-fds {preserve}: not a count");
        for (var descriptor = 3; descriptor < 3 + (preserve is null ? 0 : int.Parse(preserve, CultureInfo.InvariantCulture)); descriptor++)
            descriptors[descriptor] = descriptor;
        return descriptors;
    }

    /// <summary>Loads process.args[0], looked up in the container's PATH when it has no '/'; the first process stays stopped until run.</summary>
    private static Process StartProgram(Kernel.Kernel kernel, ContainerPlan plan)
    {
        var name = plan.Process.Args![0];
        string? denied = null;
        foreach (var candidate in plan.ProgramCandidates())
        {
            try
            {
                var process = kernel.Start(candidate, plan.Process.Args, plan.Environment);
                foreach (var (resource, limit) in plan.Limits)
                    process.ResourceLimits[resource] = limit;
                return process;
            }
            catch (ExecutableException error)
            {
                if (error.Message.StartsWith("--root", StringComparison.Ordinal) || error.Message.StartsWith("--bind", StringComparison.Ordinal))
                    throw new OciException(error.Message);
                // As a shell: a missing file is "not found" (127), anything else "permission denied" (126).
                if (error.Failure.Errno != Errno.ENOENT)
                    denied ??= error.Message;
            }
        }
        // podman and CRI-O read these words to exit 126 or 127 as a shell does.
        throw new OciException(denied is not null
            ? $"exec: \"{name}\": permission denied ({denied})"
            : $"exec: \"{name}\": executable file not found in $PATH: No such file or directory");
    }

    /// <summary>terminal: true: a new pseudo-terminal is the program's stdio; its master goes to the engine over --console-socket.</summary>
    private static void AttachTerminal(ContainerPlan plan, string? consoleSocket)
    {
        if (consoleSocket is null)
            throw new OciException("process.terminal is true but no --console-socket was given");
        var (master, slave) = Native.OpenPty(plan.Process.ConsoleSize);
        try
        {
            Native.SendDescriptor(consoleSocket, master, "/dev/pts");
        }
        finally
        {
            Native.Close(master);
        }
        for (var descriptor = 0; descriptor <= 2; descriptor++)
            Native.Dup2(slave, descriptor);
        Native.Close(slave);
    }

    /// <summary>`kill` signals the supervisor; the program gets the signal instead of Trapeze ending.</summary>
    private static IDisposable ForwardSignals(Kernel.Kernel kernel)
    {
        var registrations = new List<PosixSignalRegistration>();
        foreach (var signal in TerminalSignals.Concat(FirstProcessSignals))
        {
            var toGroup = TerminalSignals.Contains(signal);
            registrations.Add(PosixSignalRegistration.Create((PosixSignal)(int)signal, context =>
            {
                context.Cancel = true;
                ThreadPool.UnsafeQueueUserWorkItem(_ =>
                {
                    if (toGroup)
                        kernel.ForwardHostSignal(signal);
                    else
                        kernel.SignalFirstProcess(signal);
                }, null);
            }));
        }
        return new Registrations(registrations);
    }

    private sealed class Registrations(List<PosixSignalRegistration> all) : IDisposable
    {
        public void Dispose()
        {
            foreach (var registration in all)
                registration.Dispose();
        }
    }

    private static void Reply(int sync, string text)
    {
        Native.WriteAll(sync, Encoding.UTF8.GetBytes(text));
        Native.Close(sync);
    }

    /// <summary>process.user: the ids the guest sees (files it makes on the host still belong to the host user running the runtime).</summary>
    private sealed class ContainerCredentials(uint uid, uint gid, uint[] groups) : KernelCredentials
    {
        public override uint UserId => uid;
        public override uint EffectiveUserId => uid;
        public override uint GroupId => gid;
        public override uint EffectiveGroupId => gid;
        public override uint[] Groups => groups;
    }
}
