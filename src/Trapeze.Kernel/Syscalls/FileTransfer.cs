using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;
using Trapeze.Kernel.Vfs;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// The transfers that move bytes between two open files inside the kernel: sendfile,
/// copy_file_range, splice, tee and vmsplice. Between two host files the host moves the bytes;
/// otherwise they go through a bounded kernel buffer with the files' own read and write, so every
/// kind of file (tmpfs, /proc, Trapeze's pipes and sockets) takes part and a full output waits as
/// write(2) does.
/// </summary>
public static unsafe class FileTransfer
{
    /// <summary>SPLICE_F_MOVE, SPLICE_F_NONBLOCK, SPLICE_F_MORE, SPLICE_F_GIFT: every flag the splice family knows.</summary>
    private const uint SpliceNonBlock = 2, SpliceFlags = 0xf;

    /// <summary>Linux's MAX_RW_COUNT: one call moves at most this much.</summary>
    private const ulong MaximumTransfer = 0x7fff_f000;

    /// <summary>How much one step reads before writing it (a pipe's default size, as Linux's internal pipe).</summary>
    private const int Chunk = 64 * 1024;

    /// <summary>MAX_NON_LFS: how far the old 32-bit sendfile's off_t reaches.</summary>
    private const long NarrowLimit = int.MaxValue;

    [Syscall("sendfile", Support = Support.Partial, Note = "between host files the host's sendfile; otherwise through a 64 KiB kernel buffer from any seekable file (tmpfs, /proc, devices; a socket into a pipe) into any file, pipe or socket, waiting as write does; a 32-bit ABI's off_t is 32 bits (EOVERFLOW past 2 GiB). Into a host pipe or FIFO from a file Trapeze makes, one call moves up to 64 KiB after waiting for all of it to fit (Linux: what fits once there is room)")]
    public static Result SendFile(GuestThread thread, [Argument(ArgumentKind.Fd)] int output, [Argument(ArgumentKind.Fd)] int input, GuestAddress offset, ulong count)
        => SendFile(thread, output, input, offset, count, narrow: thread.Process.Personality.Structures.Model.WordSize == 4);

    [Syscall("sendfile64", Support = Support.Partial, Note = "as sendfile, with a 64-bit loff_t")]
    public static Result SendFile64(GuestThread thread, [Argument(ArgumentKind.Fd)] int output, [Argument(ArgumentKind.Fd)] int input, GuestAddress offset, ulong count)
        => SendFile(thread, output, input, offset, count, narrow: false);

    private static Result SendFile(GuestThread thread, int output, int input, GuestAddress offset, ulong count, bool narrow)
    {
        var files = thread.Process.Files;
        long position = 0;
        if (!offset.IsNull && ReadOffset(thread, offset, narrow, out position) is var fault and not Errno.None)
            return fault;
        // do_sendfile's order: the input (EBADF, ESPIPE for an offset it cannot take, EINVAL for a negative one), then the output.
        if (files.Get(input) is not { } source || !Readable(source))
            return Errno.EBADF;
        if (!offset.IsNull && !Positional(source))
            return Errno.ESPIPE;
        if (position < 0)
            return Errno.EINVAL;
        if (files.Get(output) is not { } target || !Writable(target))
            return Errno.EBADF;
        count = Math.Min(count, MaximumTransfer);
        if (narrow && (long)count > NarrowLimit - position)
        {
            if (position >= NarrowLimit)
                return Errno.EOVERFLOW;
            count = (ulong)(NarrowLimit - position);
        }
        if (source is HostFile origin && target is HostFile destination)
            return HostSendFile(thread, origin, destination, offset, position, count, narrow);
        if (!IsPipe(target) && (Flags(target) & OpenFlags.O_APPEND) != 0)
            return Errno.EINVAL;
        // splice_direct_to_actor takes only a seekable input (a socket's bytes could be lost); into a pipe any splice input does.
        if (!SplicesOut(source) || (!IsPipe(target) && !Positional(source)))
            return Errno.EINVAL;
        return Move(thread, new(source, offset, ToFileOffset: offset.IsNull && Positional(source), narrow), new(target, default, ToFileOffset: false),
            count, (Flags(target) & OpenFlags.O_NONBLOCK) != 0);
    }

