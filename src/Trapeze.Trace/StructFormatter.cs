using System.Text;
using Trapeze.Kernel;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Trace;

/// <summary>
/// Structures behind pointer arguments, in strace's notation: {field=value, ...}, read in the
/// layouts of the calling thread's personality (a 32-bit guest's rlimit, sigaction, iovec, time32).
/// </summary>
public sealed class StructFormatter(TraceOptions options)
{
    private const ulong Infinity = ulong.MaxValue;

    public string Format(ArgumentKind kind, GuestThread thread, ulong address, long size, EnumFormatter enums)
    {
        if (address == 0)
            return "NULL";
        var memory = thread.Memory;
        var layouts = thread.Process.Personality.Structures;
        var narrow = layouts.Model.WordSize == 4;
        var text = kind switch
        {
            ArgumentKind.Stat => layouts.ReadStat(memory, new GuestAddress(address), out var stat) == Errno.None ? Stat(stat) : null,
            ArgumentKind.Timespec => LinuxStructures.ReadTime(thread, new GuestAddress(address), out var time) == Errno.None ? $"{{tv_sec={time.Seconds}, tv_nsec={time.Nanoseconds}}}" : null,
            ArgumentKind.Timeval => LinuxStructures.ReadTime(thread, new GuestAddress(address), out var value) == Errno.None ? $"{{tv_sec={value.Seconds}, tv_usec={value.Nanoseconds}}}" : null,
            ArgumentKind.SignalSet => Read<ulong>(memory, address, out var set) ? SignalSet(set) : null,
            ArgumentKind.SignalAction => SignalAction(thread, address, enums),
            ArgumentKind.SignalInformation => SignalInformation(thread, address),
            ArgumentKind.SignalStack => SignalStack(thread, address),
            // A 32-bit rlimit's infinity is RLIM_INFINITY (~0UL), which ReadLimit widens.
            ArgumentKind.ResourceLimit => layouts.ReadLimit(memory, new GuestAddress(address), out var limit) == Errno.None
                ? $"{{rlim_cur={Limit(limit.Current, narrow)}, rlim_max={Limit(limit.Maximum, narrow)}}}" : null,
            ArgumentKind.LongLongPointer => Read<long>(memory, address, out var wide) ? $"[{wide}]" : null,
            ArgumentKind.UserDescriptor => UserDescriptor(memory, address),
            ArgumentKind.SystemName => SystemName(memory, address),
            ArgumentKind.CpuSet => CpuSet(memory, address, size),
            ArgumentKind.IntPointer => Read<int>(memory, address, out var number) ? $"[{number}]" : null,
            ArgumentKind.DirectoryEntries => DirectoryEntries(memory, address, size),
            ArgumentKind.Statx => Statx(memory, address, enums),
            ArgumentKind.PollDescriptors => PollFormatter.PollDescriptors(memory, address, size, enums),
            ArgumentKind.FdSet => PollFormatter.FdSet(memory, address, size),
            ArgumentKind.SelectSignalMask => SelectSignalMask(memory, address, narrow),
            ArgumentKind.EpollEvent => PollFormatter.EpollEvent(memory, address, enums),
            ArgumentKind.EpollEvents => PollFormatter.EpollEvents(memory, address, size, enums),
            ArgumentKind.IntervalTimerSpec => PollFormatter.IntervalTimer(memory, address),
            ArgumentKind.MessageQueueAttributes => MessageQueueAttributes(memory, layouts, address),
            _ => null,
        };
        return text ?? ArgumentFormatter.Address(address);
    }

    /// <summary>struct mq_attr: {mq_flags=O_NONBLOCK, mq_maxmsg=4, mq_msgsize=64, mq_curmsgs=0}, longs of the guest's size.</summary>
    private static string? MessageQueueAttributes(GuestMemory memory, LinuxStructures layouts, ulong address)
    {
        Span<long> fields = stackalloc long[4];
        if (layouts.ReadLongs(memory, new GuestAddress(address), fields) != Errno.None)
            return null;
        var flags = fields[0] switch { 0 => "0", (long)OpenFlags.O_NONBLOCK => "O_NONBLOCK", var other => $"0x{other:x}" };
        return $"{{mq_flags={flags}, mq_maxmsg={fields[1]}, mq_msgsize={fields[2]}, mq_curmsgs={fields[3]}}}";
    }

