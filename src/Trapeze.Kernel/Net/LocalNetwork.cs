using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;
using Trapeze.Kernel.Vfs;

namespace Trapeze.Kernel.Net;

/// <summary>How the guest reaches networks: through host sockets, or only inside Trapeze.</summary>
public enum NetworkMode
{
    /// <summary>--net host: AF_INET and AF_INET6 sockets are host sockets.</summary>
    Host,

    /// <summary>--net none: loopback only, inside Trapeze; no host socket is ever made.</summary>
    None,
}

/// <summary>
/// The names local sockets are found by, per kernel: AF_UNIX paths (by the socket file's device and
/// inode, so a name is found however the path reaches it, and --root is respected), abstract names,
/// and under --net none the loopback's ports.
/// </summary>
public sealed class LocalNetwork
{
    private const ushort FirstEphemeral = 32768, LastEphemeral = 60999; // net.ipv4.ip_local_port_range

    private readonly Dictionary<InodeKey, LocalSocket> paths = [];
    private readonly Dictionary<string, LocalSocket> abstractNames = [];
    private readonly Dictionary<(bool Stream, ushort Port), LocalSocket> ports = [];
    private ushort nextEphemeral = FirstEphemeral;
    private int nextAutobind;

    public NetworkMode Mode { get; init; } = NetworkMode.Host;

    /// <summary>Gives <paramref name="socket"/> the name <paramref name="address"/> asks for; <paramref name="bound"/> is the name it got.</summary>
    public Result Bind(GuestThread thread, LocalSocket socket, byte[] address, out byte[] bound)
    {
        bound = address;
        if (socket.Family == AddressFamily.AF_UNIX)
            return BindUnix(thread, socket, address, out bound);
        if (!SocketAddresses.IsLocal(address, out _))
            return Errno.EADDRNOTAVAIL;
        var port = SocketAddresses.PortOf(address);
        if (port == 0)
            port = Ephemeral(socket.IsConnectionBased);
        if (port == 0)
            return Errno.EADDRINUSE;
        if (ports.ContainsKey((socket.IsConnectionBased, port)))
            return Errno.EADDRINUSE;
        ports[(socket.IsConnectionBased, port)] = socket;
        bound = (byte[])address.Clone();
        SocketAddresses.SetPort(bound, port);
        return 0;
    }

    /// <summary>A name for a socket that sends or connects unnamed: a free port on loopback, or an autobind abstract name.</summary>
    public Result AutoBind(GuestThread thread, LocalSocket socket, out byte[] bound)
    {
        if (socket.Family != AddressFamily.AF_UNIX)
            return Bind(thread, socket, SocketAddresses.Internet(socket.Family, loopback: true, 0), out bound);
        // Linux's autobind: five hex digits in the abstract namespace.
        var name = System.Text.Encoding.ASCII.GetBytes($"\0{nextAutobind++ & 0xfffff:x5}");
        return Bind(thread, socket, [(byte)AddressFamily.AF_UNIX, 0, .. name], out bound);
    }

    private ushort Ephemeral(bool stream)
    {
        for (var tries = 0; tries <= LastEphemeral - FirstEphemeral; tries++)
        {
            var port = nextEphemeral;
            nextEphemeral = port == LastEphemeral ? FirstEphemeral : (ushort)(port + 1);
            if (!ports.ContainsKey((stream, port)))
                return port;
        }
        return 0;
    }

