using System.Text;
using System.Text.Json;

namespace Trapeze.Oci;

/// <summary>
/// `trapeze oci`: the OCI runtime command line (runc's and crun's), so container engines
/// (podman, containerd, CRI-O) can run containers through Trapeze. Global flags come first, as
/// engines pass them: --root, --log, --log-format, --debug; flags Trapeze has no use for
/// (--systemd-cgroup, --cgroup-manager, --rootless, --criu...) are accepted and ignored.
/// </summary>
public static class OciRuntime
{
    private static readonly HashSet<string> GlobalValueFlags = ["root", "log", "log-format", "log-level", "criu", "cgroup-manager"];
    private static readonly HashSet<string> GlobalBooleanFlags = ["debug", "systemd-cgroup", "help", "h", "version", "v"];

    public const string Usage = """
        usage: trapeze oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND ...
          create [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] [--preserve-fds N] ID
          start ID            state ID            kill ID [SIGNAL]       delete [--force] ID
          run [--bundle DIR] [--detach] ID       exec [options] ID [COMMAND ARGS...]
          pause ID            resume ID           ps [--format table|json] ID
          list [--format table|json]              features
        """;

    public static int Main(IReadOnlyList<string> args)
    {
        string? root = null, logPath = null, logFormat = null;
        var debug = false;
        var index = 0;
        for (; index < args.Count && args[index].StartsWith('-'); index++)
        {
            var (name, value) = CommandArguments.Split(args[index]);
            if (GlobalValueFlags.Contains(name) && value is null && index + 1 < args.Count)
                value = args[++index];
            else if (name == "rootless" && value is null && index + 1 < args.Count && args[index + 1] is "true" or "false" or "auto")
                index++;
            switch (name)
            {
                case "root": root = value; break;
                case "log": logPath = value; break;
                case "log-format": logFormat = value; break;
                case "debug": debug = true; break;
                case "help" or "h":
                    Console.Out.Write(Usage);
                    return 0;
                case "version" or "v":
                    Console.Out.WriteLine($"trapeze oci version {typeof(OciRuntime).Assembly.GetName().Version}\nspec: {OciVersions.Current}");
                    return 0;
            }
        }
        using var log = new OciLog(logPath, logFormat, debug);
        if (index >= args.Count)
        {
            Console.Error.Write(Usage);
            return 2;
        }
        var command = args[index];
        var rest = args.Skip(index + 1).ToList();
        try
        {
            var store = new ContainerStore(Path.GetFullPath(root ?? ContainerStore.DefaultRoot()));
            return command switch
            {
                "create" => Lifecycle.Create(store, log, CommandArguments.Parse(rest, Lifecycle.CreateFlags)),
                "start" => Lifecycle.Start(store, log, CommandArguments.Parse(rest, [])),
                "state" => Lifecycle.State(store, CommandArguments.Parse(rest, [])),
                "kill" => Lifecycle.Kill(store, CommandArguments.Parse(rest, [])),
                "delete" => Lifecycle.Delete(store, log, CommandArguments.Parse(rest, [])),
                "pause" => Lifecycle.Pause(store, CommandArguments.Parse(rest, []), pause: true),
                "resume" => Lifecycle.Pause(store, CommandArguments.Parse(rest, []), pause: false),
                "run" => Lifecycle.Run(store, log, CommandArguments.Parse(rest, Lifecycle.CreateFlags)),
                "exec" => Lifecycle.Exec(store, log, CommandArguments.Parse(rest, Lifecycle.ExecFlags, commandAfter: 1)),
                "ps" => Lifecycle.Ps(store, CommandArguments.Parse(rest, ["format", "f"])),
                "list" => Lifecycle.List(store, CommandArguments.Parse(rest, ["format", "f"])),
                "features" => Lifecycle.Features(),
                "supervise" => Supervisor.Run(store, log, CommandArguments.Parse(rest, Supervisor.Flags)),
                _ => throw new OciException($"unknown command \"{command}\" (see trapeze oci --help)"),
            };
        }
        catch (OciException error)
        {
            log.Error(error.Message);
            return 1;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or JsonException)
        {
            log.Error($"{command}: {error.Message}");
            return 1;
        }
    }
}

/// <summary>A command's flags and positional words, in Go's flag style (-x, --x, --x=v) as runc takes them.</summary>
internal sealed class CommandArguments
{
    public Dictionary<string, List<string>> Flags { get; } = [];
    public List<string> Positional { get; } = [];

