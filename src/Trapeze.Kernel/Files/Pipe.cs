using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>
/// A pipe inside Trapeze: a ring buffer between guest processes, with Linux's rules: a read of an
/// empty pipe waits for data or for the last writer to leave (then 0), a write to a pipe without
/// readers is EPIPE, writes of at most PIPE_BUF bytes are never split.
/// </summary>
public sealed class Pipe
{
    public const int AtomicSize = 4096; // PIPE_BUF
    public const int DefaultCapacity = 65536;
    public const int MaximumCapacity = 1 << 20; // /proc/sys/fs/pipe-max-size

    private byte[] buffer = new byte[DefaultCapacity];
    private int start;

    public int Length { get; private set; }
    public int Capacity => buffer.Length;
    public int Readers { get; internal set; }
    public int Writers { get; internal set; }

    /// <summary>How many read and write ends were ever opened: a FIFO's blocking open waits for the other count to change.</summary>
    public long ReaderArrivals { get; private set; }
    public long WriterArrivals { get; private set; }

    /// <summary>Woken whenever data, space, readers or writers change.</summary>
    public WaitQueue Changes { get; } = new();

    /// <summary>An inode number for fstat and /proc/PID/fd ("pipe:[N]").</summary>
    public ulong Inode { get; init; }

    public int Free => buffer.Length - Length;

    internal void Arrived(bool reader, bool writer)
    {
        if (reader)
            ReaderArrivals++;
        if (writer)
            WriterArrivals++;
        Changes.Notify();
    }

    /// <summary>F_SETPIPE_SZ: rounds up to a power of two pages; EBUSY when the data would not fit.</summary>
    public Result Resize(long size)
    {
        if (size <= 0 || size > MaximumCapacity)
            return size > MaximumCapacity ? Errno.EPERM : Errno.EINVAL;
        var capacity = 4096;
        while (capacity < size)
            capacity <<= 1;
        if (capacity < Length)
            return Errno.EBUSY;
        var resized = new byte[capacity];
        Take(resized.AsSpan(0, Length), peek: true);
        buffer = resized;
        start = 0;
        return capacity;
    }

    public void Put(ReadOnlySpan<byte> data)
    {
        var end = (start + Length) % buffer.Length;
        var first = Math.Min(data.Length, buffer.Length - end);
        data[..first].CopyTo(buffer.AsSpan(end));
        data[first..].CopyTo(buffer);
        Length += data.Length;
        Changes.Notify(WaitQueue.InputEvents);
    }

    public void Take(Span<byte> destination, bool peek = false)
    {
        var first = Math.Min(destination.Length, buffer.Length - start);
        buffer.AsSpan(start, first).CopyTo(destination);
        buffer.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
        if (peek)
            return;
        start = (start + destination.Length) % buffer.Length;
        Length -= destination.Length;
        Changes.Notify(WaitQueue.OutputEvents);
    }
}

/// <summary>One end of a <see cref="Pipe"/>, as pipe2 hands them out, or both ends (a FIFO opened O_RDWR).</summary>
public sealed class PipeEnd : OpenFile
{
    private const short Readable = 0x001 | 0x040, Writable = 0x004 | 0x100, Error = 0x008, HangUp = 0x010; // POLLIN|POLLRDNORM, POLLOUT|POLLWRNORM, POLLERR, POLLHUP

    public PipeEnd(Pipe pipe, bool writer, OpenFlags flags)
        : this(pipe, reader: !writer, writer, flags)
    {
    }

    public PipeEnd(Pipe pipe, bool reader, bool writer, OpenFlags flags)
    {
        Pipe = pipe;
        IsReader = reader;
        IsWriter = writer;
        StatusFlags = flags | (reader && writer ? OpenFlags.O_RDWR : writer ? OpenFlags.O_WRONLY : OpenFlags.O_RDONLY);
        if (writer)
            pipe.Writers++;
        if (reader)
            pipe.Readers++;
        pipe.Arrived(reader, writer);
    }

    public Pipe Pipe { get; }
    public bool IsReader { get; }
    public bool IsWriter { get; }

    /// <summary>A FIFO's name, when the end was opened by one.</summary>
    public string? FifoPath { get; init; }

    /// <summary>
    /// A FIFO reader opened with O_NONBLOCK before any writer: poll shows no POLLHUP until a writer
    /// came after this count (fifo_open keeps f_pipe so).
    /// </summary>
    public long? QuietUntilWriterAfter { get; init; }

    public override string Path => FifoPath ?? $"pipe:[{Pipe.Inode}]";
    private bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

    public override Result Read(GuestThread thread, GuestAddress buffer, ulong count)
    {
        if (!IsReader)
            return Errno.EBADF;
        if (PastUserSpace(thread, buffer, count))
            return Errno.EFAULT;
        if (count == 0)
            return 0;
        if (Pipe.Length == 0)
            return Pipe.Writers == 0 ? 0 : NonBlocking ? Errno.EAGAIN : thread.Block(new Wait(Pipe.Changes));
        var take = (int)Math.Min((ulong)Pipe.Length, count);
        var data = new byte[take];
        Pipe.Take(data, peek: true);
        // Linux copies up to a fault; what reached the guest leaves the pipe.
        var copied = CopyOut(thread.Memory, buffer, data);
        if (copied == 0)
            return Errno.EFAULT;
        Pipe.Take(data.AsSpan(0, copied));
        return copied;
    }

    public override Result Write(GuestThread thread, GuestAddress buffer, ulong count)
    {
        if (IsWriter && PastUserSpace(thread, buffer, count))
            return Errno.EFAULT;
        var whole = WholePages(thread, buffer, count);
        return Write(thread, whole, (offset, into) => thread.Memory.Read(buffer + (ulong)offset, into), faulted: whole < count);
    }

