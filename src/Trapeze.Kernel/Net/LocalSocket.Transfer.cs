using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Net;

/// <summary>Moving data between local sockets, and their options.</summary>
public sealed partial class LocalSocket
{
    public override Result Send(GuestThread thread, SocketMessage message, MessageFlags flags)
    {
        var dontWait = NonBlocking || (flags & MessageFlags.MSG_DONTWAIT) != 0;
        if (writeShut)
            return BrokenPipe(thread, flags);
        var total = message.Length;
        if (!IsConnectionBased)
            return SendDatagram(thread, message, flags, dontWait);
        if (state != State.Connected)
            return Family == AddressFamily.AF_UNIX || state != State.Open ? Errno.ENOTCONN : Errno.EPIPE;
        if (message.Address is not null && Family == AddressFamily.AF_UNIX && Type == SocketType.SOCK_STREAM)
            return Errno.EISCONN;
        if (peer is not { state: not State.Closed } target || target.readShut)
            return BrokenPipe(thread, flags);
        if (!IsStream && total > Capacity)
            return Errno.EMSGSIZE;
        var done = thread.RetryState as int? ?? 0;
        while (true)
        {
            var left = (int)Math.Min(total - (ulong)done, int.MaxValue);
            // A record goes whole; a stream takes what fits.
            var room = IsStream ? Math.Min(left, Capacity - target.queuedBytes) : target.HasRoom(left) ? left : 0;
            if (room <= 0 && (left > 0 || done > 0 || target.queuedBytes >= Capacity))
            {
                if (dontWait)
                    return done > 0 ? done : Errno.EAGAIN;
                thread.RetryState = done;
                var wait = Wait(thread, new Wait(Changes), sending: true);
                return wait.Control is Wait || done == 0 ? wait : done;
            }
            target.Deliver(thread, this, message, done, room, first: done == 0, from: null);
            done += room;
            if ((ulong)done >= total)
                return done;
        }
    }

    private Result SendDatagram(GuestThread thread, SocketMessage message, MessageFlags flags, bool dontWait)
    {
        var total = message.Length;
        LocalSocket? target;
        if (message.Address is { } address)
        {
            if (SocketAddresses.FamilyOf(address) != Family)
                return Family == AddressFamily.AF_UNIX ? Errno.EINVAL : Errno.EAFNOSUPPORT;
            if (network.Find(thread, Family, stream: false, address, out target) is var missing and { IsError: true })
                return Family != AddressFamily.AF_UNIX && missing.Error == Errno.ECONNREFUSED ? (long)total : missing; // UDP to nobody is lost
        }
        else if (peer is null)
        {
            return Family == AddressFamily.AF_UNIX ? Errno.ENOTCONN : Errno.EDESTADDRREQ;
        }
        else
        {
            target = peer;
        }
        if (target!.state == State.Closed)
            return Family == AddressFamily.AF_UNIX ? Errno.ECONNREFUSED : (long)total;
        if (target.Type != Type)
            return Errno.EPROTOTYPE;
        if (total > (ulong)(Family == AddressFamily.AF_UNIX ? Capacity : LargestUdp))
            return Errno.EMSGSIZE;
        if (name is null && (Family != AddressFamily.AF_UNIX || target.PassCredentials) && AutoBind(thread) is { IsError: true } unbound)
            return unbound;
        if (!target.HasRoom((int)total))
        {
            if (Family != AddressFamily.AF_UNIX)
                return (long)total; // a full UDP queue drops the datagram
            return dontWait ? Errno.EAGAIN : Wait(thread, new Wait(target.Changes), sending: true);
        }
        target.Deliver(thread, this, message, 0, (int)total, first: true, from: name ?? Unnamed);
        return (long)total;
    }

    /// <summary>Queues <paramref name="count"/> bytes of the message from <paramref name="offset"/>; the first piece carries its files and credentials.</summary>
    private void Deliver(GuestThread thread, LocalSocket sender, SocketMessage message, int offset, int count, bool first, byte[]? from)
    {
        var given = first ? message.Credentials : null;
        var packet = new Packet(message.Gather(offset, count))
        {
            From = from,
            Sender = sender,
            // Linux attaches the sender's credentials whenever either end asked for them.
            Credentials = PassCredentials || sender.PassCredentials || given is not null ? given ?? CredentialsOf(thread) : null,
            Rights = first ? message.Rights : null,
        };
        if (first)
            message.Rights = null;
        incoming.Enqueue(packet);
        queuedBytes += count;
        Touch();
    }

