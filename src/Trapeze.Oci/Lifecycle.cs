using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Oci;

/// <summary>
/// The runtime's operations (runtime.md "Operations"): each call is a separate process, so
/// everything a later call needs is in the container's directory of the store, and the running
/// container is its supervisor, a host process holding its Trapeze kernel.
/// </summary>
internal static class Lifecycle
{
    public static readonly HashSet<string> CreateFlags = ["bundle", "b", "pid-file", "console-socket", "preserve-fds"];
    public static readonly HashSet<string> ExecFlags = ["console-socket", "cwd", "env", "e", "user", "u", "additional-gids", "g", "process", "p", "pid-file", "process-label", "apparmor", "cap", "c", "preserve-fds", "cgroup"];

    /// <summary>How long create waits for the supervisor to load the program.</summary>
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    public static int Create(ContainerStore store, OciLog log, CommandArguments arguments)
    {
        var id = arguments.Id("create");
        var bundle = Path.GetFullPath(arguments.Value("bundle", "b") ?? ".");
        var container = store.Reserve(id);
        Process? supervisor = null;
        try
        {
            var plan = ContainerPlan.Build(bundle, container.ScratchDirectory, null, prepare: true);
            foreach (var note in plan.Notes)
                log.Debug(note);
            Native.MakeFifo(container.FifoPath);
            supervisor = Spawn(store, log, id, bundle, arguments, processFile: null);
            var saved = new SavedContainer
            {
                Id = id,
                Bundle = bundle,
                Rootfs = plan.Rootfs,
                Pid = supervisor.Id,
                PidStartTime = Container.ProcessStartTime(supervisor.Id) ?? 0,
                Created = DateTime.UtcNow,
                Annotations = plan.Config.Annotations ?? [],
            };
            container.Save(saved);
            var state = container.State();
            state.Status = "creating";
            Hooks.RunOnHost("prestart", plan.Config.Hooks?.Prestart, state);
            Hooks.RunOnHost("createRuntime", plan.Config.Hooks?.CreateRuntime, state);
            Hooks.RunOnHost("createContainer", plan.Config.Hooks?.CreateContainer, state);
            WritePidFile(arguments.Value("pid-file"), supervisor.Id);
            return 0;
        }
        catch
        {
            if (supervisor is not null)
            {
                Native.Kill(supervisor.Id, (int)Signal.SIGKILL);
                supervisor.WaitForExit(5000);
            }
            Directory.Delete(container.Directory, recursive: true);
            throw;
        }
    }

    public static int Start(ContainerStore store, OciLog log, CommandArguments arguments)
    {
        var container = store.Find(arguments.Id("start"));
        var saved = container.Saved;
        var status = container.Status(saved);
        if (status != "created")
            throw new OciException($"cannot start a container that is {status} (only a created one)");
        var fifo = Native.Open(container.FifoPath, Native.O_RDONLY | Native.O_NONBLOCK);
        string reply;
        try
        {
            reply = ReadReply(fifo, saved!.Pid, saved.PidStartTime, Timeout.InfiniteTimeSpan);
        }
        finally
        {
            Native.Close(fifo);
        }
        File.Delete(container.FifoPath);
        if (reply != "ok")
            throw new OciException(reply.StartsWith("error ", StringComparison.Ordinal) ? reply[6..] : "the container ended before it started");
        var config = TryReadConfig(saved.Bundle);
        Hooks.RunOnHostWarning("poststart", config?.Hooks?.Poststart, container.State(), log);
        return 0;
    }

    public static int State(ContainerStore store, CommandArguments arguments)
    {
        var state = store.Find(arguments.Id("state")).State();
        Console.Out.WriteLine(JsonSerializer.Serialize(state, Indented.ContainerState));
        return 0;
    }