    /// <summary>pselect6's {sigmask=[...], sigsetsize=8}: a pointer and a size_t, each a word of the guest's.</summary>
    private static string? SelectSignalMask(GuestMemory memory, ulong address, bool narrow)
    {
        ulong pointer, size;
        if (narrow)
        {
            if (!Read<uint>(memory, address, out var narrowPointer) || !Read<uint>(memory, address + 4, out var narrowSize))
                return null;
            (pointer, size) = (narrowPointer, narrowSize);
        }
        else if (!Read(memory, address, out pointer) || !Read(memory, address + 8, out size))
        {
            return null;
        }
        var mask = pointer == 0 ? "NULL" : Read<ulong>(memory, pointer, out var set) ? SignalSet(set) : ArgumentFormatter.Address(pointer);
        return $"{{sigmask={mask}, sigsetsize={size}}}";
    }

    private static bool Read<T>(GuestMemory memory, ulong address, out T value) where T : unmanaged
        => memory.Read(new GuestAddress(address), out value) == Errno.None;

    /// <summary>strace writes limits that are whole KiB as N*1024.</summary>
    private static string Limit(ulong value, bool narrow)
        => value == Infinity ? (narrow ? "RLIM_INFINITY" : "RLIM64_INFINITY") : value > 0 && value % 1024 == 0 ? $"{value / 1024}*1024" : value.ToString();

    /// <summary>i386's struct user_desc (set_thread_area): entry, base, limit, then the flag bits.</summary>
    private static string? UserDescriptor(GuestMemory memory, ulong address)
    {
        Span<int> words = stackalloc int[4];
        if (memory.Read(new GuestAddress(address), System.Runtime.InteropServices.MemoryMarshal.AsBytes(words)) != Errno.None)
            return null;
        var bits = words[3];
        return $"{{entry_number={words[0]}, base_addr=0x{(uint)words[1]:x}, limit=0x{(uint)words[2]:x}, seg_32bit={bits & 1}, contents={(bits >> 1) & 3}, " +
            $"read_exec_only={(bits >> 3) & 1}, limit_in_pages={(bits >> 4) & 1}, seg_not_present={(bits >> 5) & 1}, useable={(bits >> 6) & 1}}}";
    }

    private string Stat(in LinuxStat stat)
    {
        var type = stat.Mode & 0xf000;
        var device = type is 0x2000 or 0x6000;
        var mode = $"{FileType(type)}|{ArgumentFormatter.Octal(stat.Mode & 0xfff)}";
        if (!options.Verbose)
            return device
                ? $"{{st_mode={mode}, st_rdev={Device(stat.SpecialDevice)}, ...}}"
                : $"{{st_mode={mode}, st_size={stat.Size}, ...}}";
        var size = device ? $"st_rdev={Device(stat.SpecialDevice)}" : $"st_size={stat.Size}";
        return $"{{st_dev={Device(stat.Device)}, st_ino={stat.Inode}, st_mode={mode}, st_nlink={stat.LinkCount}, " +
            $"st_uid={stat.UserId}, st_gid={stat.GroupId}, st_blksize={stat.BlockSize}, st_blocks={stat.Blocks}, {size}, " +
            $"st_atime={stat.AccessSeconds}, st_atime_nsec={stat.AccessNanoseconds}, st_mtime={stat.ModifySeconds}, " +
            $"st_mtime_nsec={stat.ModifyNanoseconds}, st_ctime={stat.ChangeSeconds}, st_ctime_nsec={stat.ChangeNanoseconds}}}";
    }

    /// <summary>getdents64's buffer: strace counts the linux_dirent64 records (d_reclen at offset 16).</summary>
    private static string? DirectoryEntries(GuestMemory memory, ulong address, long size)
    {
        if (size < 0)
            return null;
        var bytes = new byte[size];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return null;
        var count = 0;
        for (var offset = 0; offset + 19 <= bytes.Length; count++)
        {
            var length = BitConverter.ToUInt16(bytes, offset + 16);
            if (length == 0)
                break;
            offset += length;
        }
        return $"0x{address:x} /* {count} entries */";
    }