    private Result BindUnix(GuestThread thread, LocalSocket socket, byte[] address, out byte[] bound)
    {
        bound = address;
        if (address.Length == SocketAddresses.UnixPathOffset)
            return AutoBind(thread, socket, out bound);
        if (address[SocketAddresses.UnixPathOffset] == 0)
        {
            var key = AbstractKey(address);
            if (!abstractNames.TryAdd(key, socket))
                return Errno.EADDRINUSE;
            return 0;
        }
        var path = UnixPath(address);
        if (PathWalker.Walk(thread, -100, path, WalkFlags.AllowMissing, out var walk) is var error and not Errno.None)
            return error;
        using (walk)
        {
            if (walk.Target is not null)
                return Errno.EADDRINUSE;
            if (walk.Name is not { } name || walk.TrailingSlash)
                return Errno.ENOENT;
            if (walk.Directory.Mount.ReadOnly)
                return Errno.EROFS;
            var directory = walk.Directory.Node;
            var mode = FileTypes.Socket | (0x1ff & ~thread.Process.FileCreationMask);
            if (directory.FileSystem.MakeNode(thread, directory, name, mode, 0) is var made and not Errno.None)
                return made;
            thread.Kernel.Notifications.Created(walk.Directory, name, isDirectory: false);
            if (directory.FileSystem.Lookup(thread, directory, name, out var node) is var lookup and not Errno.None)
                return lookup;
            using (node)
            {
                paths[node!.Identity] = socket;
                socket.PathKey = node.Identity;
            }
        }
        // The name is the path up to its end, as the guest gave it (getsockname shows it so).
        bound = address[..Math.Min(address.Length, SocketAddresses.UnixPathOffset + path.Length + 1)];
        return 0;
    }

    /// <summary>The socket an address names, for connect and sendto.</summary>
    public Result Find(GuestThread thread, AddressFamily family, bool stream, byte[] address, out LocalSocket? target)
    {
        target = null;
        if (family != AddressFamily.AF_UNIX)
        {
            if (!SocketAddresses.IsLocal(address, out _))
                return Errno.ENETUNREACH;
            return ports.TryGetValue((stream, SocketAddresses.PortOf(address)), out target) ? 0 : Errno.ECONNREFUSED;
        }
        if (address.Length <= SocketAddresses.UnixPathOffset)
            return Errno.EINVAL;
        if (address[SocketAddresses.UnixPathOffset] == 0)
            return abstractNames.TryGetValue(AbstractKey(address), out target) ? 0 : Errno.ECONNREFUSED;
        // As unix_find_bsd: a symbolic link to a socket file reaches the socket.
        if (PathWalker.Walk(thread, -100, UnixPath(address), WalkFlags.FollowLast, out var walk) is var error and not Errno.None)
            return error;
        using (walk)
        {
            if (walk.Target is not { } found)
                return Errno.ENOENT;
            if (found.Node.FileSystem.Access(thread, found.Node, AccessMode.W_OK, effective: true) is var denied and not Errno.None)
                return denied;
            if ((found.Node.Mode & FileTypes.Mask) != FileTypes.Socket || !paths.TryGetValue(found.Node.Identity, out target))
                return Errno.ECONNREFUSED;
            return 0;
        }
    }

    /// <summary>A socket closes: its name is free again (a path's socket file stays, as on Linux).</summary>
    public void Unbind(LocalSocket socket, byte[]? name)
    {
        if (name is null)
            return;
        if (socket.Family != AddressFamily.AF_UNIX)
        {
            var key = (socket.IsConnectionBased, SocketAddresses.PortOf(name));
            if (ports.TryGetValue(key, out var bound) && bound == socket)
                ports.Remove(key);
        }
        else if (socket.PathKey is { } pathKey && paths.TryGetValue(pathKey, out var byPath) && byPath == socket)
        {
            paths.Remove(pathKey);
        }
        else if (name.Length > SocketAddresses.UnixPathOffset && name[SocketAddresses.UnixPathOffset] == 0
            && abstractNames.TryGetValue(AbstractKey(name), out var byName) && byName == socket)
        {
            abstractNames.Remove(AbstractKey(name));
        }
    }

    /// <summary>An abstract name is every byte after the leading NUL, up to the address's length.</summary>
    private static string AbstractKey(byte[] address) => Convert.ToHexString(address, SocketAddresses.UnixPathOffset, address.Length - SocketAddresses.UnixPathOffset);

    /// <summary>sun_path up to its first NUL.</summary>
    private static byte[] UnixPath(byte[] address)
    {
        var path = address.AsSpan(SocketAddresses.UnixPathOffset);
        var end = path.IndexOf((byte)0);
        return (end < 0 ? path : path[..end]).ToArray();
    }
}
