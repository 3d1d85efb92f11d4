using System.Runtime.InteropServices;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// Waiting for descriptors: poll, ppoll, select, pselect6 (select is poll over bitmaps). Host
/// descriptors are polled by the host kernel; files Trapeze implements answer
/// <see cref="OpenFile.Readiness(GuestThread, out WaitQueue?)"/>; files that do neither (regular
/// files, /proc) are always ready, as on Linux. The p* forms put their signal mask in place for
/// the wait (<see cref="WithSignalMask"/>), and every timed form writes the time left back.
/// </summary>
public static unsafe class Polling
{
    internal const short Readable = 0x001, Priority = 0x002, Writable = 0x004, Error = 0x008, HangUp = 0x010, Invalid = 0x020; // POLLIN...POLLNVAL
    internal const short ReadNormal = 0x040, WriteNormal = 0x100; // POLLRDNORM, POLLWRNORM

    /// <summary>What a file that is neither Trapeze's nor the host's to poll answers: always ready.</summary>
    internal const short AlwaysReady = Readable | Writable | ReadNormal | WriteNormal;

    /// <summary>Up to this many entries (1 KiB each way) live on the stack: a poll per request allocates nothing for them.</summary>
    private const int OnStack = 128;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollDescriptor
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    [Syscall("poll", Support = Support.Full, Returns = ResultKind.PollReady)]
    public static Result Poll(GuestThread thread, [Argument(ArgumentKind.PollDescriptors, SizeFrom = nameof(count))] GuestAddress descriptors, uint count, int timeout)
        => Wait(thread, descriptors, count, timeout < 0 ? Syscalls.Wait.NoDeadline : thread.DeadlineAfter(timeout * 1_000_000L));

    [Syscall("ppoll", Support = Support.Full, Returns = ResultKind.PollReady)]
    public static Result PollWithMask(GuestThread thread, [Argument(ArgumentKind.PollDescriptors, SizeFrom = nameof(count))] GuestAddress descriptors, uint count, [Argument(ArgumentKind.Timespec)] GuestAddress timeout, [Argument(ArgumentKind.SignalSet)] GuestAddress signalMask, ulong maskSize)
    {
        if (TimespecDeadline(thread, timeout, out var deadline) is var error and not Errno.None)
            return error;
        var result = WithSignalMask(thread, signalMask, maskSize, () => Wait(thread, descriptors, count, deadline));
        return WriteRemaining(thread, timeout, deadline, result, timeval: false);
    }

    [Syscall("select", Support = Support.Partial, Returns = ResultKind.SelectReady, Note = "a closed descriptor is EBADF even past the size of Linux's file table, where Linux ignores it")]
    public static Result Select(GuestThread thread, int count, [Argument(ArgumentKind.FdSet, SizeFrom = nameof(count))] GuestAddress read, [Argument(ArgumentKind.FdSet, SizeFrom = nameof(count))] GuestAddress write, [Argument(ArgumentKind.FdSet, SizeFrom = nameof(count))] GuestAddress except, [Argument(ArgumentKind.Timeval)] GuestAddress timeout)
    {
        var deadline = Syscalls.Wait.NoDeadline;
        if (!timeout.IsNull)
        {
            if (LinuxStructures.ReadTime(thread, timeout, out var limit) is var fault and not Errno.None)
                return fault;
            if (limit.Seconds < 0 || limit.Nanoseconds is < 0 or >= 1_000_000)
                return Errno.EINVAL;
            deadline = Deadline(thread, limit.Seconds, limit.Nanoseconds * 1000);
        }
        var result = SelectOn(thread, count, read, write, except, deadline);
        // A handler interrupts select: Linux never restarts it.
        return WriteRemaining(thread, timeout, deadline, result, timeval: true);
    }

