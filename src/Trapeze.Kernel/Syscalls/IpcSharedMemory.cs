using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>System V shared memory: segments are shared memory objects; shmat maps one, fork keeps it shared.</summary>
public static class IpcSharedMemory
{
    private const ulong Maximum = 0x7fff_ffff_ffff_f000; // SHMMAX (ULONG_MAX - 2^24 rounded, as Linux reports it)
    private const int SegmentsMaximum = 4096; // SHMMNI
    private const int StatusSize = 112; // struct shmid64_ds

    [Syscall("shmget", Support = Support.Partial, Note = "SHM_HUGETLB and SHM_NORESERVE are accepted and change nothing")]
    public static Result Get(GuestThread thread, int key, ulong size, [Argument(Enum = typeof(IpcFlags))] int flags)
    {
        var registry = thread.Kernel.SystemV.SharedMemory;
        return Ipc.Get(thread, registry, key, (IpcFlags)flags,
            existing => size > existing.Size ? Errno.EINVAL : Errno.None,
            () =>
            {
                if (size < 1 || size > Maximum || registry.All.Count() >= SegmentsMaximum)
                    return null;
                return MemoryObject.Allocate(AddressSpace.PageUp(size), shared: true) is { } memory
                    ? new SharedMemorySegment(memory, size, thread.Process.Id)
                    : null;
            }) is var result && result.Error == Errno.ENOMEM && (size < 1 || size > Maximum) ? Errno.EINVAL : result;
    }

    [Syscall("shmat", Returns = ResultKind.Address, Support = Support.Full)]
    public static Result Attach(GuestThread thread, int id, GuestAddress address, [Argument(Enum = typeof(IpcFlags))] int flags)
    {
        const ulong Alignment = AddressSpace.PageSize; // SHMLBA
        var ipcFlags = (IpcFlags)flags;
        if (thread.Kernel.SystemV.SharedMemory.Find(id) is not { } segment)
            return Errno.EINVAL;
        var readOnly = (ipcFlags & IpcFlags.SHM_RDONLY) != 0;
        if (!Ipc.Allowed(thread, segment, readOnly ? Ipc.Read : Ipc.Read | Ipc.Write))
            return Errno.EACCES;
        var space = thread.Process.AddressSpace;
        var length = AddressSpace.PageUp(segment.Size);
        var start = address.Value;
        if (start != 0 && (start % Alignment) != 0)
        {
            if ((ipcFlags & IpcFlags.SHM_RND) == 0)
                return Errno.EINVAL;
            start -= start % Alignment;
        }
        if (start == 0)
        {
            if ((ipcFlags & IpcFlags.SHM_REMAP) != 0)
                return Errno.EINVAL;
            if (space.FindFree(length) is not { } free)
                return Errno.ENOMEM;
            start = free;
        }
        else if ((ipcFlags & IpcFlags.SHM_REMAP) == 0 && !space.IsFree(start, start + length))
        {
            return Errno.EINVAL;
        }
        var protection = MemoryProtection.Read | (readOnly ? 0 : MemoryProtection.Write) | ((ipcFlags & IpcFlags.SHM_EXEC) != 0 ? MemoryProtection.Execute : 0);
        space.MapObject(start, length, protection, segment.Memory, segment.MappingName + " (deleted)");
        segment.LastPid = thread.Process.Id;
        segment.AttachTime = Ipc.Now(thread);
        return start;
    }

    [Syscall("shmdt", Support = Support.Full)]
    public static Result Detach(GuestThread thread, GuestAddress address)
    {
        var kernel = thread.Kernel;
        var space = thread.Process.AddressSpace;
        if (space.Find(address.Value) is not { } first || first.Start != address.Value || first.ObjectOffset != 0
            || kernel.SystemV.SharedMemory.All.FirstOrDefault(s => s.Memory == first.Object) is not { } segment)
            return Errno.EINVAL;
        // Every piece of this attachment (mprotect may have split it) goes.
        var end = first.Start;
        while (space.Find(end) is { } piece && piece.Object == segment.Memory && piece.ObjectOffset == end - first.Start)
            end = piece.End;
        space.Unmap(first.Start, end - first.Start);
        segment.LastPid = thread.Process.Id;
        segment.DetachTime = Ipc.Now(thread);
        DestroyIfUnused(kernel, segment);
        return 0;
    }

