using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Net;

/// <summary>
/// A socket inside Trapeze: AF_UNIX stream, seqpacket and datagram sockets, and under --net none the
/// loopback's TCP (stream) and UDP (datagram) sockets, which behave the same between two ends in one
/// kernel. Data waits in the receiver's queue as packets, each with what came along (passed files,
/// credentials, the sender's name); a stream reads across packets, the others one packet a call.
/// </summary>
public sealed partial class LocalSocket : Socket
{
    /// <summary>Bytes a receiver queues at most (net.core.wmem_default); datagrams at most (net.unix.max_dgram_qlen).</summary>
    private const int Capacity = 212992, DatagramQueue = 512;

    /// <summary>The largest UDP payload over IPv4 (65535 less the IP and UDP headers).</summary>
    private const int LargestUdp = 65507;

    private enum State
    {
        Open,
        Listening,
        Connected,
        Closed,
    }

    private sealed class Packet(byte[] data)
    {
        public byte[] Data { get; } = data;
        public int Offset { get; set; }
        public int Left => Data.Length - Offset;
        public byte[]? From { get; init; }
        public LocalSocket? Sender { get; init; }
        public List<OpenFile>? Rights { get; set; }
        public Credentials? Credentials { get; init; }
    }

    private readonly LocalNetwork network;
    private readonly Queue<Packet> incoming = new();
    private readonly Queue<LocalSocket> backlog = new();
    private readonly Dictionary<(int Level, int Name), byte[]> options = [];
    private State state;
    private int queuedBytes;
    private int backlogLimit;
    private byte[]? name;
    private byte[]? peerName;
    private LocalSocket? peer;
    private bool readShut, writeShut, peerWriteShut;
    private Credentials listenerCredentials;

    public LocalSocket(LocalNetwork network, AddressFamily family, SocketType type, int protocol, ulong inode)
        : base(family, type, protocol, inode) => this.network = network;

    /// <summary>Woken whenever data, room, connections or shutdowns change.</summary>
    public WaitQueue Changes { get; } = new();

    /// <summary>Stream and seqpacket sockets connect; datagram sockets only remember a default peer.</summary>
    public bool IsConnectionBased => Type != SocketType.SOCK_DGRAM;

    /// <summary>The socket file a path name made (AF_UNIX), to forget the name on close.</summary>
    internal Vfs.InodeKey? PathKey { get; set; }

    /// <summary>SO_PEERCRED: who connected (or made the pair, or listened).</summary>
    public Credentials? PeerCredentials { get; private set; }

    private bool PassCredentials => options.TryGetValue(((int)SocketLevel.SOL_SOCKET, (int)SocketOption.SO_PASSCRED), out var on) && on.AsSpan().IndexOfAnyExcept((byte)0) >= 0;

    public static Credentials CredentialsOf(GuestThread thread)
        => new(thread.Process.Id, thread.Kernel.Credentials.UserId, thread.Kernel.Credentials.GroupId);

    /// <summary>socketpair: two connected sockets.</summary>
    public static (LocalSocket, LocalSocket) Pair(GuestThread thread, LocalNetwork network, AddressFamily family, SocketType type, int protocol)
    {
        var first = new LocalSocket(network, family, type, protocol, thread.Kernel.NewInode());
        var second = new LocalSocket(network, family, type, protocol, thread.Kernel.NewInode());
        first.Join(second, CredentialsOf(thread));
        second.PeerCredentials = CredentialsOf(thread);
        return (first, second);
    }

    private void Join(LocalSocket other, Credentials credentials)
    {
        (peer, other.peer) = (other, this);
        (state, other.state) = (State.Connected, State.Connected);
        PeerCredentials = credentials;
    }

    private void Touch()
    {
        Changes.Notify();
        peer?.Changes.Notify();
    }

    private byte[] Unnamed => Family == AddressFamily.AF_UNIX ? SocketAddresses.UnixUnnamed() : SocketAddresses.Internet(Family, loopback: false, 0);