    [Syscall("copy_file_range", Support = Support.Partial, Note = "between host files the host's (tmpfs files are host memfds); with a file Trapeze makes, Linux's checks (EISDIR, EINVAL, EBADF) then EXDEV, as across file systems. Files of two different --tmpfs mounts copy where Linux gives EXDEV (their memfds share one host file system)")]
    public static Result CopyFileRange(GuestThread thread, [Argument(ArgumentKind.Fd)] int input, GuestAddress inputOffset, [Argument(ArgumentKind.Fd)] int output, GuestAddress outputOffset, ulong length, uint flags)
    {
        var files = thread.Process.Files;
        if (files.Get(input) is not { } source || files.Get(output) is not { } target)
            return Errno.EBADF;
        long fromOffset = 0, toOffset = 0;
        if (!inputOffset.IsNull && thread.Memory.Read(inputOffset, out fromOffset) is var fault and not Errno.None)
            return fault;
        if (!outputOffset.IsNull && thread.Memory.Read(outputOffset, out toOffset) is var outFault and not Errno.None)
            return outFault;
        if (source.HostDescriptor is not { } from || target is not HostFile destination)
        {
            // vfs_copy_file_range's checks (generic_file_rw_checks), then a file of another file system.
            uint sourceType = TypeOf(source), targetType = TypeOf(target);
            return flags != 0 ? Errno.EINVAL
                : sourceType == FileTypes.Directory || targetType == FileTypes.Directory ? Errno.EISDIR
                : sourceType != FileTypes.Regular || targetType != FileTypes.Regular ? Errno.EINVAL
                : !Readable(source) || !Writable(target) || (Flags(target) & OpenFlags.O_APPEND) != 0 ? Errno.EBADF
                : Errno.EXDEV;
        }
        if (LimitedCount(thread, destination, outputOffset.IsNull ? -1 : toOffset, ref length) is var limited and not Errno.None)
            return limited;
        var result = HostSyscall.Invoke(HostSyscall.CopyFileRange, from, inputOffset.IsNull ? 0 : (long)&fromOffset,
            destination.HostDescriptor!.Value, outputOffset.IsNull ? 0 : (long)&toOffset, (long)length, flags);
        if (result < 0)
            return result;
        if (!inputOffset.IsNull && thread.Memory.Write(inputOffset, fromOffset) is var writeFault and not Errno.None)
            return writeFault;
        if (!outputOffset.IsNull && thread.Memory.Write(outputOffset, toOffset) is var outWriteFault and not Errno.None)
            return outWriteFault;
        return Notified(thread, source, target, result);
    }

    [Syscall("splice", Support = Support.Partial, Note = "through a 64 KiB kernel buffer between a pipe and any file, socket or pipe, waiting as read and write do; SPLICE_F_NONBLOCK is honoured for Trapeze's pipes (a host pipe or FIFO follows its own O_NONBLOCK), and bytes taken from a pipe that the output then refuses are lost (Linux leaves them in the pipe)")]
    public static Result Splice(GuestThread thread, [Argument(ArgumentKind.Fd)] int input, GuestAddress inputOffset, [Argument(ArgumentKind.Fd)] int output, GuestAddress outputOffset, ulong length, [Argument(ArgumentKind.Hex)] uint flags)
    {
        if (length == 0)
            return 0;
        if ((flags & ~SpliceFlags) != 0)
            return Errno.EINVAL;
        var files = thread.Process.Files;
        if (files.Get(input) is not { } source || files.Get(output) is not { } target)
            return Errno.EBADF;
        bool fromPipe = IsPipe(source), toPipe = IsPipe(target);
        if ((fromPipe && !inputOffset.IsNull) || (toPipe && !outputOffset.IsNull))
            return Errno.ESPIPE;
        if (OffsetError(thread, inputOffset) is var inputError and not Errno.None)
            return inputError;
        if (OffsetError(thread, outputOffset) is var outputError and not Errno.None)
            return outputError;
        if (!Readable(source) || !Writable(target))
            return Errno.EBADF;
        if (fromPipe && toPipe && source is PipeEnd { Pipe: var first } && target is PipeEnd { Pipe: var second } && first == second)
            return Errno.EINVAL;
        if (!fromPipe && !toPipe)
            return Errno.EINVAL;
        if (!toPipe && (Flags(target) & OpenFlags.O_APPEND) != 0)
            return Errno.EINVAL;
        if ((!inputOffset.IsNull && !Positional(source)) || (!outputOffset.IsNull && !Positional(target)) || (!fromPipe && !SplicesOut(source)))
            return Errno.EINVAL;
        // do_splice: the pipe's O_NONBLOCK counts as SPLICE_F_NONBLOCK (either pipe's between two).
        var nonBlocking = (flags & SpliceNonBlock) != 0
            || (fromPipe && (Flags(source) & OpenFlags.O_NONBLOCK) != 0) || (toPipe && (Flags(target) & OpenFlags.O_NONBLOCK) != 0);
        return Move(thread, new(source, inputOffset, ToFileOffset: inputOffset.IsNull && Positional(source)), new(target, outputOffset, ToFileOffset: false),
            Math.Min(length, MaximumTransfer), nonBlocking);
    }

