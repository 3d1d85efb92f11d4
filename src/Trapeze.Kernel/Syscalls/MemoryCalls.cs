using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>The address space: brk, mmap, munmap, mprotect, mremap, madvise.</summary>
public static class MemoryCalls
{
    private const ulong PageMask = AddressSpace.PageSize - 1;

    /// <summary>The top of user space for the caller's personality (TASK_SIZE).</summary>
    private static ulong UserTop(GuestThread thread) => thread.Process.Personality.Layout.UserTop;

    [Syscall("brk", Support = Support.Full, Returns = ResultKind.Address)]
    public static Result Break(GuestThread thread, [Argument(ArgumentKind.Address)] ulong address)
    {
        var process = thread.Process;
        var space = process.AddressSpace;
        if (address < process.BreakStart)
            return process.Break;
        var oldEnd = AddressSpace.PageUp(process.Break);
        var newEnd = AddressSpace.PageUp(address);
        if (newEnd > oldEnd)
        {
            if (!space.IsFree(oldEnd, newEnd) || newEnd > space.MmapBase || newEnd - oldEnd > AddressSpace.MaximumMapping)
                return process.Break;
            // check_data_rlimit and may_expand_vm: the heap within RLIMIT_DATA, the space within RLIMIT_AS.
            if (newEnd - process.BreakStart > process.LimitOf(RlimitResource.RLIMIT_DATA) || !space.MayGrow(oldEnd, newEnd - oldEnd, process.LimitOf(RlimitResource.RLIMIT_AS)))
                return process.Break;
            if (space.Map(oldEnd, newEnd - oldEnd, MemoryProtection.Read | MemoryProtection.Write, "[heap]") is null)
                return process.Break;
        }
        else if (newEnd < oldEnd)
        {
            space.Unmap(newEnd, oldEnd - newEnd);
        }
        process.Break = address;
        return address;
    }