    public override Result Bind(GuestThread thread, byte[] address)
    {
        if (SocketAddresses.FamilyOf(address) != Family || address.Length < (Family == AddressFamily.AF_UNIX ? 2 : Family == AddressFamily.AF_INET6 ? 24 : 16))
            return address.Length < 2 ? Errno.EINVAL : Family == AddressFamily.AF_UNIX ? Errno.EINVAL : Errno.EAFNOSUPPORT;
        if (name is not null)
            return Errno.EINVAL;
        if (network.Bind(thread, this, address, out var bound) is var error and { IsError: true })
            return error;
        name = bound;
        return 0;
    }

    public override Result Listen(GuestThread thread, int backlogSize)
    {
        if (!IsConnectionBased)
            return Errno.EOPNOTSUPP;
        if (state == State.Connected)
            return Errno.EINVAL;
        if (name is null)
            return Family == AddressFamily.AF_UNIX ? Errno.EINVAL : Errno.EDESTADDRREQ;
        state = State.Listening;
        listenerCredentials = CredentialsOf(thread);
        backlogLimit = Math.Clamp(backlogSize, 1, 4096);
        Touch();
        return 0;
    }

    public override Result Accept(GuestThread thread, bool nonBlocking, out Socket? accepted, out byte[]? peerAddress)
    {
        accepted = null;
        peerAddress = null;
        if (!IsConnectionBased)
            return Errno.EOPNOTSUPP;
        if (state != State.Listening)
            return Errno.EINVAL;
        if (backlog.Count == 0)
            return NonBlocking ? Errno.EAGAIN : Wait(thread, new Wait(Changes), sending: false);
        var connection = backlog.Dequeue();
        connection.StatusFlags = nonBlocking ? OpenFlags.O_RDWR | OpenFlags.O_NONBLOCK : OpenFlags.O_RDWR;
        accepted = connection;
        peerAddress = connection.peerName ?? Unnamed;
        Touch();
        return 0;
    }

    public override Result Connect(GuestThread thread, byte[] address)
    {
        if (address.Length >= 2 && SocketAddresses.FamilyOf(address) == AddressFamily.AF_UNSPEC && !IsConnectionBased)
        {
            // AF_UNSPEC dissolves a datagram socket's association.
            (peer, peerName) = (null, null);
            return 0;
        }
        if (SocketAddresses.FamilyOf(address) != Family)
            return Family == AddressFamily.AF_UNIX ? Errno.EINVAL : Errno.EAFNOSUPPORT;
        if (state == State.Connected && IsConnectionBased)
            return Errno.EISCONN;
        if (state == State.Listening)
            return Errno.EINVAL;
        if (network.Find(thread, Family, IsConnectionBased, address, out var target) is var missing and { IsError: true })
            return missing;
        if (target!.Type != Type)
            return Errno.EPROTOTYPE;
        if (!IsConnectionBased)
        {
            if (name is null && Family != AddressFamily.AF_UNIX && AutoBind(thread) is { IsError: true } failed)
                return failed;
            (peer, peerName) = (target, target.name);
            return 0;
        }
        if (target.state != State.Listening)
            return Errno.ECONNREFUSED;
        if (target.backlog.Count >= target.backlogLimit)
            return NonBlocking ? Errno.EAGAIN : Wait(thread, new Wait(target.Changes), sending: true);
        if (name is null && Family != AddressFamily.AF_UNIX && AutoBind(thread) is { IsError: true } unbound)
            return unbound;
        // The server's end exists at once, waiting in the backlog until accept takes it.
        var server = new LocalSocket(network, Family, Type, Protocol, thread.Kernel.NewInode()) { name = target.name };
        server.Join(this, CredentialsOf(thread));
        server.peerName = name;
        server.options.EnsureCapacity(target.options.Count);
        foreach (var (key, value) in target.options)
            server.options[key] = value;
        PeerCredentials = target.listenerCredentials;
        peerName = target.name;
        target.backlog.Enqueue(server);
        target.Changes.Notify();
        // Linux's TCP connects a non-blocking socket in the background, even on loopback.
        return Family != AddressFamily.AF_UNIX && NonBlocking ? Errno.EINPROGRESS : 0;
    }