    [Syscall("tee", Support = Support.Partial, Note = "between Trapeze's pipes (pipe(2), FIFOs on a tmpfs); a host pipe or FIFO is EINVAL")]
    public static Result Tee(GuestThread thread, [Argument(ArgumentKind.Fd)] int input, [Argument(ArgumentKind.Fd)] int output, ulong length, [Argument(ArgumentKind.Hex)] uint flags)
    {
        if ((flags & ~SpliceFlags) != 0)
            return Errno.EINVAL;
        if (length == 0)
            return 0;
        var files = thread.Process.Files;
        if (files.Get(input) is not { } source || !Readable(source) || files.Get(output) is not { } target || !Writable(target))
            return Errno.EBADF;
        if (source is not PipeEnd { Pipe: var from } || target is not PipeEnd { Pipe: var to } || from == to)
            return Errno.EINVAL;
        var nonBlocking = (flags & SpliceNonBlock) != 0 || ((source.StatusFlags | target.StatusFlags) & OpenFlags.O_NONBLOCK) != 0;
        // ipipe_prep, then opipe_prep: data to copy, then room for it.
        if (from.Length == 0)
            return from.Writers == 0 ? 0 : nonBlocking ? Errno.EAGAIN : thread.Block(new Wait(from.Changes));
        if (to.Readers == 0)
            return SignalDelivery.BrokenPipe(thread);
        if (to.Free == 0)
            return nonBlocking ? Errno.EAGAIN : thread.Block(new Wait(to.Changes));
        var copied = new byte[(int)Math.Min(Math.Min((ulong)from.Length, length), (ulong)to.Free)];
        from.Take(copied, peek: true);
        to.Put(copied);
        return copied.Length;
    }

