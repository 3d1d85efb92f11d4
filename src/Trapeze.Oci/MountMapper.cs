using Trapeze.Kernel.Vfs;

namespace Trapeze.Oci;

/// <summary>
/// config.json's mounts onto Trapeze's VFS: bind mounts are binds; a tmpfs is a fresh directory
/// of the runtime's state (removed by `delete`); proc is Trapeze's own /proc; sysfs, devpts,
/// mqueue and cgroup, which Trapeze does not provide, are empty read-only directories; any other
/// type is refused. Missing mount points are made in the root file system as runc makes them,
/// resolving symbolic links inside it so that nothing outside is touched.
/// </summary>
internal sealed class MountMapper(string rootfs, string scratch, bool prepare, List<string> notes)
{
    private const int MaximumLinks = 40;
    private const uint DefaultScratchMode = 0b111_101_101; // 0755, tmpfs's default

    /// <summary>Mounts so far, in order: guest path -> host path (null for Trapeze's /proc).</summary>
    private readonly List<(string Guest, string? Host)> mapped = [("/", rootfs)];
    private int scratchCount;

    public List<BindMount> Binds { get; } = [];

    public void Add(MountConfig mount)
    {
        var destination = mount.Destination;
        if (!destination.StartsWith('/'))
            throw new OciException($"mount destination \"{destination}\" is not an absolute path");
        destination = Normalize(destination);
        var options = mount.Options ?? [];
        var readOnly = options.Contains("ro");
        var type = options.Contains("bind") || options.Contains("rbind") ? "bind" : mount.Type ?? "";
        switch (type)
        {
            case "bind":
                Bind(mount.Source ?? throw new OciException($"bind mount at {destination} has no source"), destination, readOnly);
                break;
            case "proc":
                if (destination != "/proc")
                    throw new OciException($"proc mount at {destination}: Trapeze's procfs is at /proc only");
                MountPoint(destination, file: false);
                mapped.Add((destination, null));
                break;
            case "tmpfs":
                Scratch(destination, readOnly, ScratchMode(options));
                notes.Add($"tmpfs at {destination}: a directory of the runtime's state (size= is not enforced)");
                break;
            case "sysfs" or "devpts" or "mqueue" or "cgroup" or "cgroup2":
                Scratch(destination, readOnly: true, DefaultScratchMode);
                notes.Add($"{type} at {destination}: not provided by Trapeze; an empty read-only directory");
                break;
            default:
                throw new OciException($"mount type \"{mount.Type}\" at {destination} is not supported by Trapeze (bind, tmpfs, proc, sysfs, devpts, mqueue and cgroup are)");
        }
    }