    public override Result Receive(GuestThread thread, SocketMessage message, MessageFlags flags)
    {
        var peek = (flags & MessageFlags.MSG_PEEK) != 0;
        var dontWait = NonBlocking || (flags & MessageFlags.MSG_DONTWAIT) != 0;
        if (state == State.Listening)
            return Errno.EINVAL;
        var done = thread.RetryState as int? ?? 0;
        if (incoming.Count == 0)
        {
            if (readShut || peerWriteShut || (IsConnectionBased && state == State.Connected && peer?.state == State.Closed))
                return done;
            if (IsConnectionBased && state != State.Connected)
                return Family == AddressFamily.AF_UNIX ? Errno.EINVAL : Errno.ENOTCONN;
            if (dontWait)
                return done > 0 ? done : Errno.EAGAIN;
            var wait = Wait(thread, new Wait(Changes), sending: false);
            return wait.Control is Wait || done == 0 ? wait : done;
        }
        if (!IsStream)
            return ReceiveRecord(message, flags, peek);
        var total = message.Length;
        var position = 0;
        foreach (var packet in incoming)
        {
            // Files and credentials arrive with the data they were sent with: a read stops before the next such packet.
            if ((ulong)done >= total || (done > 0 && (packet.Rights is not null || packet.Credentials != message.Credentials)))
                break;
            var piece = (int)Math.Min((ulong)packet.Left, total - (ulong)done);
            message.Scatter(packet.Data.AsSpan(packet.Offset, piece), done);
            if (done == 0)
                TakeAncillary(message, packet, peek);
            done += piece;
            position++;
            if (piece < packet.Left)
                break;
        }
        if (!peek)
            Consume(done - (thread.RetryState as int? ?? 0));
        var waitAll = (flags & MessageFlags.MSG_WAITALL) != 0 && !peek && !dontWait;
        if (waitAll && (ulong)done < total && !readShut && !peerWriteShut)
        {
            thread.RetryState = done;
            var wait = Wait(thread, new Wait(Changes), sending: false);
            return wait.Control is Wait ? wait : done;
        }
        return done;
    }

    /// <summary>Removes <paramref name="count"/> bytes from the front of a stream's queue.</summary>
    private void Consume(int count)
    {
        while (count > 0 && incoming.TryPeek(out var packet))
        {
            var piece = Math.Min(count, packet.Left);
            packet.Offset += piece;
            queuedBytes -= piece;
            count -= piece;
            if (packet.Left == 0)
                incoming.Dequeue();
        }
        Touch();
    }

    private Result ReceiveRecord(SocketMessage message, MessageFlags flags, bool peek)
    {
        var packet = peek ? incoming.Peek() : incoming.Dequeue();
        var copied = message.Scatter(packet.Data.AsSpan(packet.Offset));
        if (copied < packet.Left)
            message.ReturnedFlags |= MessageFlags.MSG_TRUNC;
        if (message.WantsAddress)
            message.Address = packet.From ?? peerName ?? Unnamed;
        TakeAncillary(message, packet, peek);
        if (!peek)
        {
            queuedBytes -= packet.Left;
            ReleaseRights(packet);
            Touch();
            packet.Sender?.Changes.Notify();
        }
        return (flags & MessageFlags.MSG_TRUNC) != 0 ? packet.Left : copied;
    }

    /// <summary>Hands the packet's files and credentials to the message; peeking leaves the files queued.</summary>
    private void TakeAncillary(SocketMessage message, Packet packet, bool peek)
    {
        if (PassCredentials && packet.Credentials is { } credentials)
            message.Credentials = credentials;
        if (packet.Rights is null || peek)
            return;
        message.Rights = packet.Rights;
        packet.Rights = null;
    }

