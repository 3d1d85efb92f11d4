using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// FreeBSD's kqueue(2) and kevent(2) (<see cref="KqueueFile"/>): struct kevent of freebsd12+ (ident,
/// short filter, unsigned short flags, unsigned fflags, int64 data, udata, uint64 ext[4]); filter, flag
/// and note values by name from FreeBSD's sys/event.h.
/// </summary>
public static class Kqueue
{
    private static BsdAbi Abi => BsdAbi.FreeBsd;

    [Syscall("kqueue", Returns = ResultKind.Fd, Support = Support.Full, Note = "not inherited by fork's child as FreeBSD's is not: the child's copy of the descriptor still works")]
    public static Result Create(GuestThread thread)
    {
        if (KqueueFile.Create(out var error) is not { } queue)
            return error;
        var fd = thread.Process.Files.Add(queue, false);
        if (fd.IsError)
            queue.Release();
        return fd;
    }

    [Syscall("kevent", Support = Support.Partial, Note = "EVFILT_READ, EVFILT_WRITE, EVFILT_TIMER and EVFILT_SIGNAL with EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT and EV_CLEAR; other filters are EINVAL, EV_RECEIPT and EV_DISPATCH are not served; EVFILT_WRITE's data is the room in a pipe, else 0")]
    public static Result Kevent(GuestThread thread, [Argument(ArgumentKind.Fd)] int kq, GuestAddress changes, int changeCount, GuestAddress events, int eventCount, [Argument(ArgumentKind.Timespec)] GuestAddress timeout)
    {
        if (thread.Process.Files.Get(kq) is not KqueueFile queue)
            return Errno.EBADF;
        if (changeCount < 0 || eventCount < 0)
            return Errno.EINVAL;
        var layout = new Layout(thread.Process.Personality.Structures.Model.WordSize);
        // The change list is applied once: a blocked kevent is dispatched again only to wait.
        if (thread.Blocked is null)
        {
            var reported = 0;
            var record = new byte[layout.Size];
            for (var index = 0; index < changeCount; index++)
            {
                if (thread.Memory.Read(changes + (ulong)(index * layout.Size), record) is var fault and not Errno.None)
                    return fault;
                var error = Apply(thread, queue, layout, record);
                if (error == Errno.None)
                    continue;
                // An error goes into the event list as EV_ERROR while there is room, else it is kevent's.
                if (reported >= eventCount)
                    return error;
                record.AsSpan(layout.Flags, 2).Clear();
                BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(layout.Flags), (ushort)Abi.Constant("EV_ERROR"));
                BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(layout.Data), Abi.ErrnoFromLinux((long)error));
                if (thread.Memory.Write(events + (ulong)(reported * layout.Size), record) is var writeFault and not Errno.None)
                    return writeFault;
                reported++;
            }
            if (reported > 0)
                return reported;
        }
        if (eventCount == 0)
            return 0;
        var ready = queue.Collect(thread, eventCount);
        if (ready.Count > 0)
            return Write(thread, layout, events, ready);
        var deadline = Wait.NoDeadline;
        if (!timeout.IsNull)
        {
            if (LinuxStructures.ReadTime(thread, timeout, out var time) is var fault and not Errno.None)
                return fault;
            if (time.Seconds < 0 || time.Nanoseconds is < 0 or >= 1_000_000_000)
                return Errno.EINVAL;
            var nanoseconds = time.Seconds > long.MaxValue / 1_000_000_000 - 1 ? Wait.NoDeadline : time.Seconds * 1_000_000_000 + time.Nanoseconds;
            if (nanoseconds == 0)
                return 0;
            deadline = thread.DeadlineAfter(nanoseconds);
        }
        if (deadline != Wait.NoDeadline && deadline <= thread.Kernel.Clock.Monotonic)
            return 0;
        var slept = thread.Block(queue.WaitFor(deadline));
        if (slept.Error == Errno.ETIMEDOUT)
            return 0;
        return slept.Control is Restart ? Result.Interrupted(RestartRule.Never) : slept;
    }

    /// <summary>Where struct kevent's fields are: x86-64 aligns data to 8 bytes (64 in all), i386 to 4 (56).</summary>
    private readonly record struct Layout(int Word)
    {
        public int Filter => Word;
        public int Flags => Word + 2;
        public int NoteFlags => Word + 4;
        public int Data => Word + 8;
        public int UserData => Data + 8;
        public int Size => UserData + Word + 32;
        public ulong Read(ReadOnlySpan<byte> record, int at) => Word == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(record[at..]) : BinaryPrimitives.ReadUInt32LittleEndian(record[at..]);
    }

    private static Errno Apply(GuestThread thread, KqueueFile queue, Layout layout, ReadOnlySpan<byte> record)
    {
        var ident = layout.Read(record, 0);
        var filterValue = BinaryPrimitives.ReadInt16LittleEndian(record[layout.Filter..]);
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(record[layout.Flags..]);
        var notes = BinaryPrimitives.ReadUInt32LittleEndian(record[layout.NoteFlags..]);
        var data = BinaryPrimitives.ReadInt64LittleEndian(record[layout.Data..]);
        var userData = layout.Read(record, layout.UserData);
        KqueueFilter? filter = filterValue == Abi.Constant("EVFILT_READ") ? KqueueFilter.Read
            : filterValue == Abi.Constant("EVFILT_WRITE") ? KqueueFilter.Write
            : filterValue == Abi.Constant("EVFILT_TIMER") ? KqueueFilter.Timer
            : filterValue == Abi.Constant("EVFILT_SIGNAL") ? KqueueFilter.Signal
            : null;
        if (filter is not { } known)
            return Errno.EINVAL;
        bool Has(string name) => (flags & Abi.Constant(name)) != 0;
        if (Has("EV_DELETE"))
            return queue.Delete(ident, known);
        if (Has("EV_ADD"))
        {
            var kept = (ushort)(flags & (Abi.Constant("EV_ADD") | Abi.Constant("EV_ONESHOT") | Abi.Constant("EV_CLEAR")));
            var period = known == KqueueFilter.Timer ? TimerPeriod(data, notes) : 0;
            // EVFILT_SIGNAL is always EV_CLEAR: its count restarts at each report.
            return queue.Add(thread, ident, known, kept, Has("EV_ONESHOT"), Has("EV_CLEAR") || known == KqueueFilter.Signal, Has("EV_DISABLE"), period, userData);
        }
        if (Has("EV_ENABLE") || Has("EV_DISABLE"))
            return queue.SetEnabled(thread, ident, known, Has("EV_ENABLE"));
        return Errno.EINVAL;
    }

    /// <summary>EVFILT_TIMER's data in the unit its fflags name (milliseconds when none does), in nanoseconds.</summary>
    private static long TimerPeriod(long data, uint notes)
    {
        long unit = (notes & Abi.Constant("NOTE_SECONDS")) != 0 ? 1_000_000_000
            : (notes & Abi.Constant("NOTE_USECONDS")) != 0 ? 1_000
            : (notes & Abi.Constant("NOTE_NSECONDS")) != 0 ? 1
            : 1_000_000;
        return data < 0 ? -1 : data > long.MaxValue / unit ? long.MaxValue / 2 : data * unit;
    }

    private static Result Write(GuestThread thread, Layout layout, GuestAddress events, List<KernelEvent> ready)
    {
        var bytes = new byte[layout.Size * ready.Count];
        for (var index = 0; index < ready.Count; index++)
        {
            var record = bytes.AsSpan(index * layout.Size, layout.Size);
            var kernelEvent = ready[index];
            if (layout.Word == 8)
                BinaryPrimitives.WriteUInt64LittleEndian(record, kernelEvent.Ident);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)kernelEvent.Ident);
            var filter = kernelEvent.Filter switch
            {
                KqueueFilter.Read => Abi.Constant("EVFILT_READ"),
                KqueueFilter.Write => Abi.Constant("EVFILT_WRITE"),
                KqueueFilter.Timer => Abi.Constant("EVFILT_TIMER"),
                _ => Abi.Constant("EVFILT_SIGNAL"),
            };
            BinaryPrimitives.WriteInt16LittleEndian(record[layout.Filter..], (short)filter);
            var flags = kernelEvent.Flags | (kernelEvent.EndOfFile ? Abi.Constant("EV_EOF") : 0);
            BinaryPrimitives.WriteUInt16LittleEndian(record[layout.Flags..], (ushort)flags);
            BinaryPrimitives.WriteInt64LittleEndian(record[layout.Data..], kernelEvent.Data);
            if (layout.Word == 8)
                BinaryPrimitives.WriteUInt64LittleEndian(record[layout.UserData..], kernelEvent.UserData);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(record[layout.UserData..], (uint)kernelEvent.UserData);
        }
        return thread.Memory.Write(events, bytes) is var fault and not Errno.None ? fault : ready.Count;
    }
}