    /// <summary>vfs_read and vfs_write refuse a range past user space (access_ok) before the pipe looks at it.</summary>
    private static bool PastUserSpace(GuestThread thread, GuestAddress buffer, ulong count)
    {
        var top = thread.Process.Personality.Layout.UserTop;
        return buffer.Value > top || count > top - buffer.Value;
    }

    /// <summary>
    /// How much of a write whose buffer faults part-way Linux takes: pipe_write copies a first
    /// piece (count modulo a page) into the last partly filled page, then whole pages, and drops
    /// a piece that faults. So only complete pieces before the fault reach the pipe.
    /// </summary>
    private ulong WholePages(GuestThread thread, GuestAddress buffer, ulong count)
    {
        const ulong Page = 4096;
        var readable = thread.Memory.AccessibleLength(buffer, count, write: false);
        if (readable >= count)
            return count;
        var tail = (ulong)Pipe.Length % Page;
        var first = tail != 0 && tail + count % Page <= Page ? count % Page : 0;
        return readable < first ? 0 : first + (readable - first) / Page * Page;
    }

    public override Result ReadVector(GuestThread thread, List<HostSegment> segments, long offset)
    {
        if (offset >= 0)
            return Errno.ESPIPE;
        if (!IsReader)
            return Errno.EBADF;
        ulong total = 0;
        foreach (var segment in segments)
            total += segment.Length;
        if (Pipe.Length == 0)
            return total == 0 || Pipe.Writers == 0 ? 0 : NonBlocking ? Errno.EAGAIN : thread.Block(new Wait(Pipe.Changes));
        var data = new byte[(int)Math.Min((ulong)Pipe.Length, total)];
        Pipe.Take(data);
        var done = 0;
        foreach (var segment in segments)
        {
            var piece = (int)Math.Min(segment.Length, (ulong)(data.Length - done));
            data.AsSpan(done, piece).CopyTo(HostSegments.Span(segment, piece));
            done += piece;
        }
        return done;
    }

    public override Result WriteVector(GuestThread thread, List<HostSegment> segments, long offset)
    {
        if (offset >= 0)
            return Errno.ESPIPE;
        ulong total = 0;
        foreach (var segment in segments)
            total += segment.Length;
        return Write(thread, total, (at, into) =>
        {
            HostSegments.Gather(segments, at, into);
            return Errno.None;
        }, faulted: false);
    }

    private Result Write(GuestThread thread, ulong count, Func<int, Span<byte>, Errno> copyIn, bool faulted)
    {
        if (!IsWriter)
            return Errno.EBADF;
        // A write that waited for room goes on where it stopped.
        var done = thread.RetryState as int? ?? 0;
        if (Pipe.Readers == 0)
        {
            if (done > 0)
                return done;
            return SignalDelivery.BrokenPipe(thread);
        }
        if (count == 0)
            return done > 0 ? done : faulted ? Errno.EFAULT : 0;
        var total = (int)Math.Min(count, 0x7fff_f000);
        while (done < total)
        {
            var left = total - done;
            // Up to PIPE_BUF bytes go in at once or not at all.
            var room = left <= Pipe.AtomicSize && Pipe.Free < left ? 0 : Math.Min(left, Pipe.Free);
            if (room == 0)
            {
                if (NonBlocking)
                    return done > 0 ? done : Errno.EAGAIN;
                thread.RetryState = done;
                var wait = thread.Block(new Wait(Pipe.Changes));
                return wait.Control is Wait || done == 0 ? wait : done;
            }
            var data = new byte[room];
            if (copyIn(done, data) is not Errno.None)
                return done > 0 ? done : Errno.EFAULT;
            Pipe.Put(data);
            done += room;
        }
        return done == 0 && faulted ? Errno.EFAULT : done;
    }

    public override short? Readiness(out WaitQueue? changes)
    {
        changes = Pipe.Changes;
        short events = 0;
        if (IsWriter)
            events |= Pipe.Readers == 0 ? (short)(Writable | Error) : Pipe.Free >= Pipe.AtomicSize ? Writable : (short)0;
        if (!IsReader)
            return events;
        events |= Pipe.Length > 0 ? Readable : (short)0;
        var quiet = QuietUntilWriterAfter is { } seen && Pipe.WriterArrivals == seen;
        return Pipe.Writers == 0 && !quiet ? (short)(events | HangUp) : events;
    }

    public override Result Status(out LinuxStat status)
    {
        // A FIFO of Trapeze's tmpfs: its node's status.
        if (Node is Vfs.Node node)
            return node.FileSystem.Status(node, out status) is var error and not Errno.None ? error : 0;
        const uint Fifo = 0x1000; // S_IFIFO
        status = new LinuxStat { Mode = Fifo | 0x180, Inode = Pipe.Inode, LinkCount = 1, BlockSize = 4096 };
        return 0;
    }

    public override Result Control(IoctlRequest request, GuestMemory memory, GuestAddress argument)
        => request == IoctlRequest.FIONREAD
            ? memory.Write(argument, IsReader ? Pipe.Length : 0) is var fault and not Errno.None ? fault : 0
            : Errno.ENOTTY;

    protected override void Close()
    {
        if (IsWriter)
            Pipe.Writers--;
        if (IsReader)
            Pipe.Readers--;
        Pipe.Changes.Notify();
    }

    private static unsafe int CopyOut(GuestMemory memory, GuestAddress buffer, byte[] data)
    {
        var done = 0;
        while (done < data.Length)
        {
            var piece = Math.Min(data.Length - done, 4096 - (int)((buffer.Value + (ulong)done) & 4095));
            if (memory.Write(buffer + (ulong)done, data.AsSpan(done, piece)) is not Errno.None)
                break;
            done += piece;
        }
        return done;
    }
}