    public static int Kill(ContainerStore store, CommandArguments arguments)
    {
        var container = store.Find(arguments.Id("kill"));
        var signal = ParseSignal(arguments.Positional.Count > 1 ? arguments.Positional[1] : "SIGTERM");
        var saved = container.Saved;
        var status = container.Status(saved);
        if (status is not ("created" or "running" or "paused"))
            throw new OciException($"cannot kill container \"{container.Id}\": it is {status}");
        if (arguments.Has("all", "a"))
        {
            foreach (var exec in saved!.Execs)
                Native.Kill(exec, signal);
        }
        if (Native.Kill(saved!.Pid, signal) is { } error)
            throw new OciException($"kill {container.Id}: {error}");
        return 0;
    }

    /// <summary>pause and resume: the whole container, its Trapeze kernel included, stops (SIGSTOP) and continues.</summary>
    public static int Pause(ContainerStore store, CommandArguments arguments, bool pause)
    {
        var container = store.Find(arguments.Id(pause ? "pause" : "resume"));
        var saved = container.Saved;
        var status = container.Status(saved);
        if (status != (pause ? "running" : "paused"))
            throw new OciException($"cannot {(pause ? "pause" : "resume")} container \"{container.Id}\": it is {status}");
        if (Native.Kill(saved!.Pid, (int)(pause ? Signal.SIGSTOP : Signal.SIGCONT)) is { } error)
            throw new OciException($"{(pause ? "pause" : "resume")} {container.Id}: {error}");
        return 0;
    }