    [Syscall("pselect6", Support = Support.Partial, Returns = ResultKind.SelectReady, Note = "a closed descriptor is EBADF even past the size of Linux's file table, where Linux ignores it")]
    public static Result SelectWithMask(GuestThread thread, int count, [Argument(ArgumentKind.FdSet, SizeFrom = nameof(count))] GuestAddress read, [Argument(ArgumentKind.FdSet, SizeFrom = nameof(count))] GuestAddress write, [Argument(ArgumentKind.FdSet, SizeFrom = nameof(count))] GuestAddress except, [Argument(ArgumentKind.Timespec)] GuestAddress timeout, [Argument(ArgumentKind.SelectSignalMask)] GuestAddress signalMask)
    {
        if (TimespecDeadline(thread, timeout, out var deadline) is var error and not Errno.None)
            return error;
        // The sixth argument is { const sigset_t *ss; size_t ss_len; }.
        var mask = default(GuestAddress);
        ulong maskSize = 8;
        if (!signalMask.IsNull)
        {
            Span<ulong> words = stackalloc ulong[2];
            if (thread.Memory.Read(signalMask, MemoryMarshal.AsBytes(words)) is var fault and not Errno.None)
                return fault;
            (mask, maskSize) = (new GuestAddress(words[0]), words[1]);
        }
        var result = WithSignalMask(thread, mask, maskSize, () => SelectOn(thread, count, read, write, except, deadline));
        return WriteRemaining(thread, timeout, deadline, result, timeval: false);
    }

    /// <summary>
    /// Runs a wait with the caller's signal mask replaced by the one at <paramref name="mask"/>
    /// (ppoll, pselect6, epoll_pwait): the mask is in force before the thread sleeps, so a signal it
    /// unblocks cannot slip in between; a handler's frame saves the old mask, which rt_sigreturn
    /// puts back, and a finished wait puts it back at once.
    /// </summary>
    internal static Result WithSignalMask(GuestThread thread, GuestAddress mask, ulong maskSize, Func<Result> wait)
    {
        if (mask.IsNull)
            return wait();
        if (maskSize != 8)
            return Errno.EINVAL;
        if (thread.RetryState is not MaskedWait state)
        {
            if (thread.Memory.Read(mask, out ulong requested) is var fault and not Errno.None)
                return fault;
            state = new MaskedWait(thread.SignalMask);
            thread.RetryState = state;
            thread.SignalMask = requested & ~SignalDefaults.Unblockable;
            SignalDelivery.PendingChanged(thread);
        }
        var result = wait();
        if (result.Control is Restart)
            thread.SavedMask = state.Saved;
        else if (result.IsFinished)
            thread.SignalMask = state.Saved;
        return result;
    }

    private sealed record MaskedWait(ulong Saved);

    /// <summary>The deadline of a struct timespec timeout; <see cref="Wait.NoDeadline"/> for NULL.</summary>
    internal static Errno TimespecDeadline(GuestThread thread, GuestAddress timeout, out long deadline)
    {
        deadline = Syscalls.Wait.NoDeadline;
        if (timeout.IsNull)
            return Errno.None;
        if (LinuxStructures.ReadTime(thread, timeout, out var limit) is var fault and not Errno.None)
            return fault;
        if (limit.Seconds < 0 || limit.Nanoseconds is < 0 or >= 1_000_000_000)
            return Errno.EINVAL;
        deadline = Deadline(thread, limit.Seconds, limit.Nanoseconds);
        return Errno.None;
    }

    /// <summary>A relative timeout as a deadline that stays the same over the call's retries; 0 means "do not wait".</summary>
    private static long Deadline(GuestThread thread, long seconds, long nanoseconds)
        => seconds == 0 && nanoseconds == 0 ? 0
            : seconds >= (Syscalls.Wait.NoDeadline / 1_000_000_000) - 1 ? Syscalls.Wait.NoDeadline
            : thread.DeadlineAfter(seconds * 1_000_000_000 + nanoseconds);

    /// <summary>Linux leaves the time not slept in *timeout when the call ends (ready, timed out or interrupted), unless the timeout was zero.</summary>
    private static Result WriteRemaining(GuestThread thread, GuestAddress timeout, long deadline, Result result, bool timeval)
    {
        if (timeout.IsNull || deadline == 0 || deadline == Syscalls.Wait.NoDeadline || (result.IsFinished && result.IsError))
            return result;
        if (!result.IsFinished && result.Control is not Restart)
            return result;
        var left = Math.Max(0, deadline - thread.Kernel.Clock.Monotonic);
        var time = new Timespec { Seconds = left / 1_000_000_000, Nanoseconds = left % 1_000_000_000 / (timeval ? 1000 : 1) };
        return LinuxStructures.WriteTime(thread, timeout, time) is var fault and not Errno.None && result.IsFinished ? fault : result;
    }

