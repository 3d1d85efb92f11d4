using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Host;

/// <summary>Host pages that back guest memory. Trapeze owns them; the CPU maps them.</summary>
internal static unsafe class HostMemory
{
    private const long ProtectionReadWrite = 3;
    private const long MapShared = 0x01, MapPrivate = 0x02, MapAnonymous = 0x20, MapNoReserve = 0x4000;
    private const long AdviseDontNeed = 4;
    private const ulong PageSize = 4096;

    private static readonly Lazy<bool> HostHasSwap = new(() =>
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("SwapTotal:", StringComparison.Ordinal));
            return line is null || !line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1].Equals("0", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return true;
        }
    });

    /// <summary>
    /// Reserves zeroed, readable and writable host pages (guest protections are the CPU's job); 0 when
    /// the host refuses. Shared pages stay one copy when a process forks inside Trapeze.
    /// </summary>
    public static nint Allocate(ulong length, bool shared = false)
    {
        var flags = (shared ? MapShared : MapPrivate) | MapAnonymous | MapNoReserve;
        var result = HostSyscall.Invoke(HostSyscall.Mmap, 0, (long)length, ProtectionReadWrite, flags, -1, 0);
        return result < 0 && result >= -4095 ? 0 : (nint)result;
    }

    /// <summary>
    /// Zeroed pages of a new memfd, mapped shared (a platform maps the same descriptor into its own
    /// process); 0 when the host refuses. The descriptor is the caller's to close.
    /// </summary>
    public static nint AllocateFile(ulong length, out int descriptor)
    {
        const long CloseOnExec = 1;
        descriptor = -1;
        var name = "trapeze-guest\0"u8;
        long created;
        fixed (byte* pointer = name)
            created = HostSyscall.Invoke(HostSyscall.Number("memfd_create"), (long)pointer, CloseOnExec);
        if (created < 0)
            return 0;
        if (HostSyscall.Invoke(HostSyscall.Number("ftruncate"), created, (long)length) < 0)
        {
            HostSyscall.Invoke(HostSyscall.Close, created);
            return 0;
        }
        var result = HostSyscall.Invoke(HostSyscall.Mmap, 0, (long)length, ProtectionReadWrite, MapShared | MapNoReserve, created, 0);
        if (result < 0 && result >= -4095)
        {
            HostSyscall.Invoke(HostSyscall.Close, created);
            return 0;
        }
        descriptor = (int)created;
        return (nint)result;
    }

    /// <summary>Frees a range of a memfd's pages (they read as zero afterwards).</summary>
    public static void PunchHole(int descriptor, long offset, ulong length)
    {
        const long PunchHoleKeepSize = 3;
        HostSyscall.Invoke(HostSyscall.Number("fallocate"), descriptor, PunchHoleKeepSize, offset, (long)length);
    }

    /// <summary>
    /// A host page that is mapped but inaccessible: a host call given it fails with EFAULT exactly
    /// where the guest's unmapped buffer would, after the host kernel's other checks. One per host
    /// process: it holds nothing and never changes, so sharing it shares no state.
    /// </summary>
    public static nint FaultPage => FaultPageHolder.Page;

    /// <summary>An address in the kernel half: host calls fail their access_ok check with it, as Linux does for a range past user space.</summary>
    public const long KernelAddress = unchecked((long)0xffff_8000_0000_0000);

    private static class FaultPageHolder
    {
        public static readonly nint Page = (nint)HostSyscall.Invoke(HostSyscall.Mmap, 0, 4096, 0, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
    }

    /// <summary>
    /// Maps a host file MAP_SHARED: the pages are the host's page cache, so writes reach the file,
    /// read() and every other process mapping it. Pages past the end of the file stay anonymous
    /// zeros the guest cannot reach (its SIGBUS is the kernel's, see <see cref="Memory.MemoryObject.FileEnd"/>;
    /// the host's would take Trapeze down). 0 when the host refuses; the error in <paramref name="error"/>.
    /// </summary>
    public static nint MapFile(int descriptor, ulong length, long offset, bool writable, out Errno error)
    {
        const long ProtectionRead = 1, MapFixed = 0x10;
        error = Errno.None;
        LinuxStat status;
        if (HostSyscall.Invoke(HostSyscall.Fstat, descriptor, (long)&status) is var statError and < 0)
        {
            error = HostSyscall.ErrorOf(statError);
            return 0;
        }
        var inFile = status.Size <= offset ? 0 : Math.Min(length, ((ulong)(status.Size - offset) + PageSize - 1) & ~(PageSize - 1));
        var host = Allocate(length, shared: true);
        if (host == 0)
        {
            error = Errno.ENOMEM;
            return 0;
        }
        if (inFile == 0)
            return host;
        var result = HostSyscall.Invoke(HostSyscall.Mmap, host, (long)inFile, writable ? ProtectionReadWrite : ProtectionRead, MapShared | MapFixed, descriptor, offset);
        if (result < 0 && result >= -4095)
        {
            Release(host, length);
            error = HostSyscall.ErrorOf(result);
            return 0;
        }
        return host;
    }

    /// <summary>
    /// Replaces host pages of a shared file mapping that were past the end of the file with the
    /// file's pages, once the file has grown over them.
    /// </summary>
    public static Errno MapFileOver(nint host, ulong length, int descriptor, long offset, bool writable)
    {
        const long ProtectionRead = 1, MapFixed = 0x10;
        return HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.Mmap, host, (long)length, writable ? ProtectionReadWrite : ProtectionRead, MapShared | MapFixed, descriptor, offset));
    }

    /// <summary>The size of the host file behind <paramref name="descriptor"/>; -1 when fstat fails.</summary>
    /// <summary>The size of a regular file; -1 for anything else (a device such as /dev/zero has no end to fault past).</summary>
    public static long FileSize(int descriptor)
    {
        const uint TypeMask = 0xf000, Regular = 0x8000;
        LinuxStat status;
        return HostSyscall.Invoke(HostSyscall.Fstat, descriptor, (long)&status) < 0 || (status.Mode & TypeMask) != Regular ? -1 : status.Size;
    }

    /// <summary>Reads the file into host pages from <paramref name="offset"/>; stops early at the end of the file.</summary>
    public static void ReadFile(nint host, ulong length, int descriptor, long offset)
    {
        for (ulong done = 0; done < length;)
        {
            var count = HostSyscall.Invoke(HostSyscall.Pread64, descriptor, host + (nint)done, (long)(length - done), offset + (long)done);
            if (count <= 0)
                return;
            done += (ulong)count;
        }
    }

    /// <summary>msync over host pages of a shared mapping.</summary>
    public static Errno Synchronize(nint address, ulong length, int flags)
        => HostSyscall.ErrorOf(HostSyscall.Invoke(HostSyscall.Number("msync"), address, (long)length, flags));

    public static void Release(nint address, ulong length) => HostSyscall.Invoke(HostSyscall.Munmap, address, (long)length);

    /// <summary>Gives private pages back to the host; they read as zero afterwards.</summary>
    public static void Discard(nint address, ulong length) => HostSyscall.Invoke(HostSyscall.Madvise, address, (long)length, AdviseDontNeed);

    /// <summary>
    /// Copies the pages of <paramref name="source"/> the guest has touched (the host's resident set)
    /// to <paramref name="target"/>: a fork copies what exists, not the whole reservation. A swapped
    /// out page is not resident, so where the host has swap every page is copied.
    /// </summary>
    public static void CopyTouched(nint source, nint target, ulong length)
    {
        if (HostHasSwap.Value)
        {
            Buffer.MemoryCopy((void*)source, (void*)target, length, length);
            return;
        }
        const ulong Chunk = 64 * PageSize * 1024; // 256 MiB of address space per residency query
        var residency = new byte[Chunk / PageSize];
        for (ulong offset = 0; offset < length; offset += Chunk)
        {
            var piece = Math.Min(Chunk, length - offset);
            long answer;
            fixed (byte* vector = residency)
                answer = HostSyscall.Invoke(HostSyscall.Mincore, source + (nint)offset, (long)piece, (long)vector);
            var pages = (int)((piece + PageSize - 1) / PageSize);
            for (var page = 0; page < pages; page++)
            {
                if (answer < 0 || (residency[page] & 1) != 0)
                {
                    var at = offset + (ulong)page * PageSize;
                    Buffer.MemoryCopy((void*)(source + (nint)at), (void*)(target + (nint)at), PageSize, PageSize);
                }
            }
        }
    }
}