    public override Result GetOption(GuestThread thread, int level, int name, Span<byte> value, out int length)
    {
        length = 4;
        if (IsTimeoutOption(level, name, out var sending))
            return GetTimeout(thread, name, sending, value, out length);
        int? answer = (level, name) switch
        {
            ((int)SocketLevel.SOL_SOCKET, (int)SocketOption.SO_TYPE) => (int)Type,
            ((int)SocketLevel.SOL_SOCKET, (int)SocketOption.SO_DOMAIN) => (int)Family,
            ((int)SocketLevel.SOL_SOCKET, (int)SocketOption.SO_PROTOCOL) => Protocol != 0 || Family == AddressFamily.AF_UNIX ? Protocol : IsStream ? 6 : 17,
            ((int)SocketLevel.SOL_SOCKET, (int)SocketOption.SO_ERROR) => 0,
            ((int)SocketLevel.SOL_SOCKET, (int)SocketOption.SO_ACCEPTCONN) => state == State.Listening ? 1 : 0,
            ((int)SocketLevel.SOL_SOCKET, (int)SocketOption.SO_SNDBUF or (int)SocketOption.SO_RCVBUF) => StoredInt(level, name) ?? Capacity,
            _ => null,
        };
        if (level == (int)SocketLevel.SOL_SOCKET && name == (int)SocketOption.SO_PEERCRED)
        {
            var credentials = PeerCredentials ?? new Credentials(0, uint.MaxValue, uint.MaxValue);
            Span<byte> bytes = stackalloc byte[12];
            BitConverter.TryWriteBytes(bytes, credentials.ProcessId);
            BitConverter.TryWriteBytes(bytes[4..], credentials.UserId);
            BitConverter.TryWriteBytes(bytes[8..], credentials.GroupId);
            length = Math.Min(12, value.Length);
            bytes[..length].CopyTo(value);
            return 0;
        }
        if (answer is null && options.TryGetValue((level, name), out var stored))
        {
            length = Math.Min(stored.Length, value.Length);
            stored.AsSpan(0, length).CopyTo(value);
            return 0;
        }
        if (answer is null)
            return KnownOption(level, name) ? Fill(value, 0, out length) : Errno.ENOPROTOOPT;
        return Fill(value, answer.Value, out length);
    }

    private static Result Fill(Span<byte> value, int number, out int length)
    {
        Span<byte> bytes = stackalloc byte[4];
        BitConverter.TryWriteBytes(bytes, number);
        length = Math.Min(4, value.Length);
        bytes[..length].CopyTo(value);
        return 0;
    }

    private int? StoredInt(int level, int name)
        => options.TryGetValue((level, name), out var bytes) && bytes.Length >= 4 ? Math.Max(4608, BitConverter.ToInt32(bytes) * 2) : null;

    /// <summary>The options real programs set, remembered and reported back (they change nothing between two local ends).</summary>
    private bool KnownOption(int level, int name) => level switch
    {
        (int)SocketLevel.SOL_SOCKET => name is (int)SocketOption.SO_REUSEADDR or (int)SocketOption.SO_REUSEPORT or (int)SocketOption.SO_KEEPALIVE
            or (int)SocketOption.SO_SNDBUF or (int)SocketOption.SO_RCVBUF or (int)SocketOption.SO_LINGER or (int)SocketOption.SO_PASSCRED
            or (int)SocketOption.SO_BROADCAST or (int)SocketOption.SO_OOBINLINE or (int)SocketOption.SO_PRIORITY or (int)SocketOption.SO_RCVLOWAT
            or (int)SocketOption.SO_SNDLOWAT or (int)SocketOption.SO_DONTROUTE,
        (int)SocketLevel.SOL_TCP => Family != AddressFamily.AF_UNIX && IsStream,
        (int)SocketLevel.SOL_IP => Family == AddressFamily.AF_INET || Family == AddressFamily.AF_INET6,
        (int)SocketLevel.SOL_IPV6 => Family == AddressFamily.AF_INET6,
        _ => false,
    };

    public override Result SetOption(GuestThread thread, int level, int name, ReadOnlySpan<byte> value)
    {
        if (IsTimeoutOption(level, name, out var sending))
            return SetTimeout(thread, name, sending, value);
        if (!KnownOption(level, name))
            return Errno.ENOPROTOOPT;
        if (value.Length < (level == (int)SocketLevel.SOL_SOCKET && name == (int)SocketOption.SO_LINGER ? 8 : 4))
            return Errno.EINVAL;
        options[(level, name)] = value.ToArray();
        return 0;
    }
}