    [Syscall("mmap", Returns = ResultKind.Address, Support = Support.Partial, Note = "MAP_SHARED file mappings are the host's page cache; MAP_PRIVATE ones are copies made at mmap (later writes to the file are not seen); pages past the end of the file raise SIGBUS as Linux's do, and pages the file grows over join the mapping, but a file that shrinks under a mapping leaves its pages readable, and system calls given an address past the end of the file read zeros instead of failing with EFAULT; a mapping larger than the host's memory is refused even with MAP_NORESERVE")]
    public static Result Map(GuestThread thread, GuestAddress address, ulong length, ProtectionFlags protection, MapFlags flags, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Hex)] long offset)
    {
        var space = thread.Process.AddressSpace;
        var type = flags & (MapFlags.MAP_SHARED | MapFlags.MAP_PRIVATE | MapFlags.MAP_SHARED_VALIDATE);
        if (length == 0 || (offset & (long)PageMask) != 0 || type == 0)
            return Errno.EINVAL;
        var size = AddressSpace.PageUp(length);
        if (size == 0 || size > AddressSpace.MaximumMapping)
            return Errno.ENOMEM;

        OpenFile? file = null;
        if ((flags & MapFlags.MAP_ANONYMOUS) == 0)
        {
            file = thread.Process.Files.Get(fd);
            if (file?.SharedMemory(offset) is { } kernelMemory)
                return MapKernelMemory(thread, address, length, protection, flags, kernelMemory, file.Path);
            if (file is not HostFile)
                return file is null ? Errno.EBADF : Errno.ENODEV;
            if ((file.StatusFlags & OpenFlags.O_PATH) != 0)
                return Errno.EBADF;
        }

        ulong start;
        var fixedAddress = (flags & (MapFlags.MAP_FIXED | MapFlags.MAP_FIXED_NOREPLACE)) != 0;
        if (fixedAddress)
        {
            start = address.Value;
            if ((start & PageMask) != 0)
                return Errno.EINVAL;
            if (size > UserTop(thread) || start > UserTop(thread) - size)
                return Errno.ENOMEM; // get_unmapped_area: past TASK_SIZE
            if (start < AddressSpace.MinimumAddress)
                return Errno.EPERM;
            if (space.IsReserved(start, start + size))
                return Errno.ENOMEM; // the platform's own addresses (the native platform's stub)
            if ((flags & MapFlags.MAP_FIXED_NOREPLACE) != 0 && !space.IsFree(start, start + size))
                return Errno.EEXIST;
        }
        else
        {
            var hint = AddressSpace.PageDown(address.Value);
            // A hint that cannot hold the mapping (beyond user space, or wrapping, as (void*)-1 does) is ignored, as Linux ignores it.
            if (hint >= AddressSpace.MinimumAddress && size <= UserTop(thread) && hint <= UserTop(thread) - size && space.IsFree(hint, hint + size) && !space.IsReserved(hint, hint + size))
                start = hint;
            else if (space.FindFree(size) is { } free)
                start = free;
            else
                return Errno.ENOMEM;
        }

        if (!space.MayGrow(start, size, thread.Process.LimitOf(RlimitResource.RLIMIT_AS)))
            return Errno.ENOMEM;
        var name = file is null ? "" : (file.HostDescriptor is { } host ? Host.HostLinks.PathOf(host) : null) ?? file.Path;
        var shared = type is (MapFlags.MAP_SHARED or MapFlags.MAP_SHARED_VALIDATE);
        if (shared && file is HostFile sharedFile)
            return MapShared(space, sharedFile, start, size, protection, offset, name);
        if (space.Map(start, size, ToMemory(protection), name, (ulong)offset, shared) is not { } mapping)
            return Errno.ENOMEM;
        if (file is HostFile hostFile)
        {
            var result = FillFromFile(hostFile, mapping, length, offset);
            if (result.IsError)
            {
                space.Unmap(start, size);
                return result;
            }
            if (hostFile.HostDescriptor is { } descriptor)
                space.TrackFileEnd(mapping, descriptor, offset);
        }
        return start;
    }

    /// <summary>MAP_SHARED of a host file: its page cache becomes guest memory, so writes reach the file and every other mapping.</summary>
    private static Result MapShared(AddressSpace space, HostFile file, ulong start, ulong size, ProtectionFlags protection, long offset, string name)
    {
        // The host descriptor's own flags (F_GETFL): what it was opened for decides what the mapping may become.
        var status = (OpenFlags)(int)Host.HostSyscall.Invoke(Host.HostSyscall.Fcntl, file.HostDescriptor!.Value, (long)FcntlCommand.F_GETFL);
        var access = status & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR | OpenFlags.O_PATH);
        var writable = access == OpenFlags.O_RDWR && (status & OpenFlags.O_APPEND) == 0;
        if ((access & OpenFlags.O_PATH) != 0)
            return Errno.EBADF;
        if (access == OpenFlags.O_WRONLY || ((protection & ProtectionFlags.PROT_WRITE) != 0 && !writable))
            return Errno.EACCES;
        if (MemoryObject.MapFile(file.HostDescriptor!.Value, size, offset, writable, out var error) is not { } memory)
            return error; // the host's answer: EPERM for a write-sealed memfd, ENODEV for a file that cannot be mapped...
        space.TrackFileEnd(space.Map(start, memory, ToMemory(protection), name, (ulong)offset), file.HostDescriptor!.Value, offset);
        return start;
    }

    [Syscall("msync", Support = Support.Full)]
    public static Result Synchronize(GuestThread thread, GuestAddress address, ulong length, [Argument(ArgumentKind.Hex)] int flags)
    {
        const int Async = 1, Invalidate = 2, Sync = 4;
        if ((address.Value & PageMask) != 0 || (flags & ~(Async | Invalidate | Sync)) != 0 || (flags & (Async | Sync)) == (Async | Sync))
            return Errno.EINVAL;
        if (length > ulong.MaxValue - PageMask || address.Value + AddressSpace.PageUp(length) < address.Value)
            return Errno.ENOMEM;
        var space = thread.Process.AddressSpace;
        var end = address.Value + AddressSpace.PageUp(length);
        var mapped = space.IsFullyMapped(address.Value, end);
        for (var cursor = address.Value; cursor < end;)
        {
            if (space.Find(cursor) is not { } mapping)
            {
                cursor += AddressSpace.PageSize;
                continue;
            }
            var pieceEnd = Math.Min(end, mapping.End);
            if (mapping.Shared && Host.HostMemory.Synchronize(mapping.Host + (nint)(cursor - mapping.Start), pieceEnd - cursor, flags) is var error and not Errno.None)
                return error;
            cursor = pieceEnd;
        }
        return mapped ? 0 : Errno.ENOMEM;
    }

    /// <summary>A file's shared kernel memory (io_uring's rings) mapped as it is: every mapping sees the same pages.</summary>
    private static Result MapKernelMemory(GuestThread thread, GuestAddress address, ulong length, ProtectionFlags protection, MapFlags flags, MemoryObject memory, string name)
    {
        var space = thread.Process.AddressSpace;
        var size = AddressSpace.PageUp(length);
        if ((flags & MapFlags.MAP_SHARED) == 0 || size > memory.Length)
            return Errno.EINVAL;
        ulong start;
        if ((flags & MapFlags.MAP_FIXED) != 0)
            start = address.Value;
        else if (space.FindFree(size) is { } free)
            start = free;
        else
            return Errno.ENOMEM;
        space.MapObject(start, size, ToMemory(protection), memory, name);
        return start;
    }

    [Syscall("munmap", Support = Support.Full)]
    public static Result Unmap(GuestThread thread, GuestAddress address, ulong length)
    {
        // mm/mmap.c's checks, overflow-safe: a length past the top of user space is EINVAL.
        if ((address.Value & PageMask) != 0 || address.Value > UserTop(thread) || length > UserTop(thread) - address.Value || length == 0)
            return Errno.EINVAL;
        thread.Process.AddressSpace.Unmap(address.Value, length);
        return 0;
    }

    [Syscall("mprotect", Support = Support.Partial, Note = "no mapping grows down, so PROT_GROWSDOWN/UP is EINVAL; some invalid ranges are checked in another order than Linux's")]
    public static Result Protect(GuestThread thread, GuestAddress address, ulong length, ProtectionFlags protection)
    {
        const int GrowsDown = 0x0100_0000, GrowsUp = 0x0200_0000, Semaphore = 8;
        var bits = (int)protection;
        if ((bits & (GrowsDown | GrowsUp)) == (GrowsDown | GrowsUp) || (address.Value & PageMask) != 0)
            return Errno.EINVAL;
        if (length == 0)
            return 0;
        // The order of mm/mprotect.c: a range that wraps is ENOMEM before bad bits are EINVAL.
        if (length > ulong.MaxValue - PageMask || address.Value + AddressSpace.PageUp(length) <= address.Value)
            return Errno.ENOMEM;
        if ((bits & ~(GrowsDown | GrowsUp) & ~(7 | Semaphore)) != 0)
            return Errno.EINVAL;
        var end = address.Value + AddressSpace.PageUp(length);
        if (!thread.Process.AddressSpace.IsFullyMapped(address.Value, end))
            return Errno.ENOMEM;
        // No Trapeze mapping grows down (the stack is a fixed mapping), so PROT_GROWSDOWN/UP cannot apply.
        if ((bits & (GrowsDown | GrowsUp)) != 0)
            return Errno.EINVAL;
        if ((protection & ProtectionFlags.PROT_WRITE) != 0 && ReadOnlyShared(thread.Process.AddressSpace, address.Value, end))
            return Errno.EACCES;
        return thread.Process.AddressSpace.Protect(address.Value, length, ToMemory(protection)) ? 0 : Errno.ENOMEM;
    }

    [Syscall("mremap", Returns = ResultKind.Address, Support = Support.Partial, Note = "private memory moves by copying, shared memory is mapped again from its file; MREMAP_FIXED and MREMAP_DONTUNMAP unsupported (EINVAL)")]
    public static Result Remap(GuestThread thread, GuestAddress oldAddress, ulong oldLength, ulong newLength, [Argument(Enum = typeof(MremapFlags))] uint flags, [Argument(ArgumentKind.Address, ShownIf = nameof(flags), ShownIfAny = (long)MremapFlags.MREMAP_FIXED)] GuestAddress newAddress)
    {
        const uint MayMove = 1;
        var space = thread.Process.AddressSpace;
        var start = oldAddress.Value;
        if ((start & PageMask) != 0 || (flags & ~MayMove) != 0 || newLength == 0)
            return Errno.EINVAL;
        oldLength = AddressSpace.PageUp(oldLength);
        newLength = AddressSpace.PageUp(newLength);
        if (space.Find(start) is not { } mapping || !space.IsFullyMapped(start, start + oldLength))
            return Errno.EFAULT;
        if (newLength <= oldLength)
        {
            space.Unmap(start + newLength, oldLength - newLength);
            return start;
        }
        if (!space.MayGrow(start + oldLength, newLength - oldLength, thread.Process.LimitOf(RlimitResource.RLIMIT_AS)))
            return Errno.ENOMEM;
        var inPlace = space.IsFree(start + oldLength, start + newLength) && start + newLength <= space.MmapBase;
        if (mapping.Shared && mapping.Object.Descriptor >= 0)
            return RemapShared(space, mapping, start, oldLength, newLength, inPlace, (flags & MayMove) != 0);
        if (inPlace)
            return space.Map(start + oldLength, newLength - oldLength, mapping.Protection, mapping.Name) is null ? Errno.ENOMEM : start;
        if ((flags & MayMove) == 0 || newLength > AddressSpace.MaximumMapping || space.FindFree(newLength) is not { } target)
            return Errno.ENOMEM;
        if (space.Map(target, newLength, MemoryProtection.Read | MemoryProtection.Write, mapping.Name) is null)
            return Errno.ENOMEM;
        // Copy through the host pages: the old range may be read-protected for the guest.
        CopyHost(space, start, target, oldLength);
        space.Protect(target, newLength, mapping.Protection);
        space.Unmap(start, oldLength);
        return target;
    }

    /// <summary>
    /// A shared mapping grows as more of the same pages (a file's, or shared memory's): mapped again
    /// from its descriptor, so every other mapping of them still sees each write; pages past the end
    /// of the file give SIGBUS, as on Linux.
    /// </summary>
    private static Result RemapShared(AddressSpace space, Mapping mapping, ulong start, ulong oldLength, ulong newLength, bool inPlace, bool mayMove)
    {
        if (start + oldLength > mapping.End)
            return Errno.EFAULT; // Linux moves one mapping at a time
        var target = start;
        if (!inPlace)
        {
            if (!mayMove || newLength > AddressSpace.MaximumMapping || space.FindFree(newLength) is not { } free)
                return Errno.ENOMEM;
            target = free;
        }
        var source = mapping.Object;
        var offset = source.DescriptorOffset + (long)(mapping.ObjectOffset + (start - mapping.Start));
        if (MemoryObject.MapFile(source.Descriptor, newLength, offset, source.Writable, out var error) is not { } memory)
            return error;
        var (protection, name, fileOffset) = (mapping.Protection, mapping.Name, mapping.FileOffset + (start - mapping.Start));
        // The new object's own descriptor: mapping in place releases the old object, and with it the old one.
        space.TrackFileEnd(space.Map(target, memory, protection, name, fileOffset), memory.Descriptor, offset);
        if (target != start)
            space.Unmap(start, oldLength);
        return target;
    }

    [Syscall("madvise", Support = Support.Partial, Note = "MADV_DONTNEED zeroes private pages and leaves shared ones; other advice is accepted and ignored")]
    public static Result Advise(GuestThread thread, GuestAddress address, ulong length, MadviseAdvice advice)
    {
        if (!IsKnownAdvice((int)advice) || (address.Value & PageMask) != 0)
            return Errno.EINVAL;
        if (length > ulong.MaxValue - PageMask || address.Value + AddressSpace.PageUp(length) < address.Value)
            return Errno.EINVAL;
        var space = thread.Process.AddressSpace;
        var end = address.Value + AddressSpace.PageUp(length);
        if (end == address.Value)
            return 0;
        if (!space.IsFullyMapped(address.Value, end))
            return Errno.ENOMEM;
        if (advice == MadviseAdvice.MADV_DONTNEED)
        {
            for (var cursor = address.Value; cursor < end;)
            {
                var mapping = space.Find(cursor)!;
                var pieceEnd = Math.Min(end, mapping.End);
                // Shared pages keep their contents (the file's, or shared memory's): only private ones drop to zero.
                unsafe
                {
                    if (!mapping.Shared)
                        new Span<byte>((void*)(mapping.Host + (nint)(cursor - mapping.Start)), (int)(pieceEnd - cursor)).Clear();
                }
                cursor = pieceEnd;
            }
        }
        return 0;
    }

    [Syscall("mincore", Support = Support.Partial, Note = "every mapped page is resident")]
    public static Result Residency(GuestThread thread, GuestAddress address, ulong length, GuestAddress vector)
    {
        if ((address.Value & PageMask) != 0)
            return Errno.EINVAL;
        if (length > UserTop(thread) || address.Value > UserTop(thread) - AddressSpace.PageUp(length))
            return Errno.ENOMEM;
        var end = address.Value + AddressSpace.PageUp(length);
        if (!thread.Process.AddressSpace.IsFullyMapped(address.Value, end))
            return Errno.ENOMEM;
        // One byte per page, written a page of bytes at a time: the range may span terabytes of mappings.
        Span<byte> resident = stackalloc byte[(int)AddressSpace.PageSize];
        resident.Fill(1);
        var count = (end - address.Value) / AddressSpace.PageSize;
        for (ulong done = 0; done < count; done += (ulong)resident.Length)
        {
            if (thread.Memory.Write(vector + done, resident[..(int)Math.Min((ulong)resident.Length, count - done)]) is var fault and not Errno.None)
                return fault;
        }
        return 0;
    }

    /// <summary>The advice values mm/madvise.c accepts (MADV_NORMAL..MADV_COLLAPSE, HWPOISON, SOFT_OFFLINE, GUARD_*).</summary>
    private static bool IsKnownAdvice(int advice) => advice is (>= 0 and <= 4) or (>= 8 and <= 25) or (>= 100 and <= 103);

    /// <summary>True when part of the range is a shared mapping of a file not open for writing (mprotect may not make it writable).</summary>
    private static bool ReadOnlyShared(AddressSpace space, ulong start, ulong end)
    {
        foreach (var mapping in space.Mappings)
        {
            if (mapping.Start < end && mapping.End > start && !mapping.Object.Writable)
                return true;
        }
        return false;
    }

    private static MemoryProtection ToMemory(ProtectionFlags protection)
        => (MemoryProtection)((int)protection & 7);

    /// <summary>Copies the file into the fresh pages; past the end of the file they stay zero, as Linux shows them.</summary>
    private static Result FillFromFile(HostFile file, Mapping mapping, ulong length, long offset)
    {
        var pieces = new List<HostSegment>(1);
        for (ulong done = 0; done < length;)
        {
            pieces.Clear();
            pieces.Add(new HostSegment(mapping.Host + (nint)done, length - done));
            var result = file.ReadVector(pieces, offset + (long)done);
            if (result.IsError)
                return result.Error == Errno.EISDIR ? Errno.ENODEV : result;
            if (result.Raw == 0)
                break;
            done += (ulong)result.Raw;
        }
        return 0;
    }

    private static unsafe void CopyHost(AddressSpace space, ulong from, ulong to, ulong length)
    {
        for (ulong done = 0; done < length;)
        {
            var source = space.Find(from + done)!;
            var destination = space.Find(to + done)!;
            var count = Math.Min(length - done, Math.Min(source.End - (from + done), destination.End - (to + done)));
            Buffer.MemoryCopy((void*)(source.Host + (nint)(from + done - source.Start)), (void*)(destination.Host + (nint)(to + done - destination.Start)), count, count);
            done += count;
        }
    }
}