    private Result AutoBind(GuestThread thread)
    {
        if (network.AutoBind(thread, this, out var bound) is { IsError: true } error)
            return error;
        name = bound;
        return 0;
    }

    public override Result Shutdown(ShutdownHow how)
    {
        if (how is < ShutdownHow.SHUT_RD or > ShutdownHow.SHUT_RDWR)
            return Errno.EINVAL;
        if (IsConnectionBased && state != State.Connected)
            return Errno.ENOTCONN;
        if (how != ShutdownHow.SHUT_WR)
            readShut = true;
        if (how != ShutdownHow.SHUT_RD)
        {
            writeShut = true;
            if (peer is not null)
                peer.peerWriteShut = true;
        }
        Touch();
        return 0;
    }

    public override Result LocalAddress(out byte[] address)
    {
        address = name ?? Unnamed;
        return 0;
    }

    public override Result PeerAddress(out byte[] address)
    {
        address = [];
        if (peer is null || (IsConnectionBased && state != State.Connected))
            return Errno.ENOTCONN;
        address = peerName ?? Unnamed;
        return 0;
    }

    public override short? Readiness(out WaitQueue? changes)
    {
        const short In = 0x001 | 0x040, Out = 0x004 | 0x100, HangUp = 0x010, ReadHangUp = 0x2000;
        changes = Changes;
        if (state == State.Listening)
            return backlog.Count > 0 ? In : (short)0;
        short events = 0;
        if (incoming.Count > 0 || readShut || peerWriteShut)
            events |= In;
        if (peerWriteShut)
            events |= ReadHangUp;
        if (!IsConnectionBased)
            return peer is { } target && !target.HasRoom(1) ? events : (short)(events | Out);
        var peerGone = peer is null || peer.state == State.Closed;
        if (state != State.Connected || (writeShut && peerWriteShut) || peerGone)
            events |= HangUp;
        if (state == State.Connected && !writeShut && (peerGone || peer!.HasRoom(1)))
            events |= Out;
        return events;
    }

    private bool HasRoom(int bytes)
        => queuedBytes + bytes <= Capacity && (IsStream || incoming.Count < DatagramQueue);

    public override Result Status(out LinuxStat status)
    {
        base.Status(out status);
        status.Mode = Vfs.FileTypes.Socket | 0x1ff;
        return 0;
    }

    public override Result Control(IoctlRequest request, GuestMemory memory, GuestAddress argument)
    {
        const uint QueuedOut = 0x5411; // SIOCOUTQ
        switch (request)
        {
            case IoctlRequest.FIONBIO:
                if (memory.Read(argument, out int on) is var fault and not Errno.None)
                    return fault;
                StatusFlags = on != 0 ? StatusFlags | OpenFlags.O_NONBLOCK : StatusFlags & ~OpenFlags.O_NONBLOCK;
                return 0;
            case IoctlRequest.FIONREAD:
                var ready = IsStream ? queuedBytes : incoming.TryPeek(out var next) ? next.Left : 0;
                return memory.Write(argument, ready) is var writeFault and not Errno.None ? writeFault : 0;
            case (IoctlRequest)QueuedOut:
                return memory.Write(argument, peer is null ? 0 : peer.queuedBytes) is var outFault and not Errno.None ? outFault : 0;
            default:
                return Errno.ENOTTY;
        }
    }

    protected override void Close()
    {
        state = State.Closed;
        network.Unbind(this, name);
        while (backlog.TryDequeue(out var pending))
            pending.Release();
        while (incoming.TryDequeue(out var packet))
            ReleaseRights(packet);
        queuedBytes = 0;
        if (peer is not null && IsConnectionBased)
            peer.peerWriteShut = true;
        Touch();
    }

    private static void ReleaseRights(Packet packet)
    {
        foreach (var file in packet.Rights ?? [])
            file.Release();
        packet.Rights = null;
    }
}
