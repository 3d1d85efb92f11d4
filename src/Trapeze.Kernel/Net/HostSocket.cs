using System.Runtime.InteropServices;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Net;

/// <summary>
/// An AF_INET, AF_INET6 or AF_NETLINK socket carried by a host socket (--net host). The host socket
/// is always non-blocking: where the guest's call would wait, the thread blocks on the host
/// descriptor through the run loop, so other guest threads run and signals interrupt the wait.
/// </summary>
public sealed unsafe class HostSocket : Socket
{
    private const short PollIn = 0x001, PollOut = 0x004;
    private const int HostFlags = 0x800 | 0x80000; // SOCK_NONBLOCK | SOCK_CLOEXEC

    private readonly int descriptor;

    private HostSocket(int descriptor, AddressFamily family, SocketType type, int protocol, ulong inode)
        : base(family, type, protocol, inode) => this.descriptor = descriptor;

    /// <summary>What connect is waiting for across its dispatches.</summary>
    private sealed class Connecting;

    [StructLayout(LayoutKind.Sequential)]
    private struct HostMessage
    {
        public nint Name;
        public int NameLength;
        public nint Vectors;
        public nint VectorCount;
        public nint Control;
        public nint ControlLength;
        public int Flags;
    }

    public override int? HostDescriptor => descriptor;

    /// <summary>The host keeps its socket non-blocking, so the guest's O_NONBLOCK lives here.</summary>
    public override bool StatusFlagsOnHost => false;

    public static Result Create(Kernel kernel, AddressFamily family, SocketType type, int protocol, out Socket? socket)
    {
        socket = null;
        var result = HostSyscall.Invoke(HostSyscall.Socket, (long)family, (long)type | HostFlags, protocol);
        if (result < 0)
            return result;
        socket = new HostSocket((int)result, family, type, protocol, kernel.NewInode());
        return 0;
    }

    public override Result Bind(GuestThread thread, byte[] address)
    {
        fixed (byte* pointer = address)
            return HostSyscall.Invoke(HostSyscall.Bind, descriptor, (long)pointer, address.Length);
    }

    public override Result Listen(GuestThread thread, int backlog) => HostSyscall.Invoke(HostSyscall.Listen, descriptor, backlog);

    public override Result Accept(GuestThread thread, bool nonBlocking, out Socket? accepted, out byte[]? peer)
    {
        accepted = null;
        peer = null;
        var buffer = stackalloc byte[SocketAddresses.MaximumLength];
        var length = SocketAddresses.MaximumLength;
        var result = HostSyscall.Invoke(HostSyscall.Accept4, descriptor, (long)buffer, (long)&length, HostFlags);
        if (result == -(long)Errno.EAGAIN)
            return NonBlocking ? Errno.EAGAIN : Wait(thread, new Wait().OnHost(descriptor, PollIn), sending: false);
        if (result < 0)
            return result;
        accepted = new HostSocket((int)result, Family, Type, Protocol, thread.Kernel.NewInode());
        if (nonBlocking)
            accepted.StatusFlags |= OpenFlags.O_NONBLOCK;
        peer = new ReadOnlySpan<byte>(buffer, Math.Min(length, SocketAddresses.MaximumLength)).ToArray();
        return 0;
    }

    public override Result Connect(GuestThread thread, byte[] address)
    {
        long result;
        fixed (byte* pointer = address)
            result = HostSyscall.Invoke(HostSyscall.Connect, descriptor, (long)pointer, address.Length);
        // Asked again, the host tells how the connect this call started ended (0 once, or its error).
        if (thread.RetryState is Connecting)
            return result == -(long)Errno.EALREADY ? Wait(thread, new Wait().OnHost(descriptor, PollOut), sending: true) : result;
        if (result != -(long)Errno.EINPROGRESS || NonBlocking)
            return result;
        thread.RetryState = new Connecting();
        return Wait(thread, new Wait().OnHost(descriptor, PollOut), sending: true);
    }

