using System.Text.Json;
using System.Text.RegularExpressions;

namespace Trapeze.Oci;

/// <summary>
/// The runtime's own state directory (--root): one directory per container holding state.json,
/// exec.fifo (present until `start`), exit.json (written by the supervisor as it ends) and the
/// scratch directories that stand in for tmpfs mounts.
/// </summary>
internal sealed partial class ContainerStore(string root)
{
    public string Root { get; } = root;

    [GeneratedRegex(@"^[A-Za-z0-9_+\-.]+$")]
    private static partial Regex IdPattern();

    public static string DefaultRoot()
    {
        var runtimeDirectory = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return Environment.UserName != "root" && !string.IsNullOrEmpty(runtimeDirectory)
            ? Path.Combine(runtimeDirectory, "trapeze-oci")
            : "/run/trapeze-oci";
    }

    public Container Find(string id)
    {
        var directory = DirectoryOf(id);
        if (!Directory.Exists(directory))
            throw new OciException($"container \"{id}\" does not exist");
        return new Container(id, directory);
    }

    /// <summary>The directory of a new container; an error if the id is taken or malformed.</summary>
    public Container Reserve(string id)
    {
        var directory = DirectoryOf(id);
        Directory.CreateDirectory(Root);
        if (Directory.Exists(directory))
            throw new OciException($"container with id \"{id}\" already exists");
        Directory.CreateDirectory(directory);
        return new Container(id, directory);
    }

    public IEnumerable<Container> All()
    {
        if (!Directory.Exists(Root))
            yield break;
        foreach (var directory in Directory.GetDirectories(Root).Order(StringComparer.Ordinal))
        {
            var id = Path.GetFileName(directory);
            if (IdPattern().IsMatch(id) && id[0] != '.')
                yield return new Container(id, directory);
        }
    }

    private string DirectoryOf(string id)
    {
        if (!IdPattern().IsMatch(id) || id is "." or ".." || id[0] == '.')
            throw new OciException($"invalid container id \"{id}\": letters, digits and _ + - . only");
        return Path.Combine(Root, id);
    }
}

/// <summary>One container's directory in the store, and its status as runtime.md defines it.</summary>
internal sealed class Container(string id, string directory)
{
    public string Id { get; } = id;
    public string Directory { get; } = directory;
    public string StatePath => Path.Combine(Directory, "state.json");
    public string FifoPath => Path.Combine(Directory, "exec.fifo");
    public string ExitPath => Path.Combine(Directory, "exit.json");
    public string ScratchDirectory => Path.Combine(Directory, "mounts");

    /// <summary>What create saved; null while the container is still being created.</summary>
    public SavedContainer? Saved => File.Exists(StatePath)
        ? JsonSerializer.Deserialize(File.ReadAllText(StatePath), OciJson.Default.SavedContainer)
        : null;

    public void Save(SavedContainer saved) => WriteAtomically(StatePath, JsonSerializer.Serialize(saved, OciJson.Default.SavedContainer));

    /// <summary>creating, created, running or stopped (runtime.md), or paused (runc's, after `pause`).</summary>
    public string Status(SavedContainer? saved)
    {
        if (saved is null)
            return "creating";
        if (!IsSupervisor(saved.Pid, saved.PidStartTime))
            return "stopped";
        if (File.Exists(FifoPath))
            return "created";
        return ProcessStatFields(saved.Pid) is ["T" or "t", ..] ? "paused" : "running";
    }

    public ContainerState State()
    {
        var saved = Saved;
        var status = Status(saved);
        return new ContainerState
        {
            Id = Id,
            Status = status,
            Pid = status is "created" or "running" or "paused" ? saved!.Pid : 0,
            Bundle = saved?.Bundle ?? "",
            Annotations = saved?.Annotations ?? [],
        };
    }

    public SavedExit? Exit => File.Exists(ExitPath) ? JsonSerializer.Deserialize(File.ReadAllText(ExitPath), OciJson.Default.SavedExit) : null;

    /// <summary>Whether <paramref name="pid"/> is still the process create started (not a zombie, not a reused number).</summary>
    public static bool IsSupervisor(int pid, ulong startTime) => pid > 0 && ProcessStartTime(pid) is { } time && time == startTime;

    /// <summary>Field 22 of /proc/PID/stat (start time in clock ticks); null for no such process or a zombie.</summary>
    public static ulong? ProcessStartTime(int pid)
    {
        var fields = ProcessStatFields(pid);
        if (fields is null || fields.Length < 20 || fields[0] is "Z" or "X")
            return null;
        return ulong.TryParse(fields[19], out var start) ? start : null;
    }

    /// <summary>/proc/PID/stat from field 3 (the state) on; null for no such process.</summary>
    private static string[]? ProcessStatFields(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
        return text[(text.LastIndexOf(')') + 2)..].Split(' ');
    }

    public static void WriteAtomically(string path, string text)
    {
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
