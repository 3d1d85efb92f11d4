using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>A name in Trapeze's /proc: a directory, a generated file, a symbolic link, or a host path it forwards to.</summary>
internal abstract class ProcNode(string path)
{
    /// <summary>The guest path, e.g. /proc/1234/maps.</summary>
    public string Path => path;
}

internal sealed class ProcDirectoryNode(string path, Func<IReadOnlyList<string>> names, Func<string, ProcNode?> child, uint permissions = 0b101_101_101) : ProcNode(path)
{
    public uint Permissions => permissions;

    public IReadOnlyList<string> Names() => names();
    public ProcNode? Child(string name) => child(name);
}

internal sealed class ProcFileNode(string path, uint permissions, Func<byte[]> content) : ProcNode(path)
{
    public uint Permissions => permissions;
    public byte[] Content() => content();
}

/// <summary>
/// A /proc symbolic link. <see cref="Target"/> is what readlink shows; following it goes to
/// <see cref="HostTarget"/> on the host when set (a program, a directory, a host descriptor's
/// own /proc/self/fd link), otherwise to <see cref="Target"/> inside /proc.
/// </summary>
internal sealed class ProcLinkNode(string path, string target, string? hostTarget, Func<Location?>? magic = null, byte[]? targetBytes = null) : ProcNode(path)
{
    public string Target => target;
    public string? HostTarget => hostTarget;

    /// <summary>What readlink shows, as bytes (a guest path need not be UTF-8).</summary>
    public byte[] TargetBytes => targetBytes ?? System.Text.Encoding.UTF8.GetBytes(target);

    /// <summary>For a magic link (exe, cwd, root, fd/N): where following it jumps, a fresh node the walker releases.</summary>
    public Func<Location?>? Magic => magic;
}

/// <summary>A /proc name the host serves (/proc/sys, /proc/uptime...): Trapeze forwards to this host path.</summary>
internal sealed class HostPathNode(string hostPath) : ProcNode(hostPath);

/// <summary>
/// Trapeze's /proc: the process-specific parts (self, PID directories, maps, status, fd, exe)
/// describe guest processes, cpuinfo and meminfo describe the emulated machine, and a few
/// machine-wide files that reveal nothing of the host's processes are forwarded to the host's
/// /proc. Anything else does not exist. Nodes are made on lookup, from the kernel's state.
/// </summary>
internal static class ProcFs
{
    public const string Root = "/proc";
    private const int MaximumLinkDepth = 40;

    /// <summary>Machine-wide host files the guest may read as they are.</summary>
    private static readonly string[] HostEntries =
    [
        "buddyinfo", "cgroups", "consoles", "crypto", "devices", "diskstats", "filesystems", "interrupts",
        "loadavg", "misc", "partitions", "stat", "swaps", "sys", "uptime", "version", "vmstat", "zoneinfo",
    ];

    private static readonly string[] ProcessEntries =
    [
        "auxv", "cmdline", "comm", "cwd", "environ", "exe", "fd", "fdinfo", "maps", "mountinfo", "mounts", "root", "stat", "statm", "status", "task",
    ];

    /// <summary>Finds the node at an absolute, normalized /proc path.</summary>
    public static Errno Lookup(GuestThread thread, string path, bool followLast, out ProcNode node)
    {
        if (Lookup(thread, path, followLast, 0, out node) is var error and not Errno.None)
            return error;
        // A trailing slash names a directory: anything else is ENOTDIR (the host checks its own).
        if (path.EndsWith('/'))
        {
            if (node is HostPathNode host && !host.Path.EndsWith('/'))
                node = new HostPathNode(host.Path + "/");
            else if (node is not (ProcDirectoryNode or HostPathNode))
                return Errno.ENOTDIR;
        }
        return Errno.None;
    }