    public override Result Send(GuestThread thread, SocketMessage message, MessageFlags flags)
    {
        // A blocking stream send returns once everything went, going on where a wait stopped it.
        var done = thread.RetryState as int? ?? 0;
        var total = message.Length;
        while (true)
        {
            var result = Transfer(thread, HostSyscall.Sendmsg, message, done, flags & ~MessageFlags.MSG_DONTWAIT | MessageFlags.MSG_NOSIGNAL | MessageFlags.MSG_DONTWAIT, out _);
            if (result == -(long)Errno.EPIPE)
                return done > 0 ? done : BrokenPipe(thread, flags);
            if (result == -(long)Errno.EAGAIN)
            {
                if (NonBlocking || (flags & MessageFlags.MSG_DONTWAIT) != 0)
                    return done > 0 ? done : Errno.EAGAIN;
                thread.RetryState = done;
                var wait = Wait(thread, new Wait().OnHost(descriptor, PollOut), sending: true);
                return wait.Control is Wait || done == 0 ? wait : done;
            }
            if (result < 0)
                return done > 0 ? done : result;
            done += (int)result;
            if (!IsStream || (ulong)done >= total)
                return done;
        }
    }

    public override Result Receive(GuestThread thread, SocketMessage message, MessageFlags flags)
    {
        // MSG_WAITALL on a stream: gather across waits until the buffers are full, the peer ends, or an error.
        var waitAll = IsStream && (flags & MessageFlags.MSG_WAITALL) != 0 && (flags & MessageFlags.MSG_PEEK) == 0;
        var done = thread.RetryState as int? ?? 0;
        var total = message.Length;
        while (true)
        {
            var hostFlags = flags & ~(MessageFlags.MSG_WAITALL | MessageFlags.MSG_CMSG_CLOEXEC) | MessageFlags.MSG_DONTWAIT;
            var result = Transfer(thread, HostSyscall.Recvmsg, message, done, hostFlags, out var returned);
            if (result == -(long)Errno.EAGAIN)
            {
                if (NonBlocking || (flags & MessageFlags.MSG_DONTWAIT) != 0)
                    return done > 0 ? done : Errno.EAGAIN;
                thread.RetryState = done;
                var wait = Wait(thread, new Wait().OnHost(descriptor, PollIn), sending: false);
                return wait.Control is Wait || done == 0 ? wait : done;
            }
            if (result < 0)
                return done > 0 ? done : result;
            message.ReturnedFlags = returned;
            // MSG_TRUNC asks for a datagram's real length even when the buffer was shorter.
            done += (int)result;
            if (!waitAll || result == 0 || (ulong)done >= total)
                return done;
        }
    }

    /// <summary>
    /// read(2) or write(2) made without the kernel by a thread that may (<see cref="GuestThread.MayServeOutsideKernel"/>):
    /// the host call that goes through at once is all there is to the call. Null when the kernel
    /// must serve it, making the host call again: another kind of file, a call that would wait or
    /// fails (a wait, SIGPIPE, EFAULT are the kernel's), or a stream write the host took only part
    /// of (the kernel goes on from there, as after a wait).
    /// </summary>
    internal static long? TransferOutsideKernel(GuestThread thread, int fd, GuestAddress buffer, ulong count, bool send)
    {
        if (thread.Process.Files.Get(fd) is not HostSocket socket || count == 0 || count > MaximumTransfer)
            return null;
        var segments = new List<HostSegment>(1);
        if (thread.Memory.GetSegments(buffer, count, write: !send, segments) != Errno.None)
            return null;
        var flags = MessageFlags.MSG_DONTWAIT | (send ? MessageFlags.MSG_NOSIGNAL : 0);
        var result = socket.Transfer(thread, send ? HostSyscall.Sendmsg : HostSyscall.Recvmsg, new SocketMessage(segments), 0, flags, out _);
        if (result < 0)
            return null;
        if (send && socket.IsStream && (ulong)result < count)
        {
            thread.RetryState = (int)result;
            return null;
        }
        return result;
    }