    public static (string Name, string? Value) Split(string word)
    {
        var name = word.TrimStart('-');
        var equals = name.IndexOf('=');
        return equals < 0 ? (name, null) : (name[..equals], name[(equals + 1)..]);
    }

    /// <summary>
    /// Flags in <paramref name="withValue"/> take the next word; other flags are switches.
    /// After <paramref name="commandAfter"/> positional words, the rest is a command line (exec).
    /// </summary>
    public static CommandArguments Parse(List<string> words, HashSet<string> withValue, int commandAfter = int.MaxValue)
    {
        var parsed = new CommandArguments();
        for (var index = 0; index < words.Count; index++)
        {
            var word = words[index];
            if (parsed.Positional.Count >= commandAfter || word == "--")
            {
                parsed.Positional.AddRange(words.Skip(word == "--" && parsed.Positional.Count < commandAfter ? index + 1 : index));
                break;
            }
            if (!word.StartsWith('-') || word == "-")
            {
                parsed.Positional.Add(word);
                continue;
            }
            var (name, value) = Split(word);
            if (value is null && withValue.Contains(name))
            {
                if (index + 1 >= words.Count)
                    throw new OciException($"flag --{name} needs a value");
                value = words[++index];
            }
            if (!parsed.Flags.TryGetValue(name, out var values))
                parsed.Flags[name] = values = [];
            values.Add(value ?? "true");
        }
        return parsed;
    }

    public string? Value(params string[] names)
    {
        foreach (var name in names)
        {
            if (Flags.TryGetValue(name, out var values))
                return values[^1];
        }
        return null;
    }

    public List<string> Values(params string[] names) => [.. names.SelectMany(name => Flags.GetValueOrDefault(name) ?? [])];

    public bool Has(params string[] names) => names.Any(name => Flags.TryGetValue(name, out var values) && values[^1] != "false");

    /// <summary>The container id: the first positional word.</summary>
    public string Id(string command) => Positional.Count > 0 ? Positional[0] : throw new OciException($"{command}: a container id is needed");
}

/// <summary>
/// --log and --log-format as runc writes them: json lines {"level","msg","time"} or logrus text.
/// Errors also go to stderr, where podman and conmon read them.
/// </summary>
internal sealed class OciLog : IDisposable
{
    private readonly StreamWriter? file;
    private readonly bool json;
    private readonly bool debug;

    public OciLog(string? path, string? format, bool debug)
    {
        this.debug = debug;
        json = format == "json";
        if (format is not (null or "json" or "text"))
            Console.Error.WriteLine($"trapeze oci: --log-format {format}: text or json; using text");
        if (path is not null)
        {
            try
            {
                file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"trapeze oci: --log {path}: {error.Message}");
            }
        }
    }

    public string? Path => file is null ? null : ((FileStream)file.BaseStream).Name;
    public string Format => json ? "json" : "text";
    public bool IsDebug => debug;

    public void Error(string message)
    {
        Console.Error.WriteLine($"trapeze oci: {message}");
        Write("error", message);
    }

    public void Warning(string message)
    {
        if (file is null || debug)
            Console.Error.WriteLine($"trapeze oci: warning: {message}");
        Write("warning", message);
    }

    public void Debug(string message)
    {
        if (debug)
            Console.Error.WriteLine($"trapeze oci: {message}");
        Write("debug", message);
    }

    private void Write(string level, string message)
    {
        if (file is null)
            return;
        var time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture);
        lock (file)
        {
            file.WriteLine(json
                ? JsonSerializer.Serialize(new LogLine { Level = level, Msg = message, Time = time }, OciJson.Default.LogLine)
                : $"time=\"{time}\" level={level} msg={JsonSerializer.Serialize(message, OciJson.Default.String)}");
        }
    }

    /// <summary>Trapeze's own messages while the container runs (internal errors, unsupported calls), as warnings in the log.</summary>
    public TextWriter Diagnostics => file is null ? Console.Error : new LineWriter(this);

    public void Dispose() => file?.Dispose();

    private sealed class LineWriter(OciLog log) : TextWriter
    {
        private readonly StringBuilder line = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (line)
            {
                if (value != '\n')
                {
                    line.Append(value);
                    return;
                }
                log.Write("warning", line.ToString());
                line.Clear();
            }
        }
    }
}