    /// <summary>select's three bitmaps as poll entries, and the answers back into the bitmaps.</summary>
    private static Result SelectOn(GuestThread thread, int count, GuestAddress read, GuestAddress write, GuestAddress except, long deadline)
    {
        if (count < 0 || count > thread.Process.Files.Limit)
            return Errno.EINVAL;
        var words = (count + 63) / 64;
        var sets = new ulong[3][];
        GuestAddress[] addresses = [read, write, except];
        var bytes = (count + 7) / 8;
        for (var set = 0; set < 3; set++)
        {
            sets[set] = new ulong[words];
            if (!addresses[set].IsNull && bytes > 0
                && thread.Memory.Read(addresses[set], MemoryMarshal.AsBytes(sets[set].AsSpan())[..bytes]) is var fault and not Errno.None)
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
        var result = Wait(thread, array, deadline);
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
            if (!addresses[set].IsNull && bytes > 0
                && thread.Memory.Write(addresses[set], MemoryMarshal.AsBytes(sets[set].AsSpan())[..bytes]) is var fault and not Errno.None)
                return fault;
        }
        return ready;
    }

    /// <summary>One file's events now (of <paramref name="events"/>, and those reported unasked); <paramref name="wait"/> learns what announces a change.</summary>
    internal static short ReadyNow(GuestThread thread, OpenFile file, short events, Wait wait)
    {
        const short Always = Error | HangUp | Invalid;
        var ready = file.Readiness(thread, out var changes);
        var answer = ready is { } now ? (short)(now & (events | Always)) : (short)0;
        if (changes is not null)
            wait.Queues.Add(changes);
        if (file.HostDescriptor is { } descriptor)
        {
            var host = new PollDescriptor { Fd = descriptor, Events = events };
            if (HostSyscall.Invoke(HostSyscall.Poll, (long)&host, 1, 0) > 0)
                answer |= host.ReturnedEvents;
            wait.OnHost(descriptor, events);
        }
        else if (ready is null)
        {
            answer = (short)(events & AlwaysReady);
        }
        return answer;
    }

    private static Result Wait(GuestThread thread, GuestAddress descriptors, uint count, long deadline)
    {
        if (count > (uint)thread.Process.Files.Limit)
            return Errno.EINVAL;
        Span<PollDescriptor> entries = count <= OnStack ? stackalloc PollDescriptor[(int)count] : new PollDescriptor[count];
        var bytes = MemoryMarshal.AsBytes(entries);
        if (count > 0 && thread.Memory.Read(descriptors, bytes) is var fault and not Errno.None)
            return fault;
        var result = Wait(thread, entries, deadline);
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
    private static Result Wait(GuestThread thread, Span<PollDescriptor> entries, long deadline)
    {
        const short Always = Error | HangUp | Invalid; // reported unasked
        var count = entries.Length;
        var wait = new Wait();

        // The host polls host descriptors; everything else is decided here.
        Span<PollDescriptor> host = count <= OnStack ? stackalloc PollDescriptor[count] : new PollDescriptor[count];
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
                continue;
            }
            var ready = file.Readiness(thread, out var changes);
            if (ready is { } events)
            {
                entries[index].ReturnedEvents = (short)(events & (entry.Events | Always));
                if (changes is not null)
                    wait.Queues.Add(changes);
            }
            if (file.HostDescriptor is { } descriptor)
            {
                host[index] = new PollDescriptor { Fd = descriptor, Events = entry.Events };
                wait.OnHost(descriptor, entry.Events);
            }
            else if (ready is null)
            {
                entries[index].ReturnedEvents = (short)(entry.Events & AlwaysReady);
            }
        }
        fixed (PollDescriptor* pointer = host)
        {
            long result;
            using (thread.OutsideKernel())
                result = HostSyscall.Invoke(HostSyscall.Poll, (long)pointer, count, 0);
            if (result < 0)
                return result;
        }
        var readyCount = 0;
        for (var index = 0; index < entries.Length; index++)
        {
            if (host[index].Fd >= 0)
                entries[index].ReturnedEvents |= host[index].ReturnedEvents;
            if (entries[index].ReturnedEvents != 0)
                readyCount++;
        }
        if (readyCount > 0 || deadline == 0 || (deadline != Syscalls.Wait.NoDeadline && deadline <= thread.Kernel.Clock.Monotonic))
            return readyCount;
        wait.Deadline = deadline;
        var blocked = thread.Block(wait);
        if (blocked.Error == Errno.ETIMEDOUT)
            return 0;
        // poll and select are never restarted after a handler ran.
        return blocked.Control is Restart ? Result.Interrupted(RestartRule.OnlyWithoutHandler) : blocked;
    }
}