    [Syscall("vmsplice", Support = Support.Partial, Note = "as writev into a pipe's write end or readv from its read end (the pages are copied, never gifted); SPLICE_F_NONBLOCK is honoured for Trapeze's pipes")]
    public static Result VectorSplice(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.IoVectors, SizeFrom = nameof(count))] GuestAddress vectors, ulong count, [Argument(ArgumentKind.Hex)] uint flags)
    {
        if ((flags & ~SpliceFlags) != 0)
            return Errno.EINVAL;
        if (thread.Process.Files.Get(fd) is not { } file || !IsPipe(file))
            return Errno.EBADF;
        var write = Writable(file);
        if ((flags & SpliceNonBlock) != 0 && file is PipeEnd { Pipe: var pipe } && (write ? pipe.Free == 0 && pipe.Readers > 0 : pipe.Length == 0 && pipe.Writers > 0))
            return Errno.EAGAIN;
        return count > int.MaxValue ? Errno.EINVAL : FileIo.Vector(thread, fd, vectors, (int)count, write, offset: -1);
    }

    /// <summary>One side of a transfer: its file, the guest's offset pointer if any, and whether it reads at (and then moves) its file offset.</summary>
    private readonly record struct End(OpenFile File, GuestAddress Offset, bool ToFileOffset, bool NarrowOffset = false)
    {
        public bool AtPosition => ToFileOffset || !Offset.IsNull;
    }

    /// <summary>What a transfer that had to wait keeps across its dispatches: where it started, how far it got, and bytes read but not yet written.</summary>
    private sealed class Progress(long sourceStart, long targetStart, int bufferSize)
    {
        public long SourceStart { get; } = sourceStart;
        public long TargetStart { get; } = targetStart;
        public long Done { get; set; }
        public byte[] Pending { get; } = new byte[bufferSize];
        public int PendingAt { get; set; }
        public int PendingLength { get; set; }

        /// <summary>The output's own retry state (the bytes of a piece a pipe already took while it waited for room).</summary>
        public object? Inner { get; set; }
    }

    /// <summary>
    /// Moves up to <paramref name="count"/> bytes from <paramref name="from"/> to <paramref name="to"/>, a piece at a time,
    /// and puts the offsets where they ended. A pipe as output takes one piece per call (for Trapeze's pipes at most its free room), as splice_file_to_pipe.
    /// </summary>
    private static Result Move(GuestThread thread, End from, End to, ulong count, bool nonBlocking)
    {
        if (thread.RetryState is not Progress progress)
        {
            long sourceStart = -1, targetStart = -1;
            if (!from.Offset.IsNull)
                ReadOffset(thread, from.Offset, from.NarrowOffset, out sourceStart);
            else if (from.ToFileOffset)
                sourceStart = from.File.Seek(0, SeekWhence.SEEK_CUR).Raw;
            if (!to.Offset.IsNull)
                thread.Memory.Read(to.Offset, out targetStart);
            progress = new Progress(sourceStart, targetStart, (int)Math.Min(count, Chunk));
        }
        var result = Pump(thread, progress, from, to, (long)count, nonBlocking);
        if (result.Control is Wait)
        {
            thread.RetryState = progress;
            return result;
        }
        if (from.ToFileOffset)
            from.File.Seek(progress.SourceStart + progress.Done, SeekWhence.SEEK_SET);
        if (!from.Offset.IsNull && WriteOffset(thread, from.Offset, from.NarrowOffset, progress.SourceStart + progress.Done) is var fault and not Errno.None)
            return fault;
        if (!to.Offset.IsNull && thread.Memory.Write(to.Offset, progress.TargetStart + progress.Done) is var outFault and not Errno.None)
            return outFault;
        return Notified(thread, from.File, to.File, result);
    }

    private static Result Pump(GuestThread thread, Progress progress, End from, End to, long total, bool nonBlocking)
    {
        while (progress.Done < total)
        {
            if (progress.PendingLength == 0)
            {
                var piece = (int)Math.Min(total - progress.Done, Chunk);
                if (to.File is PipeEnd { Pipe: var output })
                {
                    // wait_for_space: no reader is EPIPE, a full pipe waits (or EAGAIN), then no more than fits.
                    if (output.Readers == 0)
                        return Stop(progress, SignalDelivery.BrokenPipe(thread));
                    if (output.Free == 0)
                        return Stop(progress, nonBlocking ? Errno.EAGAIN : thread.Block(new Wait(output.Changes)));
                    piece = Math.Min(piece, output.Free);
                }
                if (nonBlocking && from.File is PipeEnd { Pipe: { Length: 0, Writers: > 0 } })
                    return Stop(progress, Errno.EAGAIN);
                var read = Transfer(thread, from.File, progress.Pending, 0, piece, from.AtPosition ? progress.SourceStart + progress.Done : -1, write: false);
                if (read.IsError || read.Control is not null)
                    return Stop(progress, read);
                if (read.Raw == 0)
                    break;
                (progress.PendingAt, progress.PendingLength) = (0, (int)read.Raw);
            }
            thread.RetryState = progress.Inner;
            var wrote = Transfer(thread, to.File, progress.Pending, progress.PendingAt, progress.PendingLength, to.Offset.IsNull ? -1 : progress.TargetStart + progress.Done, write: true);
            progress.Inner = wrote.Control is Wait ? thread.RetryState : null;
            thread.RetryState = null;
            if (wrote.Control is Wait)
                return wrote;
            if (wrote.IsError || wrote.Control is not null || wrote.Raw == 0)
                return Stop(progress, wrote);
            progress.Done += wrote.Raw;
            progress.PendingAt += (int)wrote.Raw;
            progress.PendingLength -= (int)wrote.Raw;
            if (IsPipe(to.File))
                break;
        }
        return progress.Done;
    }

    /// <summary>A transfer that cannot go on returns what it moved so far, if anything, rather than the error or the wait.</summary>
    private static Result Stop(Progress progress, Result result)
        => result.Control == Result.ThreadGone.Control || progress.Done == 0 ? result : progress.Done;

    /// <summary>One read or write of <paramref name="buffer"/>[at..at+length) by the file's own vector operation, at <paramref name="offset"/> (-1: the file offset).</summary>
    private static Result Transfer(GuestThread thread, OpenFile file, byte[] buffer, int at, int length, long offset, bool write)
    {
        fixed (byte* pointer = buffer)
        {
            List<HostSegment> piece = [new HostSegment((nint)(pointer + at), (ulong)length)];
            return write ? file.WriteVector(thread, piece, offset) : file.ReadVector(thread, piece, offset);
        }
    }

    /// <summary>The host's sendfile between two host files, waiting as a write to the output would (a FIFO Trapeze opened has a non-blocking host description).</summary>
    private static Result HostSendFile(GuestThread thread, HostFile source, HostFile target, GuestAddress offset, long position, ulong count, bool narrow)
    {
        if (LimitedCount(thread, target, -1, ref count) is var limited and not Errno.None)
            return limited;
        var slot = stackalloc long[1];
        *slot = position;
        var result = target.Waited(thread, write: true, () => HostSyscall.Invoke(HostSyscall.Number("sendfile"), target.HostDescriptor!.Value, source.HostDescriptor!.Value, offset.IsNull ? 0 : (long)slot, (long)count));
        if (result.IsFinished && !result.IsError && !offset.IsNull && WriteOffset(thread, offset, narrow, *slot) is var writeFault and not Errno.None)
            return writeFault;
        return Notified(thread, source, target, result);
    }

    /// <summary>Bytes that moved are an access of the input and a modification of the output for inotify, as fsnotify_access and fsnotify_modify.</summary>
    private static Result Notified(GuestThread thread, OpenFile source, OpenFile target, Result result)
    {
        var notifications = thread.Kernel.Notifications;
        return notifications.Transferred(target, notifications.Transferred(source, result, InotifyMask.IN_ACCESS), InotifyMask.IN_MODIFY);
    }

    /// <summary>RLIMIT_FSIZE and a tmpfs size= shorten a host transfer into <paramref name="target"/> as they shorten a write.</summary>
    private static Errno LimitedCount(GuestThread thread, HostFile target, long offset, ref ulong count)
    {
        if (target.LimitToFileSize(thread, offset, ref count) is var tooBig and not Errno.None)
            return tooBig;
        if (count > 0 && (count = (ulong)target.WritableBytes(offset, (long)Math.Min(count, long.MaxValue))) == 0)
            return Errno.ENOSPC;
        return Errno.None;
    }

    /// <summary>sendfile's offset: a loff_t, or a 32-bit ABI's off_t for its old sendfile.</summary>
    private static Errno ReadOffset(GuestThread thread, GuestAddress pointer, bool narrow, out long value)
    {
        if (!narrow)
            return thread.Memory.Read(pointer, out value);
        var error = thread.Memory.Read(pointer, out int word);
        value = word;
        return error;
    }

    private static Errno WriteOffset(GuestThread thread, GuestAddress pointer, bool narrow, long value)
        => narrow ? thread.Memory.Write(pointer, (int)value) : thread.Memory.Write(pointer, value);

    /// <summary>An explicit offset of splice: EFAULT if it cannot be read, EINVAL if negative (rw_verify_area).</summary>
    private static Errno OffsetError(GuestThread thread, GuestAddress pointer)
        => pointer.IsNull ? Errno.None
            : thread.Memory.Read(pointer, out long value) is var fault and not Errno.None ? fault
            : value < 0 ? Errno.EINVAL : Errno.None;

    /// <summary>The status flags as F_GETFL has them (on the host for most host files).</summary>
    private static OpenFlags Flags(OpenFile file) => Descriptors.StatusFlagsOf(file);

    private static bool Readable(OpenFile file) => (Flags(file) & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR | OpenFlags.O_PATH)) is 0 or OpenFlags.O_RDWR;

    private static bool Writable(OpenFile file) => (Flags(file) & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) != 0 && (Flags(file) & OpenFlags.O_PATH) == 0;

    private static uint TypeOf(OpenFile file) => file.Status(out var status).IsError ? 0 : status.Mode & FileTypes.Mask;

    /// <summary>A pipe or FIFO, Trapeze's or the host's (get_pipe_info).</summary>
    private static bool IsPipe(OpenFile file) => file is PipeEnd || (file is HostFile && TypeOf(file) == FileTypes.Fifo);

    /// <summary>Reads at an offset of its own (FMODE_PREAD): a file with a position rather than a stream.</summary>
    private static bool Positional(OpenFile file) => !IsPipe(file) && !file.Seek(0, SeekWhence.SEEK_CUR).IsError;

    /// <summary>Has splice_read, so it can feed sendfile or splice: not a pipe (splice reads a pipe itself), not a directory.</summary>
    private static bool SplicesOut(OpenFile file) => !IsPipe(file) && TypeOf(file) != FileTypes.Directory;
}
