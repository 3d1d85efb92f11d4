using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// Sockets. Creating them is not implemented yet; a socket the guest inherited (a host descriptor)
/// answers for its addresses, and every other file says it is not a socket, as Linux does.
/// </summary>
public static unsafe class Sockets
{
    private const int MaximumAddress = 128; // sizeof(struct sockaddr_storage)

    [Syscall("getsockname", Support = Support.Partial, Note = "inherited host sockets; other files ENOTSOCK")]
    public static Result GetSocketName(GuestThread thread, int fd, GuestAddress address, GuestAddress length)
        => Address(thread, HostSyscall.Getsockname, fd, address, length);

    [Syscall("getpeername", Support = Support.Partial, Note = "inherited host sockets; other files ENOTSOCK")]
    public static Result GetPeerName(GuestThread thread, int fd, GuestAddress address, GuestAddress length)
        => Address(thread, HostSyscall.Getpeername, fd, address, length);

    private static Result Address(GuestThread thread, int call, int fd, GuestAddress address, GuestAddress length)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        if (file.HostDescriptor is not { } host)
            return Errno.ENOTSOCK;
        if (thread.Memory.Read(length, out int capacity) is var fault and not Errno.None)
            return fault;
        if (capacity < 0)
            return Errno.EINVAL;
        var buffer = stackalloc byte[MaximumAddress];
        var size = MaximumAddress;
        var result = HostSyscall.Invoke(call, host, (long)buffer, (long)&size);
        if (result < 0)
            return result;
        // Like the kernel: copy what fits, and report the address's full length.
        var copied = Math.Min(capacity, size);
        if (thread.Memory.Write(address, new ReadOnlySpan<byte>(buffer, copied)) is var writeFault and not Errno.None)
            return writeFault;
        return thread.Memory.Write(length, size) is var lengthFault and not Errno.None ? lengthFault : 0;
    }
}