    private static Errno Lookup(GuestThread thread, string path, bool followLast, int depth, out ProcNode node)
    {
        var root = RootDirectory(thread);
        node = root;
        if (depth > MaximumLinkDepth)
            return Errno.ELOOP;
        // A trailing slash follows a final link, as "dir/." would.
        followLast |= path.EndsWith('/');
        var segments = path[Root.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries);
        var walked = new Stack<ProcNode>();
        for (var index = 0; index < segments.Length; index++)
        {
            var last = index == segments.Length - 1;
            var rest = string.Join('/', segments[(index + 1)..]);
            if (node is HostPathNode host)
            {
                node = new HostPathNode(host.Path.TrimEnd('/') + "/" + string.Join('/', segments[index..]));
                return Errno.None;
            }
            if (node is not ProcDirectoryNode directory)
                return Errno.ENOTDIR;
            if (segments[index] == "..")
            {
                if (walked.Count == 0)
                {
                    node = new HostPathNode("/" + rest); // /proc/.. is the host's root
                    return Errno.None;
                }
                node = walked.Pop();
                continue;
            }
            if (directory.Child(segments[index]) is not { } child)
                return Errno.ENOENT;
            walked.Push(directory);
            node = child;
            if (child is ProcLinkNode link && (!last || followLast))
            {
                if (link.HostTarget is { } hostTarget)
                {
                    node = new HostPathNode(rest.Length == 0 ? hostTarget : hostTarget.TrimEnd('/') + "/" + rest);
                    return Errno.None;
                }
                var target = link.Target.StartsWith('/') ? link.Target : directory.Path + "/" + link.Target;
                var combined = GuestPaths.Normalize(rest.Length == 0 ? target : target + "/" + rest);
                return Lookup(thread, combined + (path.EndsWith('/') ? "/" : ""), followLast, depth + 1, out node);
            }
        }
        return Errno.None;
    }

    /// <summary>Opens a node found by <see cref="Lookup"/> (not a host one): a generated file or a listing.</summary>
    public static OpenFile Open(GuestThread thread, ProcNode node, OpenFlags flags) => node switch
    {
        ProcDirectoryNode directory => new SyntheticDirectory(directory.Path, () => List(thread, directory), Status(thread, node)),
        ProcFileNode file => new GeneratedFile(file.Path, file.Content, Status(thread, node), flags),
        _ => throw new InvalidOperationException($"{node.Path} cannot be opened as a /proc file"),
    };

    /// <summary>What stat says about a /proc node: owned by the guest's user, on the host's proc device.</summary>
    public static LinuxStat Status(GuestThread thread, ProcNode node)
    {
        var now = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks;
        var (kind, permissions, links) = node switch
        {
            ProcDirectoryNode directory => (0x4000u, directory.Permissions, 2ul), // S_IFDIR
            ProcLinkNode => (0xa000u, 0b111_111_111u, 1ul), // S_IFLNK, 0777
            ProcFileNode file => (0x8000u, file.Permissions, 1ul), // S_IFREG
            _ => (0x8000u, 0b100_100_100u, 1ul),
        };
        return new LinuxStat
        {
            Device = ProcDevice(),
            Inode = InodeOf(node.Path),
            LinkCount = links,
            Mode = kind | permissions,
            UserId = HostIdentity.UserId,
            GroupId = HostIdentity.GroupId,
            BlockSize = 1024,
            AccessSeconds = now / TimeSpan.TicksPerSecond,
            ModifySeconds = now / TimeSpan.TicksPerSecond,
            ChangeSeconds = now / TimeSpan.TicksPerSecond,
        };
    }

    private static IReadOnlyList<DirectoryEntry> List(GuestThread thread, ProcDirectoryNode directory)
    {
        var parent = directory.Path == Root ? "/" : directory.Path[..directory.Path.LastIndexOf('/')];
        var entries = new List<DirectoryEntry>
        {
            new(".", InodeOf(directory.Path), 4),
            new("..", InodeOf(parent.Length == 0 ? "/" : parent), 4),
        };
        foreach (var name in directory.Names())
        {
            var type = directory.Child(name) switch
            {
                ProcDirectoryNode => (byte)4, // DT_DIR
                ProcLinkNode => (byte)10, // DT_LNK
                HostPathNode host => Directory.Exists(host.Path) ? (byte)4 : (byte)8,
                null => (byte)0,
                _ => (byte)8, // DT_REG
            };
            if (type != 0)
                entries.Add(new DirectoryEntry(name, InodeOf(directory.Path + "/" + name), type));
        }
        return entries;
    }

