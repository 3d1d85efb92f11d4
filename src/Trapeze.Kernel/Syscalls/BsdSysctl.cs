using System.Text;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>The BSD sysctl(3) tree: the few names a static program's startup and runtime read.</summary>
public static class BsdSysctl
{
    // sys/sysctl.h: top-level identifiers and the second-level names served (the same numbers on FreeBSD and Darwin).
    private const int CtlSysctl = 0, CtlKern = 1, CtlHw = 6;
    private const int NameToOid = 3;

    private enum Kind : byte { Text, Integer, Random }

    private static readonly (string Name, int Top, int Second, Kind Kind)[] Names =
    [
        ("kern.ostype", CtlKern, 1, Kind.Text),
        ("kern.osrelease", CtlKern, 2, Kind.Text),
        ("kern.hostname", CtlKern, 10, Kind.Text),
        ("kern.osreldate", CtlKern, 24, Kind.Integer),
        ("kern.arandom", CtlKern, 37, Kind.Random),
        ("hw.machine", CtlHw, 1, Kind.Text),
        ("hw.ncpu", CtlHw, 3, Kind.Integer),
        ("hw.pagesize", CtlHw, 7, Kind.Integer),
    ];

    [Syscall("__sysctl", Support = Support.Partial, Note = "kern.ostype, kern.osrelease, kern.hostname, kern.osreldate, kern.arandom, hw.machine, hw.ncpu, hw.pagesize and sysctl.name2oid for them; other names ENOENT; setting a value EPERM")]
    public static Result Sysctl(GuestThread thread, GuestAddress name, uint length, GuestAddress old, GuestAddress oldLength, GuestAddress value, ulong valueLength)
    {
        if (length is < 2 or > 24)
            return Errno.EINVAL;
        Span<int> mib = stackalloc int[(int)length];
        if (thread.Memory.Read(name, System.Runtime.InteropServices.MemoryMarshal.AsBytes(mib)) is var fault and not Errno.None)
            return fault;
        if (thread.Process.Personality is not BsdPersonality { Abi: var abi })
            return Errno.ENOSYS;
        if (mib[0] == CtlSysctl && mib[1] == NameToOid)
            return NameToIdentifier(thread, value, valueLength, old, oldLength);
        var (top, second) = (mib[0], mib[1]);
        var index = Array.FindIndex(Names, entry => entry.Top == top && entry.Second == second);
        if (length != 2 || index < 0)
            return Errno.ENOENT;
        if (!value.IsNull)
            return Errno.EPERM;
        var entry = Names[index];
        byte[] answer = entry.Kind switch
        {
            Kind.Text => Encoding.UTF8.GetBytes(Text(thread, abi, entry.Name) + "\0"),
            Kind.Integer => BitConverter.GetBytes(Integer(abi, entry.Name)),
            _ => [],
        };
        if (entry.Kind == Kind.Random)
        {
            // kern.arandom fills what the caller asks for, at most 256 bytes at a time.
            if (old.IsNull || thread.Memory.Read(oldLength, out ulong wanted) is not Errno.None)
                return Errno.EFAULT;
            answer = new byte[Math.Min(wanted, 256UL)];
            thread.Kernel.Random.Fill(answer);
        }
        return CopyOut(thread, answer, old, oldLength);
    }

    private static string Text(GuestThread thread, BsdAbi abi, string name) => name switch
    {
        "kern.ostype" => abi.Version.Type,
        "kern.osrelease" => abi.Version.Release,
        "kern.hostname" => System.Net.Dns.GetHostName(),
        _ => thread.Process.Personality.Platform,
    };

    private static int Integer(BsdAbi abi, string name) => name switch
    {
        "kern.osreldate" => abi.Version.ReleaseDate,
        "hw.ncpu" => Environment.ProcessorCount,
        _ => (int)AddressSpace.PageSize,
    };

    /// <summary>sysctl.name2oid: the name (without its NUL) in, the identifier's integers out.</summary>
    private static Result NameToIdentifier(GuestThread thread, GuestAddress value, ulong valueLength, GuestAddress old, GuestAddress oldLength)
    {
        if (valueLength is 0 or > 256)
            return Errno.ENOENT;
        var bytes = new byte[valueLength];
        if (thread.Memory.Read(value, bytes) is var fault and not Errno.None)
            return fault;
        var text = Encoding.UTF8.GetString(bytes).TrimEnd('\0');
        var index = Array.FindIndex(Names, entry => entry.Name == text);
        if (index < 0)
            return Errno.ENOENT;
        var identifier = new byte[8];
        BitConverter.TryWriteBytes(identifier.AsSpan(0), Names[index].Top);
        BitConverter.TryWriteBytes(identifier.AsSpan(4), Names[index].Second);
        return CopyOut(thread, identifier, old, oldLength);
    }

    /// <summary>sysctl's copy-out: the size alone for a null buffer, ENOMEM (with what fits) for a short one.</summary>
    private static Result CopyOut(GuestThread thread, byte[] answer, GuestAddress old, GuestAddress oldLength)
    {
        if (oldLength.IsNull)
            return old.IsNull ? 0 : Errno.EFAULT;
        if (old.IsNull)
            return thread.Memory.Write(oldLength, (ulong)answer.Length) is var sizeFault and not Errno.None ? sizeFault : 0;
        if (thread.Memory.Read(oldLength, out ulong room) is var fault and not Errno.None)
            return fault;
        var copied = (int)Math.Min(room, (ulong)answer.Length);
        if (thread.Memory.Write(old, answer.AsSpan(0, copied)) is var writeFault and not Errno.None)
            return writeFault;
        thread.Memory.Write(oldLength, (ulong)copied);
        return copied < answer.Length ? Errno.ENOMEM : 0;
    }
}
