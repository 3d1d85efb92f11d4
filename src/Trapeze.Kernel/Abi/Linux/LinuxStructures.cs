using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Abi.Linux;

/// <summary>
/// Linux's structures in one data model. Handlers work with the kernel's own types (<see cref="LinuxStat"/>,
/// <see cref="IoVector"/>, which are x86-64's layouts) and hand them here; a 32-bit personality's
/// structures are declared once, as in the kernel's headers, and converted field by field.
/// </summary>
public sealed partial class LinuxStructures
{
    private readonly GuestLayout? stat;
    private readonly GuestLayout? ioVector;

    /// <summary>Another system's struct stat, its fields named as Linux's (st_dev ... st_ctime_nsec); others are written zero.</summary>
    private readonly GuestLayout? systemStat;

    /// <param name="systemStat">The stat structure of a system that is not Linux (SunOS 4's), declared by field names.</param>
    public LinuxStructures(DataModel model, GuestLayout? systemStat = null)
    {
        Model = model;
        this.systemStat = systemStat;
        if (model.WordSize == 8)
            return; // LP64: the kernel types are the guest's layout; copies stay plain struct copies.
        // struct stat64 (arch/x86 and arch/arm uapi asm/stat.h: the same fields; the padding differs
        // only by where each ABI aligns long long: 96 bytes on i386, 104 on ARM EABI).
        stat = new GuestLayout(model,
            (CType.LongLong, "st_dev"), (CType.Pad4, "__pad0"), (CType.Long, "__st_ino"),
            (CType.Int, "st_mode"), (CType.Int, "st_nlink"), (CType.Long, "st_uid"), (CType.Long, "st_gid"),
            (CType.LongLong, "st_rdev"), (CType.Pad4, "__pad3"), (CType.LongLong, "st_size"),
            (CType.Long, "st_blksize"), (CType.LongLong, "st_blocks"),
            (CType.Long, "st_atime"), (CType.Long, "st_atime_nsec"), (CType.Long, "st_mtime"),
            (CType.Long, "st_mtime_nsec"), (CType.Long, "st_ctime"), (CType.Long, "st_ctime_nsec"),
            (CType.LongLong, "st_ino"));
        // struct iovec (linux/uio.h).
        ioVector = new GuestLayout(model, (CType.Pointer, "iov_base"), (CType.Long, "iov_len"));
    }

    public DataModel Model { get; }

    /// <summary>The size of the stat structure the stat family writes (struct stat, or stat64 on 32-bit).</summary>
    public int StatSize => systemStat?.Size ?? stat?.Size ?? System.Runtime.CompilerServices.Unsafe.SizeOf<LinuxStat>();

    private static long StatField(string name, in LinuxStat status) => name switch
    {
        "st_dev" => (long)status.Device,
        "st_ino" => (long)status.Inode,
        "st_mode" => status.Mode,
        "st_nlink" => (long)status.LinkCount,
        "st_uid" => status.UserId,
        "st_gid" => status.GroupId,
        "st_rdev" => (long)status.SpecialDevice,
        "st_size" => status.Size,
        "st_blksize" => status.BlockSize,
        "st_blocks" => status.Blocks,
        "st_atime" => status.AccessSeconds,
        "st_atime_nsec" => status.AccessNanoseconds,
        "st_mtime" => status.ModifySeconds,
        "st_mtime_nsec" => status.ModifyNanoseconds,
        "st_ctime" => status.ChangeSeconds,
        "st_ctime_nsec" => status.ChangeNanoseconds,
        _ => 0,
    };

    private static void SetStatField(string name, long value, ref LinuxStat status)
    {
        switch (name)
        {
            case "st_dev": status.Device = (ulong)value; break;
            case "st_ino": status.Inode = (ulong)value; break;
            case "st_mode": status.Mode = (uint)value; break;
            case "st_nlink": status.LinkCount = (ulong)value; break;
            case "st_uid": status.UserId = (uint)value; break;
            case "st_gid": status.GroupId = (uint)value; break;
            case "st_rdev": status.SpecialDevice = (ulong)value; break;
            case "st_size": status.Size = (int)value; break;
            case "st_blksize": status.BlockSize = (int)value; break;
            case "st_blocks": status.Blocks = (int)value; break;
            case "st_atime": status.AccessSeconds = (int)value; break;
            case "st_mtime": status.ModifySeconds = (int)value; break;
            case "st_ctime": status.ChangeSeconds = (int)value; break;
        }
    }

    public int IoVectorSize => ioVector?.Size ?? 16;

    /// <summary>The stat family's answer in the guest's layout.</summary>
    public Errno WriteStat(GuestMemory memory, GuestAddress address, in LinuxStat status)
    {
        if (systemStat is not null)
        {
            Span<long> named = stackalloc long[systemStat.Names.Count];
            for (var index = 0; index < named.Length; index++)
                named[index] = StatField(systemStat.Names[index], status);
            return systemStat.Write(memory, address, named);
        }
        if (stat is null)
            return memory.Write(address, status);
        Span<long> values =
        [
            (long)status.Device, (long)status.Inode, status.Mode, (long)status.LinkCount, status.UserId, status.GroupId,
            (long)status.SpecialDevice, status.Size, status.BlockSize, status.Blocks,
            status.AccessSeconds, status.AccessNanoseconds, status.ModifySeconds, status.ModifyNanoseconds,
            status.ChangeSeconds, status.ChangeNanoseconds, (long)status.Inode,
        ];
        return stat.Write(memory, address, values);
    }

