using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Net;

/// <summary>
/// A socket: an open file with the socket calls. Two kinds answer them: <see cref="HostSocket"/>
/// (a host socket Trapeze keeps non-blocking, polled by the host) and <see cref="LocalSocket"/>
/// (AF_UNIX, and loopback under --net none, inside Trapeze, polled through <see cref="OpenFile.Readiness"/>).
/// A call that must wait returns the blocking protocol's <see cref="Result.Blocked"/>, so other guest
/// threads run and signals interrupt it.
/// </summary>
public abstract class Socket : OpenFile
{
    protected Socket(AddressFamily family, SocketType type, int protocol, ulong inode)
    {
        Family = family;
        Type = type;
        Protocol = protocol;
        Inode = inode;
        StatusFlags = OpenFlags.O_RDWR;
    }

    public AddressFamily Family { get; }
    public SocketType Type { get; }
    public int Protocol { get; }
    public ulong Inode { get; }

    /// <summary>SO_RCVTIMEO and SO_SNDTIMEO in nanoseconds (0: wait forever), kept by Trapeze since its host sockets never block.</summary>
    public long ReceiveTimeout { get; set; }
    public long SendTimeout { get; set; }

    public override string Path => $"socket:[{Inode}]";

    public bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

    /// <summary>A stream of bytes (TCP, SOCK_STREAM) rather than records.</summary>
    public bool IsStream => Type == SocketType.SOCK_STREAM;

    public abstract Result Bind(GuestThread thread, byte[] address);
    public abstract Result Listen(GuestThread thread, int backlog);

    /// <summary>Takes a connection from the backlog: the new socket and its peer's address.</summary>
    public abstract Result Accept(GuestThread thread, bool nonBlocking, out Socket? accepted, out byte[]? peer);
    public abstract Result Connect(GuestThread thread, byte[] address);
    public abstract Result Send(GuestThread thread, SocketMessage message, MessageFlags flags);
    public abstract Result Receive(GuestThread thread, SocketMessage message, MessageFlags flags);
    public abstract Result Shutdown(ShutdownHow how);
    public abstract Result LocalAddress(out byte[] address);
    public abstract Result PeerAddress(out byte[] address);

    /// <summary>getsockopt for what the kind keeps itself; <paramref name="value"/> is as large as the guest's buffer (at most 256 bytes).</summary>
    public abstract Result GetOption(GuestThread thread, int level, int name, Span<byte> value, out int length);
    public abstract Result SetOption(GuestThread thread, int level, int name, ReadOnlySpan<byte> value);

    public override Result Read(GuestThread thread, GuestAddress buffer, ulong count)
        => Transfer(thread, buffer, count, send: false);

    public override Result Write(GuestThread thread, GuestAddress buffer, ulong count)
        => Transfer(thread, buffer, count, send: true);

    public override Result ReadVector(GuestThread thread, List<HostSegment> segments, long offset)
        => offset >= 0 ? Errno.ESPIPE : ReceiveData(thread, new SocketMessage(segments));

    public override Result WriteVector(GuestThread thread, List<HostSegment> segments, long offset)
        => offset >= 0 ? Errno.ESPIPE : Send(thread, new SocketMessage(segments), 0);

    /// <summary>Linux's MAX_RW_COUNT: one read or write moves at most this much.</summary>
    private protected const ulong MaximumTransfer = 0x7fff_f000;

    private Result Transfer(GuestThread thread, GuestAddress buffer, ulong count, bool send)
    {
        var segments = new List<HostSegment>(1); // one mapping holds the buffer, nearly always
        if (count > 0 && thread.Memory.GetSegments(buffer, Math.Min(count, MaximumTransfer), write: !send, segments) is var fault and not Errno.None)
            return fault;
        var message = new SocketMessage(segments);
        return send ? Send(thread, message, 0) : ReceiveData(thread, message);
    }

    /// <summary>read(2): files passed along with the data are closed, as a read without room for them loses them.</summary>
    private Result ReceiveData(GuestThread thread, SocketMessage message)
    {
        var result = Receive(thread, message, 0);
        message.ReleaseRights();
        return result;
    }

