using System.Text.Json;
using System.Text.Json.Serialization;

namespace Trapeze.Oci;

/// <summary>
/// A bundle's config.json: the parts of the OCI runtime specification (config.md, config-linux.md)
/// Trapeze reads. Everything else (linux.seccomp, capabilities, cgroups...) is kept as raw JSON
/// and not acted on: a guest reaches the host only through Trapeze's own system calls.
/// </summary>
public sealed class ContainerConfig
{
    public string? OciVersion { get; set; }
    public ProcessConfig? Process { get; set; }
    public RootConfig? Root { get; set; }
    public string? Hostname { get; set; }
    public string? Domainname { get; set; }
    public List<MountConfig>? Mounts { get; set; }
    public HooksConfig? Hooks { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }
    public LinuxConfig? Linux { get; set; }
}

public sealed class ProcessConfig
{
    public bool Terminal { get; set; }
    public ConsoleSize? ConsoleSize { get; set; }
    public UserConfig? User { get; set; }
    public List<string>? Args { get; set; }
    public string? CommandLine { get; set; }
    public List<string>? Env { get; set; }
    public string? Cwd { get; set; }
    public List<RlimitConfig>? Rlimits { get; set; }
    public bool NoNewPrivileges { get; set; }
}

public sealed class ConsoleSize
{
    public uint Height { get; set; }
    public uint Width { get; set; }
}

public sealed class UserConfig
{
    public uint Uid { get; set; }
    public uint Gid { get; set; }
    public uint? Umask { get; set; }
    public List<uint>? AdditionalGids { get; set; }
    public string? Username { get; set; }
}

public sealed class RlimitConfig
{
    public string Type { get; set; } = "";
    public ulong Hard { get; set; }
    public ulong Soft { get; set; }
}

public sealed class RootConfig
{
    public string Path { get; set; } = "";

    [JsonPropertyName("readonly")]
    public bool ReadOnly { get; set; }
}

public sealed class MountConfig
{
    public string Destination { get; set; } = "";
    public string? Type { get; set; }
    public string? Source { get; set; }
    public List<string>? Options { get; set; }
}

public sealed class HooksConfig
{
    public List<HookConfig>? Prestart { get; set; }
    public List<HookConfig>? CreateRuntime { get; set; }
    public List<HookConfig>? CreateContainer { get; set; }
    public List<HookConfig>? StartContainer { get; set; }
    public List<HookConfig>? Poststart { get; set; }
    public List<HookConfig>? Poststop { get; set; }
}

public sealed class HookConfig
{
    public string Path { get; set; } = "";
    public List<string>? Args { get; set; }
    public List<string>? Env { get; set; }
    public int? Timeout { get; set; }
}

public sealed class LinuxConfig
{
    public List<NamespaceConfig>? Namespaces { get; set; }
    public List<DeviceConfig>? Devices { get; set; }
    public List<IdMapping>? UidMappings { get; set; }
    public List<IdMapping>? GidMappings { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}

public sealed class NamespaceConfig
{
    public string Type { get; set; } = "";
    public string? Path { get; set; }
}

public sealed class DeviceConfig
{
    public string Type { get; set; } = "";
    public string Path { get; set; } = "";
    public long Major { get; set; }
    public long Minor { get; set; }
    public uint? FileMode { get; set; }
    public uint? Uid { get; set; }
    public uint? Gid { get; set; }
}

public sealed class IdMapping
{
    public uint ContainerId { get; set; }
    public uint HostId { get; set; }
    public uint Size { get; set; }
}

/// <summary>The state of a container (runtime.md "State"), as `state` prints it and hooks read it on stdin.</summary>
public sealed class ContainerState
{
    public string OciVersion { get; set; } = OciVersions.Current;
    public string Id { get; set; } = "";
    public string Status { get; set; } = "";
    public int Pid { get; set; }
    public string Bundle { get; set; } = "";
    public Dictionary<string, string> Annotations { get; set; } = [];
}

/// <summary>What the runtime keeps of a container between its calls, in ROOT/ID/state.json.</summary>
public sealed class SavedContainer
{
    public string Id { get; set; } = "";
    public string Bundle { get; set; } = "";
    public string Rootfs { get; set; } = "";
    public int Pid { get; set; }

    /// <summary>The supervisor's start time (field 22 of /proc/PID/stat): a reused pid is not the container.</summary>
    public ulong PidStartTime { get; set; }
    public DateTime Created { get; set; }
    public Dictionary<string, string> Annotations { get; set; } = [];

    /// <summary>Host pids of processes `exec` started (for `ps`).</summary>
    public List<int> Execs { get; set; } = [];
}

/// <summary>How the container's program ended, written by the supervisor as it exits.</summary>
public sealed class SavedExit
{
    public int Code { get; set; }
    public int? Signal { get; set; }
}

/// <summary>`features` output (features.md).</summary>
public sealed class Features
{
    public string OciVersionMin { get; set; } = "1.0.0";
    public string OciVersionMax { get; set; } = OciVersions.Current;
    public List<string> Hooks { get; set; } = [];
    public List<string> MountOptions { get; set; } = [];
    public LinuxFeatures Linux { get; set; } = new();
    public Dictionary<string, string> Annotations { get; set; } = [];
}

public sealed class LinuxFeatures
{
    public List<string> Namespaces { get; set; } = [];
    public List<string> Capabilities { get; set; } = [];
    public EnabledFeature Cgroup { get; set; } = new();
    public EnabledFeature Seccomp { get; set; } = new();
    public EnabledFeature Apparmor { get; set; } = new();
    public EnabledFeature Selinux { get; set; } = new();
    public EnabledFeature IntelRdt { get; set; } = new();
}

public sealed class EnabledFeature
{
    public bool Enabled { get; set; }
}

/// <summary>A runc-style log line (--log-format json).</summary>
public sealed class LogLine
{
    public string Level { get; set; } = "";
    public string Msg { get; set; } = "";
    public string Time { get; set; } = "";
}

public static class OciVersions
{
    public const string Current = "1.2.0";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContainerConfig))]
[JsonSerializable(typeof(ContainerState))]
[JsonSerializable(typeof(ProcessConfig))]
[JsonSerializable(typeof(SavedContainer))]
[JsonSerializable(typeof(SavedExit))]
[JsonSerializable(typeof(Features))]
[JsonSerializable(typeof(LogLine))]
[JsonSerializable(typeof(List<int>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(List<ContainerState>))]
internal sealed partial class OciJson : JsonSerializerContext;

/// <summary>A request the runtime refuses or cannot carry out: one line for the engine, exit code 1.</summary>
public sealed class OciException(string message) : Exception(message);
