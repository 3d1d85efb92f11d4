using Trapeze.Kernel.Vfs;

namespace Trapeze.Oci;

/// <summary>
/// config.json's mounts onto Trapeze's VFS: bind mounts are binds (of a directory, or of a file
/// on a file); a tmpfs is Trapeze's tmpfs, except at /dev, where it is Trapeze's /dev (null, zero,
/// full, random, urandom, tty, console, shm/, pts/); proc is Trapeze's own /proc; sysfs, mqueue
/// and cgroup, which Trapeze does not provide, are empty read-only directories of the runtime's
/// state (host directories, so mount points nested in them can be made), devpts at /dev/pts is
/// /dev's own pts/; any other type is refused. Mount points missing from the root file system are
/// made there as runc makes them, resolving symbolic links inside it so nothing outside is
/// touched; inside Trapeze's own file systems Trapeze makes them.
/// </summary>
internal sealed class MountMapper(string rootfs, string scratch, bool prepare, List<string> notes)
{
    private const int MaximumLinks = 40;
    private const uint DefaultScratchMode = 0b111_101_101; // 0755, tmpfs's default

    /// <summary>Devices Trapeze's /dev has (DevFs), for linux.devices.</summary>
    private static readonly string[] DeviceNodes = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/console"];

    /// <summary>Mounts so far, in order: guest path -> host path (null for Trapeze's own: /proc, /dev, a tmpfs).</summary>
    private readonly List<(string Guest, string? Host)> mapped = [("/", rootfs)];
    private int scratchCount;

    public List<BindMount> Binds { get; } = [];
    public List<TmpFsMount> TmpFs { get; } = [];

    /// <summary>Whether /dev is Trapeze's (a tmpfs at /dev, or no mount there at all, as runtimes supply /dev themselves).</summary>
    public bool Devices { get; private set; } = true;

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
                Trapezes(destination);
                break;
            case "tmpfs" when destination == "/dev":
                Trapezes(destination);
                notes.Add("tmpfs at /dev: Trapeze's /dev (null, zero, full, random, urandom, tty, console, shm, pts)");
                break;
            case "tmpfs":
                var tmpfs = TmpFsMount.Parse(destination, string.Join(',', options), out var error);
                if (error is not null)
                    throw new OciException($"tmpfs mount at {destination}: {error}");
                Trapezes(destination);
                TmpFs.Add(tmpfs);
                break;
            case "devpts" when destination == "/dev/pts" && Devices:
                notes.Add("devpts at /dev/pts: Trapeze's /dev/pts (no pseudo-terminals are made inside)");
                break;
            case "sysfs" or "devpts" or "mqueue" or "cgroup" or "cgroup2":
                Scratch(destination, readOnly: true, DefaultScratchMode);
                notes.Add($"{type} at {destination}: not provided by Trapeze; an empty read-only directory");
                break;
            default:
                throw new OciException($"mount type \"{mount.Type}\" at {destination} is not supported by Trapeze (bind, tmpfs, proc, sysfs, devpts, mqueue and cgroup are)");
        }
    }

    /// <summary>linux.devices: what Trapeze's /dev has is there already; other devices are refused.</summary>
    public void CheckDevices(List<DeviceConfig> devices)
    {
        foreach (var device in devices)
        {
            if (!Devices || !DeviceNodes.Contains(device.Path))
                throw new OciException($"linux.devices: {device.Path} is not provided by Trapeze's /dev ({string.Join(", ", DeviceNodes)})");
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
        if (destination == "/dev")
            Devices = false;
    }

    /// <summary>A mount Trapeze provides itself: its mount point must be there, and nothing under it is on the host.</summary>
    private void Trapezes(string destination)
    {
        MountPoint(destination, file: false);
        mapped.Add((destination, null));
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

    /// <summary>Runtimes supply /dev: without a mount there, Trapeze's /dev is the container's.</summary>
    public void DefaultDevices(List<MountConfig> mounts)
    {
        if (!mounts.Any(mount => Normalize(mount.Destination) == "/dev"))
            Trapezes("/dev");
    }

    private void MountPoint(string destination, bool file)
    {
        if (!prepare || mapped.Any(entry => entry.Guest == destination))
            return;
        var covering = mapped.Where(entry => Covers(entry.Guest, destination)).MaxBy(entry => entry.Guest.Length);
        // Inside Trapeze's own file systems (/dev, a tmpfs) Trapeze makes the mount point.
        if (covering.Host is null)
            return;
        if (Resolve(destination, create: true, file) is null)
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
            throw new OciException($"cannot make the mount point {guest}: a symbolic link leads into Trapeze's own /proc, /dev or a tmpfs");
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