    [Syscall("shmctl", Support = Support.Partial, Note = "the 64-bit structures (IPC_64) only; SHM_LOCK and SHM_UNLOCK only set the flag")]
    public static Result Control(GuestThread thread, int id, int command, GuestAddress buffer)
    {
        var kernel = thread.Kernel;
        var registry = kernel.SystemV.SharedMemory;
        var cmd = Ipc.Command(command);
        if (cmd is IpcCommand.IPC_INFO or IpcCommand.SHM_INFO)
            return Information(thread, cmd, buffer);
        var segment = cmd is IpcCommand.SHM_STAT or IpcCommand.SHM_STAT_ANY ? registry.AtIndex(id) : registry.Find(id);
        if (segment is null)
            return Errno.EINVAL;
        switch (cmd)
        {
            case IpcCommand.IPC_STAT or IpcCommand.SHM_STAT or IpcCommand.SHM_STAT_ANY:
                if (cmd != IpcCommand.SHM_STAT_ANY && !Ipc.Allowed(thread, segment, Ipc.Read))
                    return Errno.EACCES;
                var status = new byte[StatusSize];
                segment.WritePermissions(status);
                BinaryPrimitives.WriteUInt64LittleEndian(status.AsSpan(48), segment.Size);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(56), segment.AttachTime);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(64), segment.DetachTime);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(72), segment.ChangeTime);
                BinaryPrimitives.WriteInt32LittleEndian(status.AsSpan(80), segment.CreatorPid);
                BinaryPrimitives.WriteInt32LittleEndian(status.AsSpan(84), segment.LastPid);
                BinaryPrimitives.WriteUInt64LittleEndian(status.AsSpan(88), segment.Attachments(kernel));
                if (thread.Memory.Write(buffer, status) is var fault and not Errno.None)
                    return fault;
                return cmd == IpcCommand.IPC_STAT ? 0 : segment.Id;
            case IpcCommand.IPC_SET:
                var incoming = new byte[StatusSize];
                if (thread.Memory.Read(buffer, incoming) is var readFault and not Errno.None)
                    return readFault;
                if (!Ipc.IsOwner(thread, segment))
                    return Errno.EPERM;
                segment.ReadPermissions(incoming);
                segment.ChangeTime = Ipc.Now(thread);
                return 0;
            case IpcCommand.IPC_RMID:
                if (!Ipc.IsOwner(thread, segment))
                    return Errno.EPERM;
                // The segment lives on while attached, under the private key.
                segment.Mode |= SharedMemorySegment.Destroy;
                segment.Key = IpcRegistry<SharedMemorySegment>.PrivateKey;
                DestroyIfUnused(kernel, segment);
                return 0;
            case IpcCommand.SHM_LOCK:
                segment.Mode |= SharedMemorySegment.Locked;
                return 0;
            case IpcCommand.SHM_UNLOCK:
                segment.Mode &= ~SharedMemorySegment.Locked;
                return 0;
            default:
                return Errno.EINVAL;
        }
    }

    /// <summary>IPC_INFO writes struct shminfo, SHM_INFO struct shm_info; both return the highest index in use.</summary>
    private static Result Information(GuestThread thread, IpcCommand command, GuestAddress buffer)
    {
        var registry = thread.Kernel.SystemV.SharedMemory;
        Span<ulong> words = stackalloc ulong[command == IpcCommand.IPC_INFO ? 9 : 6];
        if (command == IpcCommand.IPC_INFO)
        {
            // shmmax, shmmin, shmmni, shmseg, shmall
            words[0] = Maximum;
            words[1] = 1;
            words[2] = SegmentsMaximum;
            words[3] = SegmentsMaximum;
            words[4] = Maximum / AddressSpace.PageSize;
        }
        else
        {
            // used_ids (an int, padded), shm_tot, shm_rss, shm_swp, swap_attempts, swap_successes
            var segments = registry.All.ToList();
            words[0] = (ulong)segments.Count;
            words[1] = (ulong)segments.Sum(s => (long)(AddressSpace.PageUp(s.Size) / AddressSpace.PageSize));
            words[2] = words[1];
        }
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(words);
        return thread.Memory.Write(buffer, bytes) is var fault and not Errno.None ? fault : registry.HighestIndex;
    }

    /// <summary>A segment marked for removal goes when its last attachment does.</summary>
    private static void DestroyIfUnused(Kernel kernel, SharedMemorySegment segment)
    {
        if ((segment.Mode & SharedMemorySegment.Destroy) == 0 || segment.Attachments(kernel) > 0)
            return;
        kernel.SystemV.SharedMemory.Remove(segment);
        segment.Memory.Release();
    }
}