    /// <summary>struct statx: mask, blksize, attributes, nlink, uid, gid, mode, ino, size, blocks... (linux/stat.h).</summary>
    private string? Statx(GuestMemory memory, ulong address, EnumFormatter enums)
    {
        var bytes = new byte[256];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return null;
        var mask = BitConverter.ToUInt32(bytes, 0);
        var attributes = BitConverter.ToUInt64(bytes, 8);
        var mode = BitConverter.ToUInt16(bytes, 28);
        var size = BitConverter.ToUInt64(bytes, 40);
        var modeText = $"{FileType((uint)mode & 0xf000)}|{ArgumentFormatter.Octal((uint)mode & 0xfff)}";
        var head = $"{{stx_mask={enums.Format(typeof(StatxMask), mask)}, stx_attributes={ArgumentFormatter.Hex(attributes)}, stx_mode={modeText}, stx_size={size}";
        if (!options.Verbose)
            return head + ", ...}";
        return head + $", stx_blksize={BitConverter.ToUInt32(bytes, 4)}, stx_nlink={BitConverter.ToUInt32(bytes, 16)}, " +
            $"stx_uid={BitConverter.ToUInt32(bytes, 20)}, stx_gid={BitConverter.ToUInt32(bytes, 24)}, stx_ino={BitConverter.ToUInt64(bytes, 32)}, " +
            $"stx_blocks={BitConverter.ToUInt64(bytes, 48)}}}";
    }

    private static string FileType(uint type) => type switch
    {
        0x8000 => "S_IFREG",
        0x4000 => "S_IFDIR",
        0xa000 => "S_IFLNK",
        0x2000 => "S_IFCHR",
        0x6000 => "S_IFBLK",
        0x1000 => "S_IFIFO",
        0xc000 => "S_IFSOCK",
        _ => $"0{Convert.ToString(type, 8)}",
    };

