using Trapeze.Kernel.Tasks;
using System.Buffers.Binary;
using System.Net;
using Trapeze.Kernel;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Net;

namespace Trapeze.Trace;

/// <summary>The values a call's in-out arguments had at entry (socklen_t, msg_namelen), for strace's "[128 => 16]".</summary>
internal sealed class EntryValues(object owner, long?[] values)
{
    public object Owner { get; } = owner;
    public long?[] Values { get; } = values;
}

/// <summary>Sockets' arguments in strace's notation: sockaddr of each family, msghdr with its cmsgs, socket types and option names.</summary>
public sealed class SocketFormatter(TraceOptions options, EnumFormatter enums, StructFormatter structs)
{
    /// <summary>struct sockaddr of <paramref name="length"/> bytes.</summary>
    public string Address(GuestMemory memory, ulong address, long length)
    {
        if (address == 0)
            return "NULL";
        if (length < 2 || length > SocketAddresses.MaximumLength)
            return ArgumentFormatter.Address(address);
        var bytes = new byte[length];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return ArgumentFormatter.Address(address);
        return Address(bytes);
    }

    public string Address(byte[] bytes)
    {
        var family = SocketAddresses.FamilyOf(bytes);
        var head = $"sa_family={enums.Format(typeof(AddressFamily), (ulong)family)}";
        switch (family)
        {
            case AddressFamily.AF_INET when bytes.Length >= SocketAddresses.InternetLength:
                return $"{{{head}, sin_port=htons({SocketAddresses.PortOf(bytes)}), sin_addr=inet_addr(\"{new IPAddress(bytes.AsSpan(4, 4))}\")}}";
            case AddressFamily.AF_INET6 when bytes.Length >= 24:
                var flow = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4));
                var scope = bytes.Length >= SocketAddresses.Internet6Length ? $", sin6_scope_id={BitConverter.ToUInt32(bytes, 24)}" : "";
                return $"{{{head}, sin6_port=htons({SocketAddresses.PortOf(bytes)}), sin6_flowinfo=htonl({flow}), inet_pton(AF_INET6, \"{Inet6(bytes.AsSpan(8, 16))}\", &sin6_addr){scope}}}";
            case AddressFamily.AF_UNIX when bytes.Length == SocketAddresses.UnixPathOffset:
                return $"{{{head}}}";
            case AddressFamily.AF_UNIX:
                var path = bytes.AsSpan(SocketAddresses.UnixPathOffset);
                if (path[0] == 0)
                    return $"{{{head}, sun_path=@{StringQuoter.Quote(path[1..], options.HexStrings, truncated: false)}}}";
                var end = path.IndexOf((byte)0);
                return $"{{{head}, sun_path={StringQuoter.Quote(end < 0 ? path : path[..end], options.HexStrings, truncated: false)}}}";
            case AddressFamily.AF_NETLINK when bytes.Length >= 12:
                return $"{{{head}, nl_pid={BitConverter.ToInt32(bytes, 4)}, nl_groups={BitConverter.ToUInt32(bytes, 8):x8}}}";
            default:
                if (bytes.Length == 2)
                    return $"{{{head}}}";
                return $"{{{head}, sa_data={StringQuoter.Quote(bytes.AsSpan(2), options.HexStrings, truncated: false)}}}";
        }
    }

    /// <summary>inet_ntop's text: IPv4-mapped addresses keep their dotted quad.</summary>
    private static string Inet6(ReadOnlySpan<byte> address) => new IPAddress(address).ToString();

    /// <summary>A socklen_t: [in], or [in => out] when the kernel changed it.</summary>
    public static string Length(GuestMemory memory, ulong address, long? entry, bool exited)
    {
        if (address == 0)
            return "NULL";
        if (!exited || memory.Read(new GuestAddress(address), out int now) != Errno.None)
            return entry is { } before ? $"[{before}]" : ArgumentFormatter.Address(address);
        return entry is { } value && value != now ? $"[{value} => {now}]" : $"[{now}]";
    }

    /// <summary>socket's type argument: the kind, then SOCK_CLOEXEC / SOCK_NONBLOCK.</summary>
    public string Type(ulong raw)
    {
        var kind = enums.Format(typeof(SocketType), raw & 0xf);
        var flags = raw & ~0xfUL & 0xffffffff;
        return flags == 0 ? kind : $"{kind}|{enums.Format(typeof(SocketTypeFlags), flags, accessMode: false)}";
    }

    public string Protocol(AddressFamily family, ulong raw) => family switch
    {
        AddressFamily.AF_INET or AddressFamily.AF_INET6 => enums.Format(typeof(InternetProtocol), raw & 0xffffffff),
        AddressFamily.AF_NETLINK when raw == 0 => "NETLINK_ROUTE",
        _ => ((int)raw).ToString(),
    };

    public string Option(SocketLevel level, ulong raw) => level switch
    {
        SocketLevel.SOL_SOCKET => enums.Format(typeof(SocketOption), raw & 0xffffffff),
        SocketLevel.SOL_TCP => enums.Format(typeof(TcpOption), raw & 0xffffffff),
        SocketLevel.SOL_IP => enums.Format(typeof(IpOption), raw & 0xffffffff),
        SocketLevel.SOL_IPV6 => enums.Format(typeof(Ipv6Option), raw & 0xffffffff),
        _ => ((int)raw).ToString(),
    };

    /// <summary>An option's value: an int as [N], SO_PEERCRED and SO_LINGER as structures, anything else as bytes.</summary>
    public string OptionValue(GuestMemory memory, SocketLevel level, int name, ulong address, long length)
    {
        if (address == 0)
            return "NULL";
        if (length < 0)
            return ArgumentFormatter.Address(address);
        var bytes = new byte[Math.Min(length, 256)];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return ArgumentFormatter.Address(address);
        if (level == SocketLevel.SOL_SOCKET && name == (int)SocketOption.SO_PEERCRED && bytes.Length >= 12)
            return $"{{pid={BitConverter.ToInt32(bytes)}, uid={BitConverter.ToUInt32(bytes, 4)}, gid={BitConverter.ToUInt32(bytes, 8)}}}";
        if (level == SocketLevel.SOL_SOCKET && name == (int)SocketOption.SO_LINGER && bytes.Length >= 8)
            return $"{{l_onoff={BitConverter.ToInt32(bytes)}, l_linger={BitConverter.ToInt32(bytes, 4)}}}";
        if (bytes.Length == 4)
            return $"[{BitConverter.ToInt32(bytes)}]";
        return StringQuoter.Quote(bytes, options.HexStrings, truncated: false);
    }

    /// <summary>struct msghdr; <paramref name="transferred"/> limits the data shown (recvmsg's result), <paramref name="nameLengthAtEntry"/> gives "128 => 16".</summary>
    public string Message(GuestThread thread, MessageLayouts layouts, ulong address, long? transferred, long? nameLengthAtEntry)
    {
        var memory = thread.Memory;
        if (address == 0)
            return "NULL";
        if (layouts.Read(memory, new GuestAddress(address), out var header) != Errno.None)
            return ArgumentFormatter.Address(address);
        var shownName = Math.Min(header.NameLength, (int)(nameLengthAtEntry ?? header.NameLength));
        var name = header.Name == 0 ? "NULL" : Address(memory, header.Name, shownName);
        var nameLength = nameLengthAtEntry is { } before && before != header.NameLength ? $"{before} => {header.NameLength}" : header.NameLength.ToString();
        var vectors = structs.IoVectors(thread, header.Vectors, (long)header.VectorCount, transferred);
        var control = header.ControlLength > 0 && header.Control != 0 ? $"msg_control={Control(memory, layouts, header)}, " : "";
        var flags = enums.Format(typeof(MessageFlags), (uint)header.Flags, accessMode: false);
        return $"{{msg_name={name}, msg_namelen={nameLength}, msg_iov={vectors}, msg_iovlen={header.VectorCount}, {control}msg_controllen={header.ControlLength}, msg_flags={flags}}}";
    }

    private string Control(GuestMemory memory, MessageLayouts layouts, MessageHeader header)
    {
        var bytes = new byte[Math.Min(header.ControlLength, 4096)];
        if (memory.Read(new GuestAddress(header.Control), bytes) != Errno.None)
            return ArgumentFormatter.Address(header.Control);
        var messages = new List<(int Level, int Type, byte[] Data)>();
        layouts.ParseControl(bytes, messages);
        var parts = new List<string>();
        foreach (var (level, type, data) in messages)
        {
            var levelName = enums.Format(typeof(SocketLevel), (uint)level);
            var typeName = level == (int)SocketLevel.SOL_SOCKET ? enums.Format(typeof(ControlMessageType), (uint)type) : type.ToString();
            string shown;
            if (level == (int)SocketLevel.SOL_SOCKET && type == (int)ControlMessageType.SCM_RIGHTS)
                shown = "[" + string.Join(", ", Enumerable.Range(0, data.Length / 4).Select(i => BitConverter.ToInt32(data, i * 4))) + "]";
            else if (level == (int)SocketLevel.SOL_SOCKET && type == (int)ControlMessageType.SCM_CREDENTIALS && data.Length >= 12)
                shown = $"{{pid={BitConverter.ToInt32(data)}, uid={BitConverter.ToUInt32(data, 4)}, gid={BitConverter.ToUInt32(data, 8)}}}";
            else
                shown = StringQuoter.Quote(data, options.HexStrings, truncated: false);
            parts.Add($"{{cmsg_len={layouts.ControlHeaderSize + data.Length}, cmsg_level={levelName}, cmsg_type={typeName}, cmsg_data={shown}}}");
        }
        return "[" + string.Join(", ", parts) + "]";
    }

    /// <summary>An mmsghdr array of <paramref name="count"/> entries, each with its msg_len.</summary>
    public string Messages(GuestThread thread, MessageLayouts layouts, ulong address, long count)
    {
        var memory = thread.Memory;
        if (address == 0)
            return "NULL";
        if (count < 0)
            return ArgumentFormatter.Address(address);
        var parts = new List<string>();
        for (var index = 0; index < count && index < 1024; index++)
        {
            var entry = layouts.Entry(new GuestAddress(address), index);
            if (memory.Read(entry + (ulong)layouts.MultipleLengthOffset, out uint length) != Errno.None)
                return ArgumentFormatter.Address(address);
            parts.Add($"{{msg_hdr={Message(thread, layouts, entry.Value, length, null)}, msg_len={length}}}");
        }
        return "[" + string.Join(", ", parts) + "]";
    }
}
