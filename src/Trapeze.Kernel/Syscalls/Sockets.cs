using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Net;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// Sockets themselves: making, naming, connecting and accepting them. AF_UNIX sockets live inside
/// Trapeze (<see cref="LocalSocket"/>); AF_INET and AF_INET6 are host sockets under --net host
/// (<see cref="HostSocket"/>) and loopback-only local sockets under --net none.
/// </summary>
public static class Sockets
{
    private const int TypeMask = 0xf;
    private const SocketTypeFlags KnownTypeFlags = SocketTypeFlags.SOCK_NONBLOCK | SocketTypeFlags.SOCK_CLOEXEC;

    [Syscall("socket", Returns = ResultKind.Fd, Support = Support.Partial, Note = "AF_UNIX inside Trapeze; AF_INET/AF_INET6 (and AF_NETLINK) as host sockets, or loopback TCP/UDP inside Trapeze with --net none; no AF_PACKET")]
    public static Result Create(GuestThread thread, AddressFamily family, [Argument(ArgumentKind.SocketType)] int type, [Argument(ArgumentKind.SocketProtocol)] int protocol)
    {
        if (New(thread, family, type, protocol, out var socket) is { IsError: true } error)
            return error;
        return Install(thread, socket!, type);
    }

    [Syscall("socketpair", Support = Support.Partial, Note = "AF_UNIX stream, datagram and seqpacket; other families EOPNOTSUPP as Linux")]
    public static Result CreatePair(GuestThread thread, AddressFamily family, [Argument(ArgumentKind.SocketType)] int type, [Argument(ArgumentKind.SocketProtocol)] int protocol, GuestAddress descriptors)
    {
        if (family != AddressFamily.AF_UNIX)
            return family is AddressFamily.AF_INET or AddressFamily.AF_INET6 ? Errno.EOPNOTSUPP : Errno.EAFNOSUPPORT;
        if (CheckType(family, type, protocol) is { IsError: true } invalid)
            return invalid;
        var (first, second) = LocalSocket.Pair(thread, thread.Kernel.Network, family, (SocketType)(type & TypeMask), protocol);
        var one = Install(thread, first, type);
        if (one.IsError)
        {
            second.Release();
            return one;
        }
        var two = Install(thread, second, type);
        if (two.IsError)
        {
            thread.Process.Files.Close((int)one.Raw);
            return two;
        }
        if (thread.Memory.Write(descriptors, (int)one.Raw) is not Errno.None || thread.Memory.Write(descriptors + 4UL, (int)two.Raw) is not Errno.None)
        {
            thread.Process.Files.Close((int)one.Raw);
            thread.Process.Files.Close((int)two.Raw);
            return Errno.EFAULT;
        }
        return 0;
    }

