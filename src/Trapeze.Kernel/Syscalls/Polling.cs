using System.Runtime.InteropServices;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// Waiting for descriptors: poll and ppoll. Host files are polled by the host kernel; files
/// Trapeze makes up (/proc) are always ready, as regular files are on Linux.
/// </summary>
public static unsafe class Polling
{
    private const short Readable = 0x001, Writable = 0x004, Invalid = 0x020; // POLLIN, POLLOUT, POLLNVAL
    private const short ReadNormal = 0x040, WriteNormal = 0x100; // POLLRDNORM, POLLWRNORM

    [StructLayout(LayoutKind.Sequential)]
    private struct PollDescriptor
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    [Syscall("poll")]
    public static Result Poll(GuestThread thread, GuestAddress descriptors, uint count, int timeout)
        => Wait(thread, descriptors, count, timeout < 0 ? -1 : timeout);

    [Syscall("ppoll", Support = Support.Partial, Note = "the signal mask is not applied (signals are not delivered yet); the remaining time is not written back")]
    public static Result PollWithMask(GuestThread thread, GuestAddress descriptors, uint count, GuestAddress timeout, GuestAddress signalMask, ulong maskSize)
    {
        var milliseconds = -1;
        if (!timeout.IsNull)
        {
            if (thread.Memory.Read(timeout, out Timespec limit) is var fault and not Errno.None)
                return fault;
            if (limit.Seconds < 0 || limit.Nanoseconds is < 0 or >= 1_000_000_000)
                return Errno.EINVAL;
            // Round up: a wait never ends before the time asked for.
            milliseconds = (int)Math.Min(int.MaxValue, limit.Seconds * 1000 + (limit.Nanoseconds + 999_999) / 1_000_000);
        }
        if (!signalMask.IsNull && maskSize != 8)
            return Errno.EINVAL;
        return Wait(thread, descriptors, count, milliseconds);
    }

    private static Result Wait(GuestThread thread, GuestAddress descriptors, uint count, int milliseconds)
    {
        if (count > (uint)thread.Process.Files.Limit)
            return Errno.EINVAL;
        var entries = new PollDescriptor[count];
        var bytes = MemoryMarshal.AsBytes(entries.AsSpan());
        if (count > 0 && thread.Memory.Read(descriptors, bytes) is var fault and not Errno.None)
            return fault;

        // The host polls host descriptors; everything else is decided here, and makes the host call not wait.
        var host = new PollDescriptor[count];
        var decided = false;
        for (var index = 0; index < entries.Length; index++)
        {
            var entry = entries[index];
            host[index] = new PollDescriptor { Fd = -1 };
            entries[index].ReturnedEvents = 0;
            if (entry.Fd < 0)
                continue;
            switch (thread.Process.Files.Get(entry.Fd))
            {
                case null:
                    entries[index].ReturnedEvents = Invalid;
                    decided = true;
                    break;
                case { HostDescriptor: { } descriptor }:
                    host[index] = new PollDescriptor { Fd = descriptor, Events = entry.Events };
                    break;
                default:
                    entries[index].ReturnedEvents = (short)(entry.Events & (Readable | Writable | ReadNormal | WriteNormal));
                    decided |= entries[index].ReturnedEvents != 0;
                    break;
            }
        }
        fixed (PollDescriptor* pointer = host)
        {
            var result = HostSyscall.Invoke(HostSyscall.Poll, (long)pointer, count, decided ? 0 : milliseconds);
            if (result < 0)
                return result;
        }
        var ready = 0;
        for (var index = 0; index < entries.Length; index++)
        {
            if (host[index].Fd >= 0)
                entries[index].ReturnedEvents = host[index].ReturnedEvents;
            if (entries[index].ReturnedEvents != 0)
                ready++;
        }
        if (count > 0 && thread.Memory.Write(descriptors, bytes) is var writeFault and not Errno.None)
            return writeFault;
        return ready;
    }
}