    public static int Delete(ContainerStore store, OciLog log, CommandArguments arguments)
    {
        var id = arguments.Id("delete");
        var force = arguments.Has("force", "f");
        Container container;
        try
        {
            container = store.Find(id);
        }
        catch (OciException) when (force)
        {
            return 0;
        }
        var saved = container.Saved;
        var status = container.Status(saved);
        if (status is "created" or "running" or "paused")
        {
            if (!force)
                throw new OciException($"cannot delete container \"{id}\" that is not stopped: {status}");
            foreach (var exec in saved!.Execs)
                Native.Kill(exec, (int)Signal.SIGKILL);
            Native.Kill(saved.Pid, (int)Signal.SIGKILL);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Container.IsSupervisor(saved.Pid, saved.PidStartTime) && DateTime.UtcNow < deadline)
                Thread.Sleep(10);
        }
        var state = container.State();
        state.Status = "stopped";
        state.Pid = 0;
        Directory.Delete(container.Directory, recursive: true);
        if (saved is not null)
            Hooks.RunOnHostWarning("poststop", TryReadConfig(saved.Bundle)?.Hooks?.Poststop, state, log);
        return 0;
    }

    /// <summary>create, start, and (unless --detach) wait for the end, delete, and exit with the container's status.</summary>
    public static int Run(ContainerStore store, OciLog log, CommandArguments arguments)
    {
        var id = arguments.Id("run");
        if (Create(store, log, arguments) != 0)
            return 1;
        Start(store, log, CommandArguments.Parse([id], []));
        if (arguments.Has("detach", "d"))
            return 0;
        var container = store.Find(id);
        var saved = container.Saved!;
        while (Container.IsSupervisor(saved.Pid, saved.PidStartTime))
            Thread.Sleep(20);
        var exit = container.Exit;
        if (!arguments.Has("keep"))
            Delete(store, log, CommandArguments.Parse([id], []));
        return exit is null ? 137 : exit.Signal is { } signal ? 128 + signal : exit.Code;
    }

    /// <summary>
    /// exec: the process runs under a Trapeze kernel of its own over the container's file system
    /// (its root and mounts), as a host process that is the exec's pid.
    /// </summary>
    public static int Exec(ContainerStore store, OciLog log, CommandArguments arguments)
    {
        var container = store.Find(arguments.Id("exec"));
        var saved = container.Saved;
        var status = container.Status(saved);
        if (status != "running")
            throw new OciException($"cannot exec in a container that is {status}");
        var process = arguments.Value("process", "p") is { } file ? ContainerPlan.ReadProcess(file) : ProcessFromFlags(saved!, arguments);
        var processFile = Path.Combine(container.Directory, $"exec-{Guid.NewGuid():N}.json");
        File.WriteAllText(processFile, JsonSerializer.Serialize(process, OciJson.Default.ProcessConfig));
        try
        {
            var child = Spawn(store, log, container.Id, saved!.Bundle, arguments, processFile);
            saved.Execs.RemoveAll(pid => !Native.Alive(pid));
            saved.Execs.Add(child.Id);
            container.Save(saved);
            WritePidFile(arguments.Value("pid-file"), child.Id);
            if (arguments.Has("detach", "d"))
                return 0;
            child.WaitForExit();
            return child.ExitCode;
        }
        finally
        {
            // The supervisor read it before it said it was ready.
            File.Delete(processFile);
        }
    }

    public static int Ps(ContainerStore store, CommandArguments arguments)
    {
        var container = store.Find(arguments.Id("ps"));
        var saved = container.Saved;
        var pids = new List<int>();
        if (saved is not null && container.Status(saved) is "created" or "running" or "paused")
            pids.Add(saved.Pid);
        pids.AddRange(saved?.Execs.Where(Native.Alive) ?? []);
        if (arguments.Value("format", "f") == "json")
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(pids, OciJson.Default.ListInt32));
            return 0;
        }
        Console.Out.WriteLine("PID CMD");
        foreach (var pid in pids)
        {
            var command = File.Exists($"/proc/{pid}/cmdline") ? File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim() : "?";
            Console.Out.WriteLine($"{pid} {command}");
        }
        return 0;
    }

    public static int List(ContainerStore store, CommandArguments arguments)
    {
        var states = store.All().Select(container => container.State()).ToList();
        if (arguments.Value("format", "f") == "json")
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(states, OciJson.Default.ListContainerState));
            return 0;
        }
        var table = new StringBuilder("ID\tPID\tSTATUS\tBUNDLE\n");
        foreach (var state in states)
            table.Append(CultureInfo.InvariantCulture, $"{state.Id}\t{state.Pid}\t{state.Status}\t{state.Bundle}\n");
        Console.Out.Write(table.ToString());
        return 0;
    }

    public static int Features()
    {
        var features = new Features
        {
            Hooks = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
            MountOptions = ["bind", "rbind", "ro", "rw", "mode", "nosuid", "nodev", "noexec", "private", "rprivate", "size"],
            Linux = new LinuxFeatures { Namespaces = ["pid", "ipc", "mount", "uts", "network", "user", "cgroup"] },
            Annotations = new() { ["org.trapeze.runtime"] = "a container is one Trapeze kernel: no host namespaces, cgroups or seccomp are used" },
        };
        Console.Out.WriteLine(JsonSerializer.Serialize(features, Indented.Features));
        return 0;
    }

    /// <summary>A signal by number, or by name with or without SIG (kill(1) style).</summary>
    public static int ParseSignal(string text)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            if (number is < 1 or > 64)
                throw new OciException($"signal {text}: not a signal number (1-64)");
            return number;
        }
        var name = text.ToUpperInvariant();
        if (!name.StartsWith("SIG", StringComparison.Ordinal))
            name = "SIG" + name;
        return Enum.TryParse<Signal>(name, out var signal) && Enum.IsDefined(signal)
            ? (int)signal
            : throw new OciException($"signal {text}: unknown (a number or a name such as TERM, KILL, HUP)");
    }

    /// <summary>Starts the supervisor and waits until it has the program loaded (or has failed to).</summary>
    private static Process Spawn(ContainerStore store, OciLog log, string id, string bundle, CommandArguments arguments, string? processFile)
    {
        var (read, write) = Native.Pipe(inheritWrite: true);
        var start = new ProcessStartInfo(Environment.ProcessPath ?? throw new OciException("cannot find the trapeze executable")) { UseShellExecute = false };
        foreach (var word in new[] { "oci", "--root", store.Root })
            start.ArgumentList.Add(word);
        if (log.Path is { } logPath)
        {
            foreach (var word in new[] { "--log", logPath, "--log-format", log.Format })
                start.ArgumentList.Add(word);
        }
        if (log.IsDebug)
            start.ArgumentList.Add("--debug");
        foreach (var word in new[] { "supervise", "--bundle", bundle, "--sync-fd", write.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(word);
        foreach (var flag in new[] { "console-socket", "preserve-fds" })
        {
            if (arguments.Value(flag) is { } value)
            {
                start.ArgumentList.Add("--" + flag);
                start.ArgumentList.Add(value);
            }
        }
        if (processFile is not null)
        {
            start.ArgumentList.Add("--process");
            start.ArgumentList.Add(processFile);
        }
        start.ArgumentList.Add(id);
        Process child;
        try
        {
            child = Process.Start(start)!;
        }
        finally
        {
            Native.Close(write);
        }
        try
        {
            var reply = ReadReply(read, child.Id, null, ReadyTimeout);
            if (reply != "ok")
            {
                var message = reply.StartsWith("error ", StringComparison.Ordinal) ? reply[6..] : $"the container's supervisor ended before it was ready{ExitOf(child)}";
                // Gone before create returns: its descriptors on the engine's mounts must not keep them busy.
                Native.Kill(child.Id, (int)Signal.SIGKILL);
                child.WaitForExit(5000);
                throw new OciException(message);
            }
        }
        finally
        {
            Native.Close(read);
        }
        return child;
    }

    private static string ExitOf(Process child) => child.WaitForExit(1000) ? $" (exit status {child.ExitCode}; see --log)" : "";

    /// <summary>Reads the supervisor's one-line reply until end of file, giving up if it dies or the time runs out.</summary>
    private static string ReadReply(int descriptor, int pid, ulong? startTime, TimeSpan timeout)
    {
        var text = new List<byte>();
        var buffer = new byte[4096];
        var deadline = timeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + timeout;
        while (true)
        {
            if (!Native.WaitReadable(descriptor, 100))
            {
                var alive = startTime is { } time ? Container.IsSupervisor(pid, time) : Container.ProcessStartTime(pid) is not null;
                if (!alive || DateTime.UtcNow > deadline)
                    return alive ? "error the container's supervisor did not answer in time" : Encoding.UTF8.GetString([.. text]).Trim();
                continue;
            }
            var count = Native.Read(descriptor, buffer);
            if (count == -Native.EAGAIN)
                continue;
            if (count <= 0)
                return Encoding.UTF8.GetString([.. text]).Trim();
            text.AddRange(buffer.AsSpan(0, count));
        }
    }

    private static void WritePidFile(string? path, int pid)
    {
        if (path is not null)
            Container.WriteAtomically(Path.GetFullPath(path), pid.ToString(CultureInfo.InvariantCulture));
    }

    private static ContainerConfig? TryReadConfig(string bundle)
    {
        try
        {
            return ContainerPlan.ReadConfig(bundle);
        }
        catch (OciException)
        {
            return null;
        }
    }

    private static ProcessConfig ProcessFromFlags(SavedContainer saved, CommandArguments arguments)
    {
        var config = ContainerPlan.ReadConfig(saved.Bundle).Process ?? new ProcessConfig();
        var command = arguments.Positional.Skip(1).ToList();
        if (command.Count == 0)
            throw new OciException("exec: no command given (COMMAND or --process FILE)");
        var user = config.User ?? new UserConfig();
        if (arguments.Value("user", "u") is { } text)
        {
            var parts = text.Split(':');
            if (!uint.TryParse(parts[0], CultureInfo.InvariantCulture, out var uid) || (parts.Length > 1 && !uint.TryParse(parts[1], CultureInfo.InvariantCulture, out _)))
                throw new OciException($"exec --user {text}: UID[:GID] in numbers");
            user = new UserConfig { Uid = uid, Gid = parts.Length > 1 ? uint.Parse(parts[1], CultureInfo.InvariantCulture) : user.Gid, Umask = user.Umask };
        }
        return new ProcessConfig
        {
            Args = command,
            Env = [.. config.Env ?? [], .. arguments.Values("env", "e")],
            Cwd = arguments.Value("cwd") ?? config.Cwd,
            User = user,
            Terminal = arguments.Has("tty", "t"),
            Rlimits = config.Rlimits,
        };
    }

    private static readonly OciJson Indented = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    });
}