    [Syscall("bind", Support = Support.Partial, Note = "AF_UNIX paths through the VFS and abstract names; inet on the host (or loopback with --net none)")]
    public static Result Bind(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.SocketAddress, SizeFrom = nameof(length))] GuestAddress address, int length)
        => WithAddress(thread, fd, address, length, (socket, bytes) => socket.Bind(thread, bytes));

    [Syscall("connect", Support = Support.Partial, Note = "non-blocking connects give EINPROGRESS, then SO_ERROR; AF_UNSPEC dissolves a datagram association")]
    public static Result Connect(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.SocketAddress, SizeFrom = nameof(length))] GuestAddress address, int length)
        => WithAddress(thread, fd, address, length, (socket, bytes) => socket.Connect(thread, bytes));

    [Syscall("listen", Support = Support.Full)]
    public static Result Listen(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, int backlog)
        => SocketOf(thread, fd, out var socket) is { IsError: true } error ? error : socket!.Listen(thread, backlog);

    [Syscall("accept", Returns = ResultKind.Fd, Support = Support.Full)]
    public static Result Accept(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.SocketAddress, Direction = Direction.Out, SizeFrom = nameof(length))] GuestAddress address, [Argument(ArgumentKind.SocketLength, Direction = Direction.Out)] GuestAddress length)
        => Accept4(thread, fd, address, length, 0);

    [Syscall("accept4", Returns = ResultKind.Fd, Support = Support.Full)]
    public static Result Accept4(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.SocketAddress, Direction = Direction.Out, SizeFrom = nameof(length))] GuestAddress address, [Argument(ArgumentKind.SocketLength, Direction = Direction.Out)] GuestAddress length, SocketTypeFlags flags)
    {
        if ((flags & ~KnownTypeFlags) != 0)
            return Errno.EINVAL;
        if (SocketOf(thread, fd, out var socket) is { IsError: true } error)
            return error;
        if (!address.IsNull)
        {
            if (thread.Memory.Read(length, out int capacity) is var fault and not Errno.None)
                return fault;
            if (capacity < 0)
                return Errno.EINVAL;
        }
        var result = socket!.Accept(thread, (flags & SocketTypeFlags.SOCK_NONBLOCK) != 0, out var accepted, out var peer);
        if (result.IsError || !result.IsFinished)
            return result;
        var number = thread.Process.Files.Add(accepted!, (flags & SocketTypeFlags.SOCK_CLOEXEC) != 0);
        if (number.IsError)
        {
            accepted!.Release();
            return number;
        }
        if (SocketAddresses.Write(thread.Memory, address, length, peer ?? []) is { IsError: true } writeFault)
        {
            thread.Process.Files.Close((int)number.Raw);
            return writeFault;
        }
        return number;
    }

    [Syscall("getsockname", Support = Support.Full)]
    public static Result GetSocketName(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.SocketAddress, Direction = Direction.Out, SizeFrom = nameof(length))] GuestAddress address, [Argument(ArgumentKind.SocketLength, Direction = Direction.Out)] GuestAddress length)
        => Name(thread, fd, address, length, peer: false);

    [Syscall("getpeername", Support = Support.Full)]
    public static Result GetPeerName(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.SocketAddress, Direction = Direction.Out, SizeFrom = nameof(length))] GuestAddress address, [Argument(ArgumentKind.SocketLength, Direction = Direction.Out)] GuestAddress length)
        => Name(thread, fd, address, length, peer: true);

    [Syscall("shutdown", Support = Support.Full)]
    public static Result Shutdown(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, ShutdownHow how)
        => SocketOf(thread, fd, out var socket) is { IsError: true } error ? error : socket!.Shutdown(how);

    /// <summary>The socket behind <paramref name="fd"/>: EBADF for no file, ENOTSOCK for another kind.</summary>
    internal static Result SocketOf(GuestThread thread, int fd, out Socket? socket)
    {
        socket = thread.Process.Files.Get(fd) as Socket;
        if (socket is not null)
            return 0;
        return thread.Process.Files.Get(fd) is null ? Errno.EBADF : Errno.ENOTSOCK;
    }

    private static Result WithAddress(GuestThread thread, int fd, GuestAddress address, int length, Func<Socket, byte[], Result> call)
    {
        if (SocketOf(thread, fd, out var socket) is { IsError: true } error)
            return error;
        if (SocketAddresses.Read(thread.Memory, address, length, out var bytes) is var fault and not Errno.None)
            return fault;
        return call(socket!, bytes);
    }

    private static Result Name(GuestThread thread, int fd, GuestAddress address, GuestAddress length, bool peer)
    {
        var file = thread.Process.Files.Get(fd);
        if (file is null)
            return Errno.EBADF;
        if (file is not Socket socket)
            return InheritedName(thread, file, address, length, peer);
        var result = peer ? socket.PeerAddress(out var bytes) : socket.LocalAddress(out bytes);
        if (result.IsError)
            return result;
        if (thread.Memory.Read(length, out int capacity) is var fault and not Errno.None)
            return fault;
        return capacity < 0 ? Errno.EINVAL : SocketAddresses.Write(thread.Memory, address, length, bytes);
    }

    /// <summary>A host socket the guest inherited as a plain host file (a socket Trapeze was started with).</summary>
    private static unsafe Result InheritedName(GuestThread thread, OpenFile file, GuestAddress address, GuestAddress length, bool peer)
    {
        if (file.HostDescriptor is not { } host)
            return Errno.ENOTSOCK;
        if (thread.Memory.Read(length, out int capacity) is var fault and not Errno.None)
            return fault;
        if (capacity < 0)
            return Errno.EINVAL;
        var buffer = stackalloc byte[SocketAddresses.MaximumLength];
        var size = SocketAddresses.MaximumLength;
        var result = Host.HostSyscall.Invoke(peer ? Host.HostSyscall.Getpeername : Host.HostSyscall.Getsockname, host, (long)buffer, (long)&size);
        return result < 0 ? result : SocketAddresses.Write(thread.Memory, address, length, new ReadOnlySpan<byte>(buffer, Math.Min(size, SocketAddresses.MaximumLength)));
    }

    private static Result CheckType(AddressFamily family, int type, int protocol)
    {
        if ((type & ~TypeMask & ~(int)KnownTypeFlags) != 0)
            return Errno.EINVAL;
        var kind = (SocketType)(type & TypeMask);
        if (family == AddressFamily.AF_UNIX)
        {
            if (kind is not (SocketType.SOCK_STREAM or SocketType.SOCK_DGRAM or SocketType.SOCK_SEQPACKET))
                return Errno.ESOCKTNOSUPPORT;
            return protocol is 0 or 1 ? 0 : Errno.EPROTONOSUPPORT; // PF_UNIX is accepted as the protocol too
        }
        return 0;
    }

    private static Result New(GuestThread thread, AddressFamily family, int type, int protocol, out Socket? socket)
    {
        socket = null;
        if (CheckType(family, type, protocol) is { IsError: true } invalid)
            return invalid;
        var kind = (SocketType)(type & TypeMask);
        var network = thread.Kernel.Network;
        switch (family)
        {
            case AddressFamily.AF_UNIX:
                socket = new LocalSocket(network, family, kind, protocol, thread.Kernel.NewInode());
                return 0;
            case AddressFamily.AF_INET or AddressFamily.AF_INET6 when network.Mode == NetworkMode.None:
                const int Tcp = 6, Udp = 17;
                if (kind is not (SocketType.SOCK_STREAM or SocketType.SOCK_DGRAM))
                    return kind == SocketType.SOCK_RAW ? Errno.EPERM : Errno.ESOCKTNOSUPPORT;
                if (protocol != 0 && protocol != (kind == SocketType.SOCK_STREAM ? Tcp : Udp))
                    return Errno.EPROTONOSUPPORT;
                socket = new LocalSocket(network, family, kind, protocol, thread.Kernel.NewInode());
                return 0;
            case AddressFamily.AF_INET or AddressFamily.AF_INET6 or AddressFamily.AF_NETLINK when network.Mode == NetworkMode.Host:
                return HostSocket.Create(thread.Kernel, family, kind, protocol, out socket);
            default:
                return Errno.EAFNOSUPPORT;
        }
    }

    private static Result Install(GuestThread thread, Socket socket, int type)
    {
        if ((type & (int)SocketTypeFlags.SOCK_NONBLOCK) != 0)
            socket.StatusFlags |= OpenFlags.O_NONBLOCK;
        var result = thread.Process.Files.Add(socket, (type & (int)SocketTypeFlags.SOCK_CLOEXEC) != 0);
        if (result.IsError)
            socket.Release();
        return result;
    }
}
