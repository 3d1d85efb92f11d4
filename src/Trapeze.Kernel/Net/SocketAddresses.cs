using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Net;

/// <summary>struct sockaddr in its families' layouts (the same for every personality: no C longs in them).</summary>
public static class SocketAddresses
{
    /// <summary>sizeof(struct sockaddr_storage).</summary>
    public const int MaximumLength = 128;
    public const int InternetLength = 16, Internet6Length = 28;

    /// <summary>offsetof(struct sockaddr_un, sun_path) and sizeof(sun_path).</summary>
    public const int UnixPathOffset = 2, UnixPathLength = 108;

    public static AddressFamily FamilyOf(ReadOnlySpan<byte> address)
        => address.Length < 2 ? AddressFamily.AF_UNSPEC : (AddressFamily)BinaryPrimitives.ReadUInt16LittleEndian(address);

    /// <summary>An address the guest passes in (bind, connect, sendto): at most sockaddr_storage, else EINVAL.</summary>
    public static Errno Read(GuestMemory memory, GuestAddress address, int length, out byte[] bytes)
    {
        bytes = [];
        if (length < 0 || length > MaximumLength)
            return Errno.EINVAL;
        bytes = new byte[length];
        return length == 0 ? Errno.None : memory.Read(address, bytes);
    }

    /// <summary>An address the kernel hands out (accept, getsockname, recvfrom): copies what fits and stores the full length, as Linux does.</summary>
    public static Result Write(GuestMemory memory, GuestAddress address, GuestAddress lengthPointer, ReadOnlySpan<byte> bytes)
    {
        if (address.IsNull || lengthPointer.IsNull)
            return 0;
        if (memory.Read(lengthPointer, out int capacity) is var fault and not Errno.None)
            return fault;
        if (capacity < 0)
            return Errno.EINVAL;
        var copied = Math.Min(capacity, bytes.Length);
        if (memory.Write(address, bytes[..copied]) is var writeFault and not Errno.None)
            return writeFault;
        return memory.Write(lengthPointer, bytes.Length) is var lengthFault and not Errno.None ? lengthFault : 0;
    }

    public static ushort PortOf(ReadOnlySpan<byte> address) => address.Length >= 4 ? BinaryPrimitives.ReadUInt16BigEndian(address[2..]) : (ushort)0;

    public static void SetPort(Span<byte> address, ushort port) => BinaryPrimitives.WriteUInt16BigEndian(address[2..], port);

    /// <summary>An AF_INET or AF_INET6 address of <paramref name="family"/>: the loopback one, or any (zeros).</summary>
    public static byte[] Internet(AddressFamily family, bool loopback, ushort port)
    {
        var bytes = new byte[family == AddressFamily.AF_INET6 ? Internet6Length : InternetLength];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)family);
        SetPort(bytes, port);
        if (loopback && family == AddressFamily.AF_INET6)
            bytes[23] = 1; // ::1
        else if (loopback)
            (bytes[4], bytes[7]) = (127, 1);
        return bytes;
    }

    /// <summary>Whether an inet address is this machine under --net none: 127/8, ::1, ::ffff:127/104, or any (connecting to any reaches loopback).</summary>
    public static bool IsLocal(ReadOnlySpan<byte> address, out bool any)
    {
        any = false;
        if (FamilyOf(address) == AddressFamily.AF_INET && address.Length >= 8)
        {
            any = address.Slice(4, 4).IndexOfAnyExcept((byte)0) < 0;
            return any || address[4] == 127;
        }
        if (FamilyOf(address) != AddressFamily.AF_INET6 || address.Length < 24)
            return false;
        var host = address.Slice(8, 16);
        any = host.IndexOfAnyExcept((byte)0) < 0;
        var loopback = host[..15].IndexOfAnyExcept((byte)0) < 0 && host[15] == 1;
        var mapped = host[..10].IndexOfAnyExcept((byte)0) < 0 && host[10] == 0xff && host[11] == 0xff && host[12] == 127;
        return any || loopback || mapped;
    }

    /// <summary>An unnamed AF_UNIX address: the family alone.</summary>
    public static byte[] UnixUnnamed() => [(byte)AddressFamily.AF_UNIX, 0];
}
