using System.Runtime.InteropServices;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// Waiting for descriptors: poll, ppoll, select, pselect6 (select is poll over bitmaps). Host files are polled by the host kernel; files
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

    [Syscall("poll", Support = Support.Partial, Note = "nfds is limited by the guest's RLIMIT_NOFILE (1024 unless raised), not by the host's")]
    public static Result Poll(GuestThread thread, GuestAddress descriptors, uint count, int timeout)
        => Wait(thread, descriptors, count, timeout < 0 ? -1 : timeout);

    [Syscall("ppoll", Support = Support.Partial, Note = "the signal mask is not applied (signals are not delivered yet); the remaining time is not written back")]
    public static Result PollWithMask(GuestThread thread, GuestAddress descriptors, uint count, GuestAddress timeout, GuestAddress signalMask, ulong maskSize)
    {
        if (TimespecTimeout(thread, timeout, out var milliseconds) is var error and not Errno.None)
            return error;
        if (!signalMask.IsNull && maskSize != 8)
            return Errno.EINVAL;
        return Wait(thread, descriptors, count, milliseconds);
    }

    [Syscall("select", Support = Support.Partial, Note = "a closed descriptor is EBADF even past the size of Linux's file table, where Linux ignores it")]
    public static Result Select(GuestThread thread, int count, GuestAddress read, GuestAddress write, GuestAddress except, GuestAddress timeout)
    {
        var milliseconds = -1;
        if (!timeout.IsNull)
        {
            if (thread.Memory.Read(timeout, out Timeval limit) is var fault and not Errno.None)
                return fault;
            if (RoundedMilliseconds(limit.Seconds, limit.Microseconds, 1_000_000, out milliseconds) is var invalid and not Errno.None)
                return invalid;
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = SelectOn(thread, count, read, write, except, milliseconds);
        // Linux leaves the time not slept in *timeout.
        if (result.IsFinished && !result.IsError && !timeout.IsNull)
        {
            var left = Math.Max(0, milliseconds * 1000L - (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            if (thread.Memory.Write(timeout, new Timeval { Seconds = left / 1_000_000, Microseconds = left % 1_000_000 }) is var writeFault and not Errno.None)
                return writeFault;
        }
        return result;
    }

    [Syscall("pselect6", Support = Support.Partial, Note = "the signal mask is not applied (signals are not delivered yet); the remaining time is not written back")]
    public static Result SelectWithMask(GuestThread thread, int count, GuestAddress read, GuestAddress write, GuestAddress except, GuestAddress timeout, GuestAddress signalMask)
    {
        if (TimespecTimeout(thread, timeout, out var milliseconds) is var error and not Errno.None)
            return error;
        return SelectOn(thread, count, read, write, except, milliseconds);
    }

    /// <summary>A struct timespec timeout in milliseconds; -1 (wait forever) for NULL.</summary>
    private static Errno TimespecTimeout(GuestThread thread, GuestAddress timeout, out int milliseconds)
    {
        milliseconds = -1;
        if (timeout.IsNull)
            return Errno.None;
        if (thread.Memory.Read(timeout, out Timespec limit) is var fault and not Errno.None)
            return fault;
        return RoundedMilliseconds(limit.Seconds, limit.Nanoseconds, 1_000_000_000, out milliseconds);
    }

    /// <summary>Seconds plus a fraction in whole milliseconds, rounded up: a wait never ends before the time asked for.</summary>
    private static Errno RoundedMilliseconds(long seconds, long fraction, long fractionsPerSecond, out int milliseconds)
    {
        milliseconds = -1;
        if (seconds < 0 || fraction < 0 || fraction >= fractionsPerSecond)
            return Errno.EINVAL;
        var perMillisecond = fractionsPerSecond / 1000;
        milliseconds = seconds >= int.MaxValue / 1000
            ? int.MaxValue
            : (int)Math.Min(int.MaxValue, seconds * 1000 + (fraction + perMillisecond - 1) / perMillisecond);
        return Errno.None;
    }

    /// <summary>select's three bitmaps as poll entries, and the answers back into the bitmaps.</summary>
    private static Result SelectOn(GuestThread thread, int count, GuestAddress read, GuestAddress write, GuestAddress except, int milliseconds)
    {
        const short Priority = 0x002, Error = 0x008, HangUp = 0x010; // POLLPRI, POLLERR, POLLHUP
        if (count < 0 || count > thread.Process.Files.Limit)
            return Errno.EINVAL;
        var words = (count + 63) / 64;
        var sets = new ulong[3][];
        GuestAddress[] addresses = [read, write, except];
        for (var set = 0; set < 3; set++)
        {
            sets[set] = new ulong[words];
            if (!addresses[set].IsNull && words > 0
                && thread.Memory.Read(addresses[set], MemoryMarshal.AsBytes(sets[set].AsSpan())) is var fault and not Errno.None)
                return fault;
        }
        var entries = new List<PollDescriptor>();
        for (var fd = 0; fd < count; fd++)
        {
            short events = 0;
            if ((sets[0][fd / 64] & (1UL << (fd % 64))) != 0)
                events |= Readable;
            if ((sets[1][fd / 64] & (1UL << (fd % 64))) != 0)
                events |= Writable;
            if ((sets[2][fd / 64] & (1UL << (fd % 64))) != 0)
                events |= Priority;
            if (events == 0)
                continue;
            if (thread.Process.Files.Get(fd) is null)
                return Errno.EBADF;
            entries.Add(new PollDescriptor { Fd = fd, Events = events });
        }
        var array = entries.ToArray();
        var result = Wait(thread, array, milliseconds);
        if (result.IsError || !result.IsFinished)
            return result;
        var ready = 0;
        foreach (var set in sets)
            Array.Clear(set);
        foreach (var entry in array)
        {
            var bit = 1UL << (entry.Fd % 64);
            var answers = entry.ReturnedEvents;
            if ((entry.Events & Readable) != 0 && (answers & (Readable | HangUp | Error)) != 0)
            {
                sets[0][entry.Fd / 64] |= bit;
                ready++;
            }
            if ((entry.Events & Writable) != 0 && (answers & (Writable | Error)) != 0)
            {
                sets[1][entry.Fd / 64] |= bit;
                ready++;
            }
            if ((entry.Events & Priority) != 0 && (answers & Priority) != 0)
            {
                sets[2][entry.Fd / 64] |= bit;
                ready++;
            }
        }
        for (var set = 0; set < 3; set++)
        {
            if (!addresses[set].IsNull && words > 0
                && thread.Memory.Write(addresses[set], MemoryMarshal.AsBytes(sets[set].AsSpan())) is var fault and not Errno.None)
                return fault;
        }
        return ready;
    }

    private static Result Wait(GuestThread thread, GuestAddress descriptors, uint count, int milliseconds)
    {
        if (count > (uint)thread.Process.Files.Limit)
            return Errno.EINVAL;
        var entries = new PollDescriptor[count];
        var bytes = MemoryMarshal.AsBytes(entries.AsSpan());
        if (count > 0 && thread.Memory.Read(descriptors, bytes) is var fault and not Errno.None)
            return fault;
        var result = Wait(thread, entries, milliseconds);
        if (result.IsError || !result.IsFinished)
            return result;
        if (count > 0 && thread.Memory.Write(descriptors, bytes) is var writeFault and not Errno.None)
            return writeFault;
        return result;
    }

    /// <summary>
    /// Fills in each entry's returned events and returns how many have some; with none ready, the
    /// thread sleeps on the files' wait queues and host descriptors until one changes or time is up.
    /// </summary>
    private static Result Wait(GuestThread thread, PollDescriptor[] entries, int milliseconds)
    {
        const short Always = 0x008 | 0x010 | Invalid; // POLLERR, POLLHUP, POLLNVAL are reported unasked
        var count = entries.Length;
        var wait = new Wait();

        // The host polls host descriptors; everything else is decided here.
        var host = new PollDescriptor[count];
        for (var index = 0; index < entries.Length; index++)
        {
            var entry = entries[index];
            host[index] = new PollDescriptor { Fd = -1 };
            entries[index].ReturnedEvents = 0;
            if (entry.Fd < 0)
                continue;
            var file = thread.Process.Files.Get(entry.Fd);
            if (file is null)
            {
                entries[index].ReturnedEvents = Invalid;
            }
            else if (file.Readiness(out var changes) is { } ready)
            {
                entries[index].ReturnedEvents = (short)(ready & (entry.Events | Always));
                if (changes is not null)
                    wait.Queues.Add(changes);
            }
            else if (file.HostDescriptor is { } descriptor)
            {
                host[index] = new PollDescriptor { Fd = descriptor, Events = entry.Events };
                wait.OnHost(descriptor, entry.Events);
            }
            else
            {
                entries[index].ReturnedEvents = (short)(entry.Events & (Readable | Writable | ReadNormal | WriteNormal));
            }
        }
        fixed (PollDescriptor* pointer = host)
        {
            var result = HostSyscall.Invoke(HostSyscall.Poll, (long)pointer, count, 0);
            if (result < 0)
                return result;
        }
        var readyCount = 0;
        for (var index = 0; index < entries.Length; index++)
        {
            if (host[index].Fd >= 0)
                entries[index].ReturnedEvents = host[index].ReturnedEvents;
            if (entries[index].ReturnedEvents != 0)
                readyCount++;
        }
        if (readyCount > 0 || milliseconds == 0)
            return readyCount;
        wait.Deadline = milliseconds < 0 ? Syscalls.Wait.NoDeadline : thread.DeadlineAfter(milliseconds * 1_000_000L);
        var blocked = thread.Block(wait);
        if (blocked.Error == Errno.ETIMEDOUT)
            return 0;
        // poll and select are never restarted after a handler ran.
        return blocked.Control is Restart ? Result.Interrupted(RestartRule.OnlyWithoutHandler) : blocked;
    }
}
