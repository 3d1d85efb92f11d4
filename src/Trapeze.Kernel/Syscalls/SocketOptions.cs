using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>getsockopt and setsockopt: the socket's kind answers (host sockets ask the host, local ones keep their own).</summary>
public static class SocketOptions
{
    /// <summary>Option values are small structures; none Trapeze knows exceeds this (struct tcp_info is 232 bytes).</summary>
    private const int MaximumValue = 256;

    [Syscall("getsockopt", Support = Support.Partial, Note = "host sockets: whatever the host answers; local sockets: SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_ACCEPTCONN, SO_PEERCRED, SO_RCVTIMEO/SO_SNDTIMEO, and the options set before")]
    public static Result GetOption(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, SocketLevel level, [Argument(ArgumentKind.SocketOption)] int name,
        [Argument(ArgumentKind.SocketOptionValue, Direction = Direction.Out, SizeFrom = nameof(length))] GuestAddress value, [Argument(ArgumentKind.SocketLength, Direction = Direction.Out)] GuestAddress length)
    {
        if (Sockets.SocketOf(thread, fd, out var socket) is { IsError: true } error)
            return error;
        if (thread.Memory.Read(length, out int capacity) is var fault and not Errno.None)
            return fault;
        if (capacity < 0)
            return Errno.EINVAL;
        Span<byte> buffer = stackalloc byte[MaximumValue];
        buffer = buffer[..Math.Min(capacity, MaximumValue)];
        var result = socket!.GetOption(thread, (int)level, name, buffer, out var written);
        if (result.IsError)
            return result;
        written = Math.Clamp(written, 0, buffer.Length);
        if (thread.Memory.Write(value, buffer[..written]) is var writeFault and not Errno.None)
            return writeFault;
        return thread.Memory.Write(length, written) is var lengthFault and not Errno.None ? lengthFault : 0;
    }

    [Syscall("setsockopt", Support = Support.Partial, Note = "host sockets: passed to the host (SO_RCVTIMEO/SO_SNDTIMEO kept by Trapeze); local sockets: the options real programs set are remembered")]
    public static Result SetOption(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, SocketLevel level, [Argument(ArgumentKind.SocketOption)] int name,
        [Argument(ArgumentKind.SocketOptionValue, SizeFrom = nameof(length))] GuestAddress value, int length)
    {
        if (Sockets.SocketOf(thread, fd, out var socket) is { IsError: true } error)
            return error;
        if (length < 0)
            return Errno.EINVAL;
        var bytes = new byte[Math.Min(length, MaximumValue)];
        if (bytes.Length > 0 && thread.Memory.Read(value, bytes) is var fault and not Errno.None)
            return fault;
        return socket!.SetOption(thread, (int)level, name, bytes);
    }
}