    internal static ProcDirectoryNode RootDirectory(GuestThread thread)
    {
        var kernel = thread.Kernel;
        return new ProcDirectoryNode(Root,
            () =>
            {
                var names = new List<string> { "self", "thread-self", "cpuinfo", "meminfo", "mounts" };
                names.AddRange(kernel.Processes.Where(p => p.Exit is null).Select(p => p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                names.AddRange(HostEntries.Where(name => Path.Exists(Root + "/" + name)));
                return names;
            },
            name => name switch
            {
                "self" => new ProcLinkNode(Root + "/self", $"{thread.Process.Id}", null),
                "thread-self" => new ProcLinkNode(Root + "/thread-self", $"{thread.Process.Id}/task/{thread.Id}", null),
                "mounts" => new ProcLinkNode(Root + "/mounts", "self/mounts", null),
                "cpuinfo" => thread.Process.Cpu.IsHostCpu ? new HostPathNode(Root + "/cpuinfo") : new ProcFileNode(Root + "/cpuinfo", 0b100_100_100, () => ProcText.CpuInfo()),
                "meminfo" when kernel.Determinism is not null => new ProcFileNode(Root + "/meminfo", 0b100_100_100, () => ProcText.FixedMemoryInfo()),
                "meminfo" => new ProcFileNode(Root + "/meminfo", 0b100_100_100, () => ProcText.MemoryInfo()),
                // A deterministic run shows its own uptime and no load, never the host's changing figures.
                "uptime" when kernel.Determinism is not null => new ProcFileNode(Root + "/uptime", 0b100_100_100, () => ProcText.Uptime(kernel.Clock.Monotonic)),
                "loadavg" when kernel.Determinism is not null => new ProcFileNode(Root + "/loadavg", 0b100_100_100,
                    () => System.Text.Encoding.ASCII.GetBytes($"0.00 0.00 0.00 1/{kernel.Processes.Count} {kernel.Processes.Max(p => p.Id)}\n")),
                _ when HostEntries.Contains(name) => Path.Exists(Root + "/" + name) ? new HostPathNode(Root + "/" + name) : null,
                _ when int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                    && kernel.FindProcess(id) is { } process => ProcessDirectory(thread, process, Root + "/" + name, process.MainThread, withTasks: true),
                _ => null,
            });
    }

    /// <summary>/proc/PID, and /proc/PID/task/TID (the same but without task).</summary>
    private static ProcDirectoryNode ProcessDirectory(GuestThread reader, Process process, string path, GuestThread thread, bool withTasks)
    {
        const uint ReadAll = 0b100_100_100, ReadOwner = 0b100_000_000;
        return new ProcDirectoryNode(path,
            () => withTasks ? ProcessEntries : ProcessEntries.Where(name => name != "task").ToArray(),
            name => name switch
            {
                "exe" when process.Executable is { } exe => MagicLink(reader, path + "/exe", exe.Path, () => exe.Clone()),
                "cwd" => MagicLink(reader, path + "/cwd", process.FileSystem.WorkingDirectory.Path, () => process.FileSystem.WorkingDirectory.Clone()),
                "root" => MagicLink(reader, path + "/root", process.FileSystem.Root.Path, () => process.FileSystem.Root.Clone()),
                "fd" => FileDirectory(reader, process, path + "/fd"),
                "fdinfo" => FileInfoDirectory(reader, process, path + "/fdinfo"),
                "task" when withTasks => new ProcDirectoryNode(path + "/task",
                    () => process.Threads.Select(t => t.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList(),
                    tid => process.Threads.FirstOrDefault(t => t.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) == tid) is { } task
                        ? ProcessDirectory(reader, process, path + "/task/" + tid, task, withTasks: false) : null),
                "maps" => new ProcFileNode(path + "/maps", ReadAll, () => ProcText.Maps(process)),
                "status" => new ProcFileNode(path + "/status", ReadAll, () => ProcText.Status(process, thread)),
                "stat" => new ProcFileNode(path + "/stat", ReadAll, () => ProcText.Stat(process, thread)),
                "statm" => new ProcFileNode(path + "/statm", ReadAll, () => ProcText.StatMemory(process)),
                "cmdline" => new ProcFileNode(path + "/cmdline", ReadAll, () => ProcText.Strings(process, process.Arguments)),
                "environ" => new ProcFileNode(path + "/environ", ReadOwner, () => ProcText.Strings(process, process.Environment)),
                "auxv" => new ProcFileNode(path + "/auxv", ReadOwner, () => process.AuxiliaryVector),
                "comm" => new ProcFileNode(path + "/comm", ReadAll | 0b010_000_000, () => ProcText.Line(process.Command)),
                "mounts" => new ProcFileNode(path + "/mounts", ReadAll, () => ProcVfs.Mounts(process, info: false)),
                "mountinfo" => new ProcFileNode(path + "/mountinfo", ReadAll, () => ProcVfs.Mounts(process, info: true)),
                _ => null,
            });
    }

    /// <summary>/proc/PID/fd: one magic link per guest descriptor, to the open file itself.</summary>
    private static ProcDirectoryNode FileDirectory(GuestThread reader, Process process, string path)
        => new(path, () => DescriptorNames(process),
            name =>
            {
                if (OpenDescriptor(process, name) is not ({ } file, _))
                    return null;
                var kernel = reader.Kernel;
                if (PathWalker.LocationOf(kernel, file, null) is { } location)
                    return MagicLink(reader, path + "/" + name, location.Path, () => PathWalker.LocationOf(kernel, file, null) is { } again ? new Location(again.Mount, again.Node.Clone(), again.Path) : null);
                // Files outside the namespace (pipes, inherited descriptors): the link text names them; following it reaches the open file.
                var text = file.HostDescriptor is { } host ? HostLinks.Read($"/proc/self/fd/{host}") ?? file.Path : file.Path;
                return new ProcLinkNode(path + "/" + name, text, null, () => ProcVfs.OpenFileLocation(kernel, file));
            },
            permissions: 0b101_000_000); // dr-x------: only the owner sees what a process has open

    /// <summary>/proc/PID/fdinfo: per guest descriptor, its position, flags, mount and inode (fs/proc/fd.c's seq_show).</summary>
    private static ProcDirectoryNode FileInfoDirectory(GuestThread reader, Process process, string path)
        => new(path, () => DescriptorNames(process),
            name => OpenDescriptor(process, name) is (not null, var fd)
                ? new ProcFileNode(path + "/" + name, 0b100_000_000, () => ProcText.FileInfo(reader.Kernel, process.Files, fd))
                : null,
            permissions: 0b101_000_000);

    /// <summary>fd/'s and fdinfo/'s entries: the process's descriptors in decimal.</summary>
    private static List<string> DescriptorNames(Process process)
        => process.Files.All().Select(entry => entry.Fd.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();

    /// <summary>The open file an fd/ or fdinfo/ entry names (null for a name that is not a descriptor of the process).</summary>
    private static (OpenFile? File, int Fd) OpenDescriptor(Process process, string name)
        => int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var fd)
            ? (process.Files.Get(fd), fd)
            : (null, -1);

    /// <summary>A magic link whose text is the target's path as the reader (with its root) sees it.</summary>
    private static ProcLinkNode MagicLink(GuestThread reader, string path, byte[] target, Func<Location?> follow)
    {
        var shown = PathWalker.Show(target, reader.Process.FileSystem.Root.Path);
        return new ProcLinkNode(path, System.Text.Encoding.UTF8.GetString(shown), null, follow, shown);
    }

    /// <summary>A stable inode number for a /proc path.</summary>
    internal static ulong InodeOf(string path)
    {
        var hash = 14695981039346656037UL; // FNV-1a
        foreach (var character in path)
            hash = (hash ^ character) * 1099511628211UL;
        return (hash & 0x7fff_ffff) | 0x1000;
    }

    private static unsafe ulong ProcDevice()
    {
        LinuxStat status;
        var path = HostStrings.Pin(Root, out var handle);
        var result = HostSyscall.Invoke(HostSyscall.Newfstatat, HostPath.CurrentDirectory, path, (long)&status, 0);
        handle.Free();
        return result < 0 ? 0 : status.Device;
    }
}