    /// <summary>A stat structure the guest holds, as the kernel's (the tracer prints what a call wrote).</summary>
    public Errno ReadStat(GuestMemory memory, GuestAddress address, out LinuxStat status)
    {
        if (systemStat is not null)
        {
            status = default;
            Span<long> named = stackalloc long[systemStat.Names.Count];
            if (systemStat.Read(memory, address, named) is var error and not Errno.None)
                return error;
            for (var index = 0; index < named.Length; index++)
                SetStatField(systemStat.Names[index], named[index], ref status);
            return Errno.None;
        }
        if (stat is null)
            return memory.Read(address, out status);
        status = default;
        Span<long> values = stackalloc long[17];
        if (stat.Read(memory, address, values) is var fault and not Errno.None)
            return fault;
        status = new LinuxStat
        {
            Device = (ulong)values[0],
            Mode = (uint)values[2],
            LinkCount = (ulong)values[3],
            UserId = (uint)values[4],
            GroupId = (uint)values[5],
            SpecialDevice = (ulong)values[6],
            Size = values[7],
            BlockSize = values[8],
            Blocks = values[9],
            AccessSeconds = (int)values[10],
            AccessNanoseconds = values[11],
            ModifySeconds = (int)values[12],
            ModifyNanoseconds = values[13],
            ChangeSeconds = (int)values[14],
            ChangeNanoseconds = values[15],
            Inode = (ulong)values[16],
        };
        return Errno.None;
    }

    /// <summary>
    /// struct rlimit of getrlimit/setrlimit: two unsigned longs. On 32-bit a limit past 32 bits reads as
    /// RLIM_INFINITY, and RLIM_INFINITY (~0UL) means the 64-bit infinity, as the kernel's compat code does.
    /// </summary>
    public Errno WriteLimit(GuestMemory memory, GuestAddress address, in ResourceLimit limit)
    {
        if (Model.WordSize == 8)
            return memory.Write(address, limit);
        Span<uint> words = [limit.Current > uint.MaxValue ? uint.MaxValue : (uint)limit.Current, limit.Maximum > uint.MaxValue ? uint.MaxValue : (uint)limit.Maximum];
        return memory.Write(address, System.Runtime.InteropServices.MemoryMarshal.AsBytes(words));
    }

    public Errno ReadLimit(GuestMemory memory, GuestAddress address, out ResourceLimit limit)
    {
        if (Model.WordSize == 8)
            return memory.Read(address, out limit);
        limit = default;
        Span<uint> words = stackalloc uint[2];
        if (memory.Read(address, System.Runtime.InteropServices.MemoryMarshal.AsBytes(words)) is var fault and not Errno.None)
            return fault;
        limit = new ResourceLimit { Current = words[0] == uint.MaxValue ? ulong.MaxValue : words[0], Maximum = words[1] == uint.MaxValue ? ulong.MaxValue : words[1] };
        return Errno.None;
    }

    /// <summary>
    /// A timespec (or, with the same shape, a timeval): x86-64's 64-bit one, which the *_time64 calls
    /// take too, unless <paramref name="thread"/> is in an old time32 call: then two 32-bit longs.
    /// </summary>
    public static Errno ReadTime(Tasks.GuestThread thread, GuestAddress address, out Timespec time)
    {
        if (!thread.OldTimeLayout)
        {
            var result = thread.Memory.Read(address, out time);
            // A 32-bit libc's 64-bit timespec has tv_nsec in 32 bits and padding that may hold anything: Linux drops it.
            if (thread.Process.Personality.Structures.Model.WordSize == 4)
                time.Nanoseconds = (uint)time.Nanoseconds;
            return result;
        }
        time = default;
        if (thread.Memory.Read(address, out int seconds) is var fault and not Errno.None)
            return fault;
        if (thread.Memory.Read(address + 4, out int fraction) is var fractionFault and not Errno.None)
            return fractionFault;
        time = new Timespec { Seconds = seconds, Nanoseconds = fraction };
        return Errno.None;
    }

    /// <summary>Two 32-bit longs in the guest's byte order, or x86-64's timespec.</summary>
    public static Errno WriteTime(Tasks.GuestThread thread, GuestAddress address, in Timespec time)
    {
        if (!thread.OldTimeLayout)
            return thread.Memory.Write(address, time);
        return thread.Memory.Write(address, (int)time.Seconds) is var fault and not Errno.None ? fault : thread.Memory.Write(address + 4, (int)time.Nanoseconds);
    }

    /// <summary>A C long (time_t of time(2)): the word of the data model.</summary>
    public Errno WriteLong(GuestMemory memory, GuestAddress address, long value)
        => Model.WordSize == 4 ? memory.Write(address, (int)value) : memory.Write(address, value);

    /// <summary>Entry <paramref name="index"/> of an iovec array.</summary>
    public Errno ReadIoVector(GuestMemory memory, GuestAddress vectors, int index, out IoVector vector)
    {
        if (ioVector is null)
            return memory.Read(vectors + (ulong)(index * 16), out vector);
        vector = default;
        Span<long> values = stackalloc long[2];
        if (ioVector.Read(memory, vectors + (ulong)(index * ioVector.Size), values) is var fault and not Errno.None)
            return fault;
        vector = new IoVector { Base = (ulong)values[0], Length = (ulong)values[1] };
        return Errno.None;
    }
}
