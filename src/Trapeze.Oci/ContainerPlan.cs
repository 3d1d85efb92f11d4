using System.Text.Json;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Vfs;

namespace Trapeze.Oci;

/// <summary>
/// A bundle's config.json turned into what one Trapeze kernel needs: the program, its environment,
/// the file system layout, ids, limits, hostname. Whatever Trapeze cannot honour is refused here,
/// at create, with one line naming it.
/// </summary>
internal sealed class ContainerPlan
{
    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Guest processes at most when the config sets no RLIMIT_NPROC (trapeze run's default).</summary>
    private const int DefaultMaximumProcesses = 1024;

    public required ContainerConfig Config { get; init; }
    public required string Bundle { get; init; }
    public required string Rootfs { get; init; }
    public required ProcessConfig Process { get; init; }
    public required FileSystemLayout Layout { get; init; }
    public required List<string> Environment { get; init; }
    public uint Umask { get; init; } = 0b000_010_010;
    public int MaximumProcesses { get; init; } = DefaultMaximumProcesses;
    public Dictionary<RlimitResource, ResourceLimit> Limits { get; init; } = [];

    /// <summary>Notes for the log: mounts Trapeze stands in for with something simpler.</summary>
    public List<string> Notes { get; init; } = [];

    public static ContainerConfig ReadConfig(string bundle)
    {
        var path = Path.Combine(bundle, "config.json");
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new OciException($"cannot read {path}: {error.Message}");
        }
        try
        {
            return JsonSerializer.Deserialize(text, OciJson.Default.ContainerConfig) ?? throw new OciException($"{path}: empty");
        }
        catch (JsonException error)
        {
            throw new OciException($"{path}: not a valid OCI config: {error.Message}");
        }
    }

    public static ProcessConfig ReadProcess(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), OciJson.Default.ProcessConfig) ?? throw new OciException($"{path}: empty");
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new OciException($"--process {path}: {error.Message}");
        }
    }

    /// <summary>
    /// The plan for <paramref name="bundle"/>; <paramref name="scratch"/> is where stand-ins for
    /// tmpfs mounts live. With <paramref name="prepare"/>, mount points missing from the root file
    /// system are made (as runc makes them) and stand-in directories filled.
    /// </summary>
    public static ContainerPlan Build(string bundle, string scratch, ProcessConfig? processOverride, bool prepare)
    {
        var config = ReadConfig(bundle);
        if (config.OciVersion is not { } version || !version.StartsWith("1.", StringComparison.Ordinal))
            throw new OciException($"config.json: ociVersion \"{config.OciVersion}\" is not supported (1.x is)");
        var process = processOverride ?? config.Process ?? throw new OciException("config.json: no process to run");
        if (process.Args is not { Count: > 0 })
            throw new OciException("config.json: process.args is empty");
        if (process.Cwd is { } cwd && !cwd.StartsWith('/'))
            throw new OciException($"config.json: process.cwd \"{cwd}\" is not an absolute path");
        if (config.Root is not { Path.Length: > 0 } root)
            throw new OciException("config.json: no root.path");
        var rootfs = Path.GetFullPath(Path.Combine(bundle, root.Path));
        if (!Directory.Exists(rootfs))
            throw new OciException($"root.path {rootfs}: no such directory");
        CheckNamespaces(config.Linux);

        var notes = new List<string>();
        var mounts = new MountMapper(rootfs, scratch, prepare, notes);
        foreach (var mount in config.Mounts ?? [])
            mounts.Add(mount);
        if (prepare)
            mounts.MakeDevices(config.Linux?.Devices ?? []);

        var (limits, maximumProcesses) = MapLimits(process.Rlimits ?? []);
        return new ContainerPlan
        {
            Config = config,
            Bundle = bundle,
            Rootfs = rootfs,
            Process = process,
            Layout = new FileSystemLayout
            {
                Root = rootfs,
                ReadOnly = root.ReadOnly,
                Binds = mounts.Binds,
                WorkingDirectory = process.Cwd ?? "/",
            },
            Environment = process.Env ?? [],
            Umask = process.User?.Umask ?? 0b000_010_010,
            Limits = limits,
            MaximumProcesses = maximumProcesses,
            Notes = notes,
        };
    }

    /// <summary>The program's guest path: args[0] itself if it names a directory, else looked up in the container's PATH.</summary>
    public IEnumerable<string> ProgramCandidates()
    {
        var name = Process.Args![0];
        if (name.Contains('/'))
        {
            yield return name;
            yield break;
        }
        var path = Environment.LastOrDefault(variable => variable.StartsWith("PATH=", StringComparison.Ordinal))?[5..] ?? DefaultPath;
        foreach (var directory in path.Split(':'))
            yield return (directory.Length == 0 ? "." : directory) + "/" + name;
    }

    /// <summary>
    /// Each Trapeze kernel is its own pid, ipc, mount and uts namespace, so new ones of those are
    /// what it gives anyway; joining a host namespace by path is not possible.
    /// </summary>
    private static void CheckNamespaces(LinuxConfig? linux)
    {
        foreach (var space in linux?.Namespaces ?? [])
        {
            if (space.Type is not ("pid" or "ipc" or "mount" or "uts" or "network" or "user" or "cgroup" or "time"))
                throw new OciException($"linux.namespaces: unknown type \"{space.Type}\"");
            if (!string.IsNullOrEmpty(space.Path))
                throw new OciException($"linux.namespaces: joining the {space.Type} namespace at {space.Path} is not supported by Trapeze (a container is one Trapeze kernel)");
        }
    }

    /// <summary>process.rlimits: the guest's limits as getrlimit shows them; RLIMIT_NPROC also caps the container's processes.</summary>
    private static (Dictionary<RlimitResource, ResourceLimit>, int) MapLimits(List<RlimitConfig> rlimits)
    {
        // A container-wide process cap well above everyday use, and still finite.
        const int ProcessCap = 32768;
        var limits = new Dictionary<RlimitResource, ResourceLimit>();
        var maximumProcesses = DefaultMaximumProcesses;
        foreach (var limit in rlimits)
        {
            if (!Enum.TryParse<RlimitResource>(limit.Type, ignoreCase: false, out var resource) || !limit.Type.StartsWith("RLIMIT_", StringComparison.Ordinal))
                throw new OciException($"process.rlimits: unknown type \"{limit.Type}\"");
            if (limit.Soft > limit.Hard)
                throw new OciException($"process.rlimits: {limit.Type} soft limit {limit.Soft} is above its hard limit {limit.Hard}");
            if (limits.ContainsKey(resource))
                throw new OciException($"process.rlimits: {limit.Type} given twice");
            limits[resource] = new ResourceLimit { Current = limit.Soft, Maximum = limit.Hard };
            if (resource == RlimitResource.RLIMIT_NPROC)
                maximumProcesses = (int)Math.Clamp(limit.Soft, 1, ProcessCap);
        }
        return (limits, maximumProcesses);
    }
}