    /// <summary>
    /// A /dev that is a stand-in directory gets the default devices (runtime-config-linux.md) and
    /// linux.devices as host device nodes, and runc's /dev/fd and stdio links. A node that cannot
    /// be made (no CAP_MKNOD) is left out, with a note.
    /// </summary>
    public void MakeDevices(List<DeviceConfig> devices)
    {
        if (Resolve("/dev") is not { } dev || !dev.StartsWith(scratch, StringComparison.Ordinal))
            return;
        var all = new List<DeviceConfig>
        {
            new() { Type = "c", Path = "/dev/null", Major = 1, Minor = 3 },
            new() { Type = "c", Path = "/dev/zero", Major = 1, Minor = 5 },
            new() { Type = "c", Path = "/dev/full", Major = 1, Minor = 7 },
            new() { Type = "c", Path = "/dev/random", Major = 1, Minor = 8 },
            new() { Type = "c", Path = "/dev/urandom", Major = 1, Minor = 9 },
            new() { Type = "c", Path = "/dev/tty", Major = 5, Minor = 0 },
        };
        all.AddRange(devices);
        foreach (var device in all)
        {
            if (device.Type is not ("c" or "b" or "u"))
                continue;
            var host = Resolve(Path.GetDirectoryName(device.Path) ?? "/", create: true);
            if (host is null)
                continue;
            var path = Path.Combine(host, Path.GetFileName(device.Path));
            if (File.Exists(path))
                continue;
            if (Native.MakeNode(path, device.Type == "b", device.FileMode ?? 0b110_110_110, device.Major, device.Minor) is { } error)
                notes.Add($"device {device.Path}: {error}");
        }
        foreach (var (name, target) in new[] { ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2") })
        {
            var link = Path.Combine(dev, name);
            if (!File.Exists(link) && !Directory.Exists(link) && new FileInfo(link).LinkTarget is null)
                File.CreateSymbolicLink(link, target);
        }
    }

    private void Bind(string source, string destination, bool readOnly)
    {
        if (!Path.IsPathRooted(source))
            throw new OciException($"bind mount at {destination}: source \"{source}\" is not an absolute path");
        var isDirectory = Directory.Exists(source);
        if (!isDirectory && !File.Exists(source))
            throw new OciException($"bind mount {source} at {destination}: no such file or directory");
        MountPoint(destination, file: !isDirectory);
        mapped.Add((destination, source));
        Binds.Add(new BindMount(source, destination, readOnly));
    }

    private void Scratch(string destination, bool readOnly, uint mode)
    {
        var directory = Path.Combine(scratch, (scratchCount++).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (prepare)
        {
            Directory.CreateDirectory(directory);
            File.SetUnixFileMode(directory, (UnixFileMode)mode);
        }
        MountPoint(destination, file: false);
        mapped.Add((destination, directory));
        Binds.Add(new BindMount(directory, destination, readOnly));
    }

    private static uint ScratchMode(List<string> options)
    {
        foreach (var option in options)
        {
            if (option.StartsWith("mode=", StringComparison.Ordinal))
            {
                try
                {
                    return Convert.ToUInt32(option[5..], 8) & 0xfff;
                }
                catch (FormatException)
                {
                    throw new OciException($"tmpfs option {option}: not an octal mode");
                }
            }
        }
        return DefaultScratchMode;
    }

    private void MountPoint(string destination, bool file)
    {
        if (prepare && Resolve(destination, create: true, file) is null)
            throw new OciException($"cannot make the mount point {destination}");
    }

    /// <summary>
    /// The host path of a guest path through the mounts mapped so far, following symbolic links
    /// inside the container; with <paramref name="create"/>, missing directories (and the last
    /// name as an empty file when <paramref name="file"/>) are made.
    /// </summary>
    private string? Resolve(string guestPath, bool create = false, bool file = false)
    {
        var pending = new List<string>(Split(guestPath));
        var resolved = new List<string>();
        var links = 0;
        while (pending.Count > 0)
        {
            var name = pending[0];
            pending.RemoveAt(0);
            if (name is "." or "")
                continue;
            if (name == "..")
            {
                if (resolved.Count > 0)
                    resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var guest = "/" + string.Join('/', [.. resolved, name]);
            var host = HostOf(guest);
            var info = new FileInfo(host);
            if (info.LinkTarget is { } target)
            {
                if (++links > MaximumLinks)
                    throw new OciException($"{guestPath}: too many levels of symbolic links in the root file system");
                if (target.StartsWith('/'))
                    resolved.Clear();
                pending.InsertRange(0, Split(target));
                continue;
            }
            if (!info.Exists && !Directory.Exists(host))
            {
                if (!create)
                    return null;
                if (pending.Count == 0 && file)
                    File.WriteAllBytes(host, []);
                else
                    Directory.CreateDirectory(host);
            }
            resolved.Add(name);
        }
        return HostOf("/" + string.Join('/', resolved));
    }

    /// <summary>The host path behind <paramref name="guest"/>: the deepest mount covering it (the latest of equals).</summary>
    private string HostOf(string guest)
    {
        (string Guest, string? Host) best = mapped[0];
        foreach (var entry in mapped)
        {
            if (Covers(entry.Guest, guest) && entry.Guest.Length >= best.Guest.Length)
                best = entry;
        }
        if (best.Host is null)
            throw new OciException($"{guest}: inside Trapeze's /proc, where nothing can be mounted");
        return guest.Length == best.Guest.Length ? best.Host : Path.Combine(best.Host, guest[(best.Guest.Length == 1 ? 1 : best.Guest.Length + 1)..]);
    }

    private static bool Covers(string mountPoint, string path)
        => mountPoint == "/" || path == mountPoint || path.StartsWith(mountPoint + "/", StringComparison.Ordinal);

    private static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var name in Split(path))
        {
            if (name == "..")
            {
                if (parts.Count > 0)
                    parts.RemoveAt(parts.Count - 1);
            }
            else if (name != ".")
            {
                parts.Add(name);
            }
        }
        return "/" + string.Join('/', parts);
    }
}