    public override Result Status(out LinuxStat status)
    {
        status = new LinuxStat { Mode = Vfs.FileTypes.Socket | 0x1ff, Inode = Inode, LinkCount = 1, BlockSize = 4096 };
        return 0;
    }

    /// <summary>How a wait of this socket ends: its deadline from SO_RCVTIMEO/SO_SNDTIMEO, and EAGAIN when it passes.</summary>
    protected Result Wait(GuestThread thread, Wait wait, bool sending)
    {
        var timeout = sending ? SendTimeout : ReceiveTimeout;
        if (timeout > 0)
            wait.Deadline = thread.DeadlineAfter(timeout);
        var blocked = thread.Block(wait);
        if (blocked.Error == Errno.ETIMEDOUT)
            return Errno.EAGAIN;
        // Linux restarts a socket call only when it had no timeout (sock_intr_errno).
        return timeout > 0 && blocked.Control is Restart ? Result.Interrupted(RestartRule.Never) : blocked;
    }

    /// <summary>A write to a socket its peer left: SIGPIPE unless MSG_NOSIGNAL, then EPIPE.</summary>
    protected static Result BrokenPipe(GuestThread thread, MessageFlags flags)
        => (flags & MessageFlags.MSG_NOSIGNAL) == 0 ? SignalDelivery.BrokenPipe(thread) : Errno.EPIPE;

    /// <summary>SO_RCVTIMEO / SO_SNDTIMEO: a struct timeval (the old form's fields are C longs; the new form's 64-bit).</summary>
    protected static bool IsTimeoutOption(int level, int name, out bool sending)
    {
        sending = name is (int)SocketOption.SO_SNDTIMEO_OLD or (int)SocketOption.SO_SNDTIMEO_NEW;
        return level == (int)SocketLevel.SOL_SOCKET && (sending || name is (int)SocketOption.SO_RCVTIMEO_OLD or (int)SocketOption.SO_RCVTIMEO_NEW);
    }

    protected Result GetTimeout(GuestThread thread, int name, bool sending, Span<byte> value, out int length)
    {
        // Linux keeps the time in jiffies: Debian's HZ is 250, 4 ms a tick.
        const long Tick = 4_000_000;
        var nanoseconds = ((sending ? SendTimeout : ReceiveTimeout) + Tick - 1) / Tick * Tick;
        var (seconds, microseconds) = (nanoseconds / 1_000_000_000, nanoseconds % 1_000_000_000 / 1000);
        var wide = thread.Process.Personality.Structures.Model.WordSize == 8 || name is (int)SocketOption.SO_RCVTIMEO_NEW or (int)SocketOption.SO_SNDTIMEO_NEW;
        Span<byte> bytes = stackalloc byte[16];
        if (wide)
        {
            BitConverter.TryWriteBytes(bytes, seconds);
            BitConverter.TryWriteBytes(bytes[8..], microseconds);
        }
        else
        {
            BitConverter.TryWriteBytes(bytes, (int)seconds);
            BitConverter.TryWriteBytes(bytes[4..], (int)microseconds);
        }
        length = Math.Min(value.Length, wide ? 16 : 8);
        bytes[..length].CopyTo(value);
        return 0;
    }

    protected Result SetTimeout(GuestThread thread, int name, bool sending, ReadOnlySpan<byte> value)
    {
        var wide = thread.Process.Personality.Structures.Model.WordSize == 8 || name is (int)SocketOption.SO_RCVTIMEO_NEW or (int)SocketOption.SO_SNDTIMEO_NEW;
        if (value.Length < (wide ? 16 : 8))
            return Errno.EINVAL;
        long seconds = wide ? BitConverter.ToInt64(value) : BitConverter.ToInt32(value);
        long microseconds = wide ? BitConverter.ToInt64(value[8..]) : BitConverter.ToInt32(value[4..]);
        if (microseconds < 0 || microseconds >= 1_000_000)
            return Errno.EDOM;
        // A negative time means no timeout, as Linux's sock_set_timeout treats it.
        var nanoseconds = seconds < 0 ? 0 : seconds >= long.MaxValue / 1_000_000_000 - 1 ? 0 : seconds * 1_000_000_000 + microseconds * 1000;
        if (sending)
            SendTimeout = nanoseconds;
        else
            ReceiveTimeout = nanoseconds;
        return 0;
    }
}