    /// <summary>One host sendmsg/recvmsg over the message's segments from byte <paramref name="offset"/>.</summary>
    private long Transfer(GuestThread thread, int call, SocketMessage message, int offset, MessageFlags flags, out MessageFlags returned)
    {
        returned = 0;
        // A read or write is one segment: the vectors, and an empty name and control, need no allocation.
        var segments = message.Data.Count;
        Span<IoVector> vectors = segments <= 8 ? stackalloc IoVector[segments] : new IoVector[segments];
        var used = 0;
        var skip = (ulong)offset;
        foreach (var segment in message.Data)
        {
            if (skip >= segment.Length)
            {
                skip -= segment.Length;
                continue;
            }
            vectors[used++] = new IoVector { Base = (ulong)segment.Pointer + skip, Length = segment.Length - skip };
            skip = 0;
        }
        var sending = call == HostSyscall.Sendmsg;
        var name = sending ? message.Address ?? [] : message.WantsAddress ? new byte[SocketAddresses.MaximumLength] : [];
        var control = sending ? message.HostControl ?? [] : message.ControlCapacity > 0 ? new byte[message.ControlCapacity] : [];
        fixed (IoVector* vectorPointer = vectors)
        fixed (byte* namePointer = name)
        fixed (byte* controlPointer = control)
        {
            var header = new HostMessage
            {
                Name = name.Length > 0 ? (nint)namePointer : 0,
                NameLength = name.Length,
                Vectors = (nint)vectorPointer,
                VectorCount = used,
                Control = control.Length > 0 ? (nint)controlPointer : 0,
                ControlLength = control.Length,
            };
            long result;
            // The host's TCP work is most of a loopback round trip: other guests use the kernel meanwhile.
            using (thread.OutsideKernel())
                result = HostSyscall.Invoke(call, descriptor, (long)&header, (long)flags);
            if (result < 0 || sending)
                return result;
            returned = (MessageFlags)header.Flags;
            if (message.WantsAddress)
                message.Address = name.AsSpan(0, Math.Min(header.NameLength, name.Length)).ToArray();
            message.HostControl = control.AsSpan(0, (int)Math.Min(header.ControlLength, control.Length)).ToArray();
            return result;
        }
    }

    public override Result Shutdown(ShutdownHow how) => HostSyscall.Invoke(HostSyscall.Shutdown, descriptor, (long)how);

    public override Result LocalAddress(out byte[] address) => Name(HostSyscall.Getsockname, out address);

    public override Result PeerAddress(out byte[] address) => Name(HostSyscall.Getpeername, out address);

    private Result Name(int call, out byte[] address)
    {
        var buffer = stackalloc byte[SocketAddresses.MaximumLength];
        var length = SocketAddresses.MaximumLength;
        var result = HostSyscall.Invoke(call, descriptor, (long)buffer, (long)&length);
        address = result < 0 ? [] : new ReadOnlySpan<byte>(buffer, Math.Min(length, SocketAddresses.MaximumLength)).ToArray();
        return result;
    }

    public override Result GetOption(GuestThread thread, int level, int name, Span<byte> value, out int length)
    {
        length = value.Length;
        fixed (byte* pointer = value)
        fixed (int* lengthPointer = &length)
            return HostSyscall.Invoke(HostSyscall.Getsockopt, descriptor, level, name, (long)pointer, (long)lengthPointer);
    }

    public override Result SetOption(GuestThread thread, int level, int name, ReadOnlySpan<byte> value)
    {
        // The host keeps the timeouts too (getsockopt answers its rounding); Trapeze's waits apply them.
        if (IsTimeoutOption(level, name, out var sending) && SetTimeout(thread, name, sending, value) is { IsError: true } invalid)
            return invalid;
        fixed (byte* pointer = value)
            return HostSyscall.Invoke(HostSyscall.Setsockopt, descriptor, level, name, (long)pointer, value.Length);
    }

    public override Result Control(IoctlRequest request, GuestMemory memory, GuestAddress argument)
    {
        const uint QueuedOut = 0x5411; // SIOCOUTQ (TIOCOUTQ)
        switch (request)
        {
            case IoctlRequest.FIONBIO:
                if (memory.Read(argument, out int on) is var fault and not Errno.None)
                    return fault;
                StatusFlags = on != 0 ? StatusFlags | OpenFlags.O_NONBLOCK : StatusFlags & ~OpenFlags.O_NONBLOCK;
                return 0;
            case IoctlRequest.FIONREAD:
            case (IoctlRequest)QueuedOut:
                int count;
                var result = HostSyscall.Invoke(HostSyscall.Ioctl, descriptor, (long)request, (long)&count);
                return result < 0 ? result : memory.Write(argument, count) is var writeFault and not Errno.None ? writeFault : 0;
            default:
                return Errno.ENOTTY;
        }
    }

    public override Result Status(out LinuxStat status)
    {
        LinuxStat buffer;
        var result = HostSyscall.Invoke(HostSyscall.Fstat, descriptor, (long)&buffer);
        status = buffer;
        return result;
    }

    protected override void Close() => HostSyscall.Invoke(HostSyscall.Close, descriptor);
}
