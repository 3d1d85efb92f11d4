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

    public LinuxStructures(DataModel model)
    {
        Model = model;
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
    public int StatSize => stat?.Size ?? System.Runtime.CompilerServices.Unsafe.SizeOf<LinuxStat>();

    public int IoVectorSize => ioVector?.Size ?? 16;

    /// <summary>The stat family's answer in the guest's layout.</summary>
    public Errno WriteStat(GuestMemory memory, GuestAddress address, in LinuxStat status)
    {
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
        if (thread.Memory.Read(address, out ulong words) is var fault and not Errno.None)
            return fault;
        time = new Timespec { Seconds = (int)(uint)words, Nanoseconds = (int)(uint)(words >> 32) };
        return Errno.None;
    }

    public static Errno WriteTime(Tasks.GuestThread thread, GuestAddress address, in Timespec time)
        => thread.OldTimeLayout
            ? thread.Memory.Write(address, (ulong)(uint)time.Seconds | ((ulong)(uint)time.Nanoseconds << 32))
            : thread.Memory.Write(address, time);

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