    /// <summary>makedev(major, minor) with Linux's split of the 64-bit device number.</summary>
    private static string Device(ulong device)
    {
        var major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfffUL);
        var minor = (device & 0xff) | ((device >> 12) & ~0xffUL);
        return $"makedev(0x{major:x}, 0x{minor:x})";
    }

    /// <summary>[USR1 TERM]; a set with most signals in it is printed as its complement, ~[...].</summary>
    public static string SignalSet(ulong set)
    {
        var complement = ulong.PopCount(set) > 32;
        if (complement)
            set = ~set;
        var names = new List<string>();
        for (var signal = 1; signal <= 64; signal++)
        {
            if ((set & (1UL << (signal - 1))) != 0)
                names.Add(ArgumentFormatter.SignalName(signal)[3..]);
        }
        return (complement ? "~[" : "[") + string.Join(' ', names) + "]";
    }

    private static string? SignalInformation(GuestThread thread, ulong address)
    {
        Span<byte> bytes = stackalloc byte[SignalInfo.Size];
        return thread.Memory.Read(new GuestAddress(address), bytes) == Errno.None
            ? SignalFormatter.Fields(Kernel.Tasks.SignalInformation.FromBytes(bytes, thread.Process.Personality.Structures.Model.WordSize)) : null;
    }

    /// <summary>stack_t: {ss_sp=0x7f0000, ss_flags=SS_ONSTACK, ss_size=65536}.</summary>
    private static string? SignalStack(GuestThread thread, ulong address)
    {
        const int OnStack = 1, Disable = 2, AutoDisarm = 1 << 31;
        if (thread.Process.Personality.Structures.ReadSignalStack(thread.Memory, new GuestAddress(address), out var stackBase, out var flags, out var size) != Errno.None)
            return null;
        var names = new List<string>();
        if ((flags & OnStack) != 0)
            names.Add("SS_ONSTACK");
        if ((flags & Disable) != 0)
            names.Add("SS_DISABLE");
        if ((flags & AutoDisarm) != 0)
            names.Add("SS_AUTODISARM");
        if ((flags & ~(OnStack | Disable | AutoDisarm)) is var unknown and not 0)
            names.Add($"0x{unknown:x}");
        return $"{{ss_sp={ArgumentFormatter.Address(stackBase)}, ss_flags={(names.Count == 0 ? "0" : string.Join('|', names))}, ss_size={size}}}";
    }

    /// <summary>sigreturn's frame: {mask=[...]}, the mask it puts back; null where the ABI's frames do not say.</summary>
    public static string? SignalReturnFrame(GuestThread thread)
        => thread.Process.Personality.SignalFrames?.SavedMask(thread, thread.Process.Cpu, SignalFrameKind.RealTime) is { } mask ? $"{{mask={SignalSet(mask)}}}" : null;

    private static string? SignalAction(GuestThread thread, ulong address, EnumFormatter enums)
    {
        // struct kernel_sigaction: handler, flags, restorer, mask (the kernel's 64-bit fields, from any layout).
        Span<ulong> words = stackalloc ulong[4];
        if (thread.Process.Personality.Structures.ReadSignalAction(thread.Memory, new GuestAddress(address), System.Runtime.InteropServices.MemoryMarshal.AsBytes(words)) != Errno.None)
            return null;
        var handler = words[0] switch
        {
            0 => "SIG_DFL",
            1 => "SIG_IGN",
            var value => $"0x{value:x}",
        };
        var flags = (SignalActionFlags)words[1];
        var text = new StringBuilder();
        text.Append($"{{sa_handler={handler}, sa_mask={SignalSet(words[3])}, sa_flags={enums.Format(typeof(SignalActionFlags), words[1])}");
        if ((flags & SignalActionFlags.SA_RESTORER) != 0)
            text.Append($", sa_restorer=0x{words[2]:x}");
        return text.Append('}').ToString();
    }

    private string? SystemName(GuestMemory memory, ulong address)
    {
        // struct utsname: six 65-byte fields.
        var bytes = new byte[65 * 6];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return null;
        string Field(int index)
        {
            var field = bytes.AsSpan(index * 65, 65);
            var end = field.IndexOf((byte)0);
            return StringQuoter.Quote(end < 0 ? field : field[..end], options.HexStrings, truncated: false);
        }
        return options.Verbose
            ? $"{{sysname={Field(0)}, nodename={Field(1)}, release={Field(2)}, version={Field(3)}, machine={Field(4)}, domainname={Field(5)}}}"
            : $"{{sysname={Field(0)}, nodename={Field(1)}, ...}}";
    }

    private static string? CpuSet(GuestMemory memory, ulong address, long size)
    {
        if (size <= 0)
            return null;
        var bytes = new byte[size];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return null;
        var cpus = new List<int>();
        for (var bit = 0; bit < size * 8; bit++)
        {
            if ((bytes[bit / 8] & (1 << (bit % 8))) != 0)
                cpus.Add(bit);
        }
        return "[" + string.Join(' ', cpus) + "]";
    }

    /// <summary>[{iov_base="...", iov_len=N}, ...]; after a read, only <paramref name="transferred"/> bytes hold data.</summary>
    public string IoVectors(GuestThread thread, ulong address, long count, long? transferred)
    {
        if (address == 0)
            return "NULL";
        var memory = thread.Memory;
        var parts = new List<string>();
        var left = transferred ?? long.MaxValue;
        for (var index = 0; index < count && index < 1024; index++)
        {
            if (thread.Process.Personality.Structures.ReadIoVector(memory, new GuestAddress(address), index, out var vector) != Errno.None)
                return ArgumentFormatter.Address(address);
            var shown = (long)Math.Min((ulong)Math.Max(left, 0), vector.Length);
            left -= shown;
            var limit = Math.Min(shown, options.StringLimit);
            var bytes = new byte[limit];
            var data = vector.Base == 0 ? "NULL"
                : memory.Read(new GuestAddress(vector.Base), bytes) == Errno.None
                    ? StringQuoter.Quote(bytes, options.HexStrings, truncated: shown > limit)
                    : ArgumentFormatter.Address(vector.Base);
            parts.Add($"{{iov_base={data}, iov_len={vector.Length}}}");
        }
        return "[" + string.Join(", ", parts) + "]";
    }

    /// <summary>argv-like arrays: ["a", "b"]; without -v an environment is only counted.</summary>
    public string StringArray(GuestMemory memory, ulong address)
    {
        if (address == 0)
            return "NULL";
        if (memory.ReadStringArray(new GuestAddress(address), out var values) != Errno.None)
            return ArgumentFormatter.Address(address);
        return "[" + string.Join(", ", values.Select(v => StringQuoter.Quote(GuestText.Encode(v), options.HexStrings, false))) + "]";
    }
}
