using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>struct user_desc (asm/ldt.h): a segment as set_thread_area describes it.</summary>
public readonly record struct UserDescriptor(uint Entry, uint Base, uint Limit, uint Flags)
{
    private bool Bit(int index) => ((Flags >> index) & 1) != 0;

    public bool Is32Bit => Bit(0);
    public uint Contents => (Flags >> 1) & 3;
    public bool ReadExecuteOnly => Bit(3);
    public bool LimitInPages => Bit(4);
    public bool NotPresent => Bit(5);
    public bool Usable => Bit(6);

    /// <summary>LDT_empty: the pattern that clears an entry.</summary>
    public bool IsEmpty => Base == 0 && Limit == 0 && Contents == 0 && ReadExecuteOnly && !Is32Bit && !LimitInPages && NotPresent && !Usable;
}

/// <summary>
/// i386 thread-local storage: set_thread_area and get_thread_area put user segments into the GDT
/// entries Linux reserves for TLS (12, 13 and 14 for a 32-bit task on x86-64), which %gs then selects.
/// </summary>
public static class ThreadArea
{
    /// <summary>GDT_ENTRY_TLS_MIN .. GDT_ENTRY_TLS_MAX on x86-64 kernels.</summary>
    public static readonly int[] Entries = [12, 13, 14];

    [Syscall("set_thread_area", Support = Support.Partial, Note = "32-bit x86 programs only (ENOSYS on x86-64); the TLS entries are one GDT per address space, not switched per thread")]
    public static Result SetThreadArea(GuestThread thread, [Argument(ArgumentKind.UserDescriptor)] GuestAddress descriptor)
    {
        var cpu = thread.Process.Cpu;
        if (cpu.Architecture != CpuArchitecture.I386)
            return Errno.ENOSYS;
        if (Read(thread.Memory, descriptor, out var area) is var fault and not Errno.None)
            return fault;
        if (area.Entry == uint.MaxValue)
        {
            var free = Array.Find(Entries, index => cpu.ReadGlobalDescriptor(index) == 0);
            if (free == 0)
                return Errno.ESRCH;
            area = area with { Entry = (uint)free };
            if (thread.Memory.Write(descriptor, area.Entry) is var writeFault and not Errno.None)
                return writeFault;
        }
        if (!Entries.Contains((int)area.Entry))
            return Errno.EINVAL;
        Install(thread, cpu, area);
        return 0;
    }

    [Syscall("get_thread_area", Support = Support.Partial, Note = "32-bit x86 programs only (ENOSYS on x86-64)")]
    public static Result GetThreadArea(GuestThread thread, [Argument(ArgumentKind.UserDescriptor, Direction = Direction.Out)] GuestAddress descriptor)
    {
        var cpu = thread.Process.Cpu;
        if (cpu.Architecture != CpuArchitecture.I386)
            return Errno.ENOSYS;
        if (thread.Memory.Read(descriptor, out uint entry) is var fault and not Errno.None)
            return fault;
        if (!Entries.Contains((int)entry))
            return Errno.EINVAL;
        var area = Decode(entry, cpu.ReadGlobalDescriptor((int)entry));
        Span<uint> words = [area.Entry, area.Base, area.Limit, area.Flags];
        return thread.Memory.Write(descriptor, System.Runtime.InteropServices.MemoryMarshal.AsBytes(words)) is var writeFault and not Errno.None ? writeFault : 0;
    }

    /// <summary>Puts a thread's TLS entries into the GDT (the segment caches come back with its saved context).</summary>
    internal static void LoadAll(ICpu cpu, ulong[] descriptors)
    {
        for (var index = 0; index < descriptors.Length; index++)
            cpu.WriteGlobalDescriptor(Entries[index], descriptors[index]);
    }

    public static Errno Read(GuestMemory memory, GuestAddress address, out UserDescriptor descriptor)
    {
        descriptor = default;
        Span<uint> words = stackalloc uint[4];
        if (memory.Read(address, System.Runtime.InteropServices.MemoryMarshal.AsBytes(words)) is var fault and not Errno.None)
            return fault;
        descriptor = new UserDescriptor(words[0], words[1], words[2], words[3]);
        return Errno.None;
    }

    /// <summary>
    /// Writes the entry, remembered as <paramref name="thread"/>'s own (threads share the CPU and its GDT,
    /// each brings its entries back when it runs), and, when %gs selects it, reloads %gs so the new base
    /// takes effect (as Linux does).
    /// </summary>
    public static void Install(GuestThread thread, ICpu cpu, UserDescriptor area)
    {
        var descriptor = area.IsEmpty ? 0 : Encode(area);
        thread.TlsDescriptors ??= new ulong[Entries.Length];
        thread.TlsDescriptors[area.Entry - Entries[0]] = descriptor;
        cpu.WriteGlobalDescriptor((int)area.Entry, descriptor);
        var selector = cpu.ReadSegment(X86Segment.Gs);
        if (selector >> 3 == area.Entry && !area.IsEmpty)
            cpu.WriteSegment(X86Segment.Gs, selector);
    }

    /// <summary>The 8-byte descriptor for a user data or code segment (DPL 3, accessed), per the Intel SDM's layout.</summary>
    public static ulong Encode(UserDescriptor area)
    {
        ulong limit = area.Limit, @base = area.Base;
        var type = (area.Contents << 2) | (area.ReadExecuteOnly ? 0u : 2u) | 1u;
        return (limit & 0xffff)
            | ((@base & 0xff_ffff) << 16)
            | ((ulong)type << 40)
            | (1UL << 44) // code or data, not a system segment
            | (3UL << 45) // DPL 3
            | ((area.NotPresent ? 0UL : 1UL) << 47)
            | (((limit >> 16) & 0xf) << 48)
            | ((area.Usable ? 1UL : 0) << 52)
            | ((area.Is32Bit ? 1UL : 0) << 54)
            | ((area.LimitInPages ? 1UL : 0) << 55)
            | (((@base >> 24) & 0xff) << 56);
    }

    public static UserDescriptor Decode(uint entry, ulong descriptor)
    {
        if (descriptor == 0)
            return new UserDescriptor(entry, 0, 0, 0b0101000); // LDT_empty: read_exec_only, seg_not_present
        var @base = (uint)(((descriptor >> 16) & 0xff_ffff) | (((descriptor >> 56) & 0xff) << 24));
        var limit = (uint)((descriptor & 0xffff) | (((descriptor >> 48) & 0xf) << 16));
        var type = (uint)(descriptor >> 40) & 0xf;
        var flags = ((uint)(descriptor >> 54) & 1)
            | (((type >> 2) & 3) << 1)
            | ((type & 2) == 0 ? 1u << 3 : 0)
            | ((uint)((descriptor >> 55) & 1) << 4)
            | ((uint)((descriptor >> 47) & 1 ^ 1) << 5)
            | ((uint)((descriptor >> 52) & 1) << 6);
        return new UserDescriptor(entry, @base, limit, flags);
    }
}
