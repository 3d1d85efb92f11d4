using System.Runtime.InteropServices;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;
using Trapeze.Kernel.Vfs;

namespace Trapeze.Kernel.Files;

/// <summary>
/// A file, directory, tty or pipe of the host, reached through a host descriptor Trapeze owns.
/// Data moves straight between the host kernel and the host pages behind guest memory.
/// </summary>
public sealed unsafe class HostFile(int descriptor, string path, OpenFlags statusFlags) : OpenFile
{
    /// <summary>How a read or write that has to wait for another process does so without holding up the other guest threads.</summary>
    private enum Waiting
    {
        /// <summary>A regular file, directory or device: the host answers without waiting for anyone.</summary>
        Never,

        /// <summary>
        /// A FIFO Trapeze opened itself, whose other end may be a guest process: its host description
        /// is non-blocking, the guest's O_NONBLOCK lives in <see cref="OpenFile.StatusFlags"/>, and
        /// EAGAIN where the guest would wait blocks the thread on the descriptor.
        /// </summary>
        OwnDescription,

        /// <summary>
        /// A pipe, FIFO, tty or socket inherited from the host: host processes share its description,
        /// so its flags stay as they are and a blocking call first waits for the descriptor to be ready.
        /// </summary>
        SharedDescription,
    }

    private Waiting waiting;

    /// <summary>Linux's MAX_RW_COUNT: one read or write moves at most this much.</summary>
    private const ulong MaximumTransfer = 0x7fff_f000;

    /// <summary>A buffer spanning several mappings is filled through a host buffer of at most this size.</summary>
    private const ulong DirectoryScratch = 64 * 1024;

    private readonly List<HostSegment> segments = [];

    public override string Path => path;
    public override int? HostDescriptor => descriptor;

    public OpenFlags InitialFlags => statusFlags;

    /// <summary>A host FIFO the guest opened: see <see cref="Waiting.OwnDescription"/>.</summary>
    public static HostFile OwnFifo(int descriptor, string path, OpenFlags statusFlags)
    {
        var flags = HostSyscall.Invoke(HostSyscall.Fcntl, descriptor, (long)FcntlCommand.F_GETFL);
        HostSyscall.Invoke(HostSyscall.Fcntl, descriptor, (long)FcntlCommand.F_SETFL, flags | (long)OpenFlags.O_NONBLOCK);
        return new(descriptor, path, statusFlags) { waiting = Waiting.OwnDescription, StatusFlags = statusFlags };
    }

    /// <summary>A descriptor the guest got from the host at start (stdin, a pipe, a terminal).</summary>
    public static HostFile Inherited(int descriptor, string path)
    {
        var flags = (OpenFlags)HostSyscall.Invoke(HostSyscall.Fcntl, descriptor, (long)FcntlCommand.F_GETFL);
        LinuxStat status;
        var type = HostSyscall.Invoke(HostSyscall.Fstat, descriptor, (long)&status) < 0 ? 0 : status.Mode & FileTypes.Mask;
        var shared = type is FileTypes.Fifo or FileTypes.Socket || (type == FileTypes.Character && IsTerminal(descriptor));
        return new(descriptor, path, flags) { waiting = shared ? Waiting.SharedDescription : Waiting.Never };
    }

    public override bool StatusFlagsOnHost => waiting != Waiting.OwnDescription;

    public override Result Read(GuestThread thread, GuestAddress buffer, ulong count)
        => waiting == Waiting.Never ? Read(thread.Memory, buffer, count) : Waited(thread, write: false, () => Read(thread.Memory, buffer, count));

    public override Result ReadVector(GuestThread thread, List<HostSegment> pieces, long offset)
        => waiting == Waiting.Never ? ReadVector(pieces, offset) : Waited(thread, write: false, () => ReadVector(pieces, offset));

    public override Result Read(GuestMemory memory, GuestAddress buffer, ulong count)
        => Transfer(memory, buffer, count, write: false, offset: -1);

    public override Result Write(GuestMemory memory, GuestAddress buffer, ulong count)
        => Transfer(memory, buffer, count, write: true, offset: -1);

    // Only a regular file has a size limit, and only a pipe, FIFO, tty or socket waits.
    public override Result Write(GuestThread thread, GuestAddress buffer, ulong count)
        => waiting != Waiting.Never ? WriteAll(thread, (long)Math.Min(count, long.MaxValue), done => Write(thread.Memory, buffer + done, count - (ulong)done))
            : LimitToFileSize(thread, -1, ref count) is var tooBig and not Errno.None ? tooBig : Transfer(thread.Memory, buffer, count, write: true, offset: -1);

    /// <summary>pread64 / pwrite64: at <paramref name="offset"/>, leaving the file offset alone.</summary>
    public Result PositionalTransfer(GuestThread thread, GuestAddress buffer, ulong count, long offset, bool write)
    {
        if (offset < 0)
            return Errno.EINVAL;
        if (write && LimitToFileSize(thread, offset, ref count) is var tooBig and not Errno.None)
            return tooBig;
        return Transfer(thread.Memory, buffer, count, write, offset);
    }

    public override Result ReadVector(List<HostSegment> pieces, long offset) => Vector(pieces, write: false, offset);
    public override Result WriteVector(List<HostSegment> pieces, long offset) => Vector(pieces, write: true, offset);

    public override Result WriteVector(GuestThread thread, List<HostSegment> pieces, long offset)
    {
        if (waiting != Waiting.Never)
            return WriteAll(thread, pieces.Sum(piece => (long)piece.Length), done => WriteVector(Skipped(pieces, done), offset));
        var wanted = 0UL;
        foreach (var piece in pieces)
            wanted += piece.Length;
        var allowed = wanted;
        if (LimitToFileSize(thread, offset, ref allowed) is var tooBig and not Errno.None)
            return tooBig;
        return Vector(allowed < wanted ? Shortened(pieces, (long)allowed) : pieces, write: true, offset);
    }

    /// <summary>
    /// Shortens a write of <paramref name="count"/> bytes at <paramref name="offset"/> (-1: the file
    /// offset) to end at RLIMIT_FSIZE; EFBIG (and SIGXFSZ) when it would start at or past it.
    /// </summary>
    internal Errno LimitToFileSize(GuestThread thread, long offset, ref ulong count)
    {
        if (count == 0 || FileSizeLimit.Of(thread) is not { } limit || !IsRegular)
            return Errno.None;
        var position = WritePosition(offset);
        if (position >= limit)
            return FileSizeLimit.Exceeded(thread);
        count = Math.Min(count, (ulong)(limit - position));
        return Errno.None;
    }

    private bool IsRegular
    {
        get
        {
            LinuxStat status;
            return HostSyscall.Invoke(HostSyscall.Fstat, descriptor, (long)&status) >= 0 && (status.Mode & FileTypes.Mask) == FileTypes.Regular;
        }
    }

    public override Result Seek(long offset, SeekWhence whence)
        => HostSyscall.Invoke(HostSyscall.Lseek, descriptor, offset, (long)whence);

    public override Result Status(out LinuxStat status)
    {
        // A tmpfs file's bytes are a host memfd; its name, mode, owner and links are the tmpfs node's.
        if (Node is Vfs.TmpNode node)
            return node.FileSystem.Status(node, out status) is var error and not Errno.None ? error : 0;
        LinuxStat buffer;
        var result = HostSyscall.Invoke(HostSyscall.Fstat, descriptor, (long)&buffer);
        status = buffer;
        return result;
    }

    public override Result Control(IoctlRequest request, GuestMemory memory, GuestAddress argument)
    {
        switch (request)
        {
            case IoctlRequest.TCGETS:
                // The kernel's struct termios (asm-generic/termbits.h) is 36 bytes; glibc's 60-byte
                // one is converted in user space.
                return ControlWithBuffer(request, memory, argument, 36, copyIn: false);
            case IoctlRequest.TIOCGWINSZ:
                return ControlWithBuffer(request, memory, argument, 8, copyIn: false);
            case IoctlRequest.TIOCGPGRP:
            case IoctlRequest.FIONREAD:
                return ControlWithBuffer(request, memory, argument, 4, copyIn: false);
            default:
                // Anything else on a tty would change the user's terminal; on a plain file it is ENOTTY anyway.
                return Errno.ENOTTY;
        }
    }

    public override Result ReadDirectory(GuestMemory memory, GuestAddress buffer, ulong count)
    {
        // Entries are written up to the first page that faults; a shorter buffer only means fewer entries.
        var usable = memory.AccessibleLength(buffer, Math.Min(count, MaximumTransfer), write: true);
        if (usable == 0 && count > 0)
            return HostSyscall.Invoke(HostSyscall.Getdents64, descriptor, HostMemory.FaultPage, (long)Math.Min(count, AddressSpace.PageSize));
        segments.Clear();
        memory.GetSegments(buffer, usable, write: true, segments);
        if (segments.Count <= 1)
            return HostSyscall.Invoke(HostSyscall.Getdents64, descriptor, segments.Count == 0 ? 0 : segments[0].Pointer, (long)usable);
        var scratch = new byte[Math.Min(usable, DirectoryScratch)];
        fixed (byte* pointer = scratch)
        {
            var result = HostSyscall.Invoke(HostSyscall.Getdents64, descriptor, (long)pointer, scratch.Length);
            if (result > 0)
                memory.Write(buffer, scratch.AsSpan(0, (int)result));
            return result;
        }
    }

    protected override void Close() => HostSyscall.Invoke(HostSyscall.Close, descriptor);

    private bool IsOnLimitedTmpFs => Node is Vfs.TmpNode { FileSystem: Vfs.TmpFs { SizeLimit: not null } };

    /// <summary>How much of a write of <paramref name="count"/> bytes at <paramref name="offset"/> (-1: the file offset) fits in a tmpfs with a size=.</summary>
    internal long WritableBytes(long offset, long count)
        => Node is Vfs.TmpNode { FileSystem: Vfs.TmpFs { SizeLimit: not null } tmpfs } node
            ? tmpfs.WritableBytes(node, WritePosition(offset), count)
            : count;

    /// <summary>Where a write at <paramref name="offset"/> (-1: the file offset) lands: the end for O_APPEND, even for pwrite (as Linux does).</summary>
    private long WritePosition(long offset)
    {
        var flags = (OpenFlags)(int)HostSyscall.Invoke(HostSyscall.Fcntl, descriptor, (long)FcntlCommand.F_GETFL);
        if ((flags & OpenFlags.O_APPEND) == 0)
            return offset >= 0 ? offset : HostSyscall.Invoke(HostSyscall.Lseek, descriptor, 0, (long)SeekWhence.SEEK_CUR);
        LinuxStat status;
        HostSyscall.Invoke(HostSyscall.Fstat, descriptor, (long)&status);
        return status.Size;
    }

    /// <summary>One transfer as the guest's blocking mode has it, waiting outside the run lock where it has to wait.</summary>
    internal Result Waited(GuestThread thread, bool write, Func<Result> transfer)
    {
        var events = write ? Polling.Writable : Polling.Readable;
        if (waiting == Waiting.SharedDescription && !IsReady(events) && !HostNonBlocking)
            return thread.Block(new Wait().OnHost(descriptor, events));
        var result = transfer();
        if (result.Error == Errno.EAGAIN && waiting == Waiting.OwnDescription && (StatusFlags & OpenFlags.O_NONBLOCK) == 0)
            return thread.Block(new Wait().OnHost(descriptor, events));
        return result.Error == Errno.EPIPE ? SignalDelivery.BrokenPipe(thread) : result;
    }

    /// <summary>A blocking write to a pipe returns once all of it went (or a signal came after some did), as pipe_write.</summary>
    private Result WriteAll(GuestThread thread, long total, Func<long, Result> writeFrom)
    {
        var done = thread.RetryState as long? ?? 0;
        while (true)
        {
            var result = Waited(thread, write: true, () => writeFrom(done));
            if (result.Control is Wait)
                thread.RetryState = done;
            if (result.IsError || result.Control is not null)
                return done > 0 && result.Control is not Wait && result.Control != Result.ThreadGone.Control ? done : result;
            done += result.Raw;
            if (done >= total || result.Raw == 0 || (StatusFlags & OpenFlags.O_NONBLOCK) != 0 || waiting == Waiting.SharedDescription)
                return done;
        }
    }

    private bool HostNonBlocking => (HostSyscall.Invoke(HostSyscall.Fcntl, descriptor, (long)FcntlCommand.F_GETFL) & (long)OpenFlags.O_NONBLOCK) != 0;

    private bool IsReady(short events)
    {
        var poll = new Polling.PollDescriptor { Fd = descriptor, Events = events };
        return HostSyscall.Invoke(HostSyscall.Poll, (long)&poll, 1, 0) > 0;
    }

    private static bool IsTerminal(int descriptor)
    {
        var termios = stackalloc byte[64];
        return HostSyscall.Invoke(HostSyscall.Ioctl, descriptor, (long)IoctlRequest.TCGETS, (long)termios) == 0;
    }

    private static List<HostSegment> Skipped(List<HostSegment> pieces, long count)
    {
        var kept = new List<HostSegment>();
        foreach (var piece in pieces)
        {
            if (count >= (long)piece.Length)
            {
                count -= (long)piece.Length;
                continue;
            }
            kept.Add(piece with { Pointer = piece.Pointer + (nint)count, Length = piece.Length - (ulong)count });
            count = 0;
        }
        return kept;
    }

    private static List<HostSegment> Shortened(List<HostSegment> pieces, long length)
    {
        var kept = new List<HostSegment>();
        foreach (var piece in pieces)
        {
            if (length <= 0)
                break;
            var part = (ulong)Math.Min((long)piece.Length, length);
            kept.Add(piece with { Length = part });
            length -= (long)part;
        }
        return kept;
    }

    private Result ControlWithBuffer(IoctlRequest request, GuestMemory memory, GuestAddress argument, int size, bool copyIn)
    {
        Span<byte> buffer = stackalloc byte[64];
        buffer = buffer[..size];
        if (copyIn && memory.Read(argument, buffer) is var readError and not Errno.None)
            return readError;
        long result;
        fixed (byte* pointer = buffer)
            result = HostSyscall.Invoke(HostSyscall.Ioctl, descriptor, (long)request, (long)pointer);
        if (result < 0)
            return result;
        return memory.Write(argument, buffer) is var writeError and not Errno.None ? writeError : result;
    }

    private Result Transfer(GuestMemory memory, GuestAddress buffer, ulong count, bool write, long offset)
    {
        if (count == 0)
        {
            // The host still checks the descriptor, the offset and seekability, and access_ok: a
            // buffer past user space is EFAULT even for no bytes.
            var none = buffer.Value > AddressSpace.UserTop ? HostMemory.KernelAddress : 0;
            return offset < 0
                ? HostSyscall.Invoke(write ? HostSyscall.Write : HostSyscall.Read, descriptor, none, 0)
                : HostSyscall.Invoke(write ? HostSyscall.Pwrite64 : HostSyscall.Pread64, descriptor, none, 0, offset);
        }
        // Linux moves data up to the first byte that faults and returns that count; EFAULT only when none can move.
        var usable = memory.AccessibleLength(buffer, Math.Min(count, MaximumTransfer), write: !write);
        var inUserSpace = buffer.Value <= AddressSpace.UserTop && count <= AddressSpace.UserTop - buffer.Value;
        if (usable == 0 || !inUserSpace)
        {
            // Not one byte can move: the host kernel answers with a host buffer that faults the same
            // way, so its checks keep Linux's order (EBADF, EINVAL, ESPIPE, EISDIR, 0 at the end of
            // the file, then EFAULT). A range past user space fails access_ok before any transfer.
            var pointer = inUserSpace ? HostMemory.FaultPage : HostMemory.KernelAddress;
            var length = inUserSpace ? (long)Math.Min(count, AddressSpace.PageSize) : (long)Math.Min(count, long.MaxValue);
            return offset < 0
                ? HostSyscall.Invoke(write ? HostSyscall.Write : HostSyscall.Read, descriptor, pointer, length)
                : HostSyscall.Invoke(write ? HostSyscall.Pwrite64 : HostSyscall.Pread64, descriptor, pointer, length, offset);
        }
        segments.Clear();
        memory.GetSegments(buffer, usable, write: !write, segments);
        return Vector(segments, write, offset);
    }

    private Result Vector(List<HostSegment> pieces, bool write, long offset)
    {
        if (write && IsOnLimitedTmpFs)
        {
            var wanted = pieces.Sum(piece => (long)piece.Length);
            var fits = WritableBytes(offset, wanted);
            if (fits == 0)
                return Errno.ENOSPC;
            if (fits < wanted)
                pieces = Shortened(pieces, fits);
        }
        if (pieces.Count == 1)
        {
            var (pointer, length) = (pieces[0].Pointer, (long)pieces[0].Length);
            return offset < 0
                ? HostSyscall.Invoke(write ? HostSyscall.Write : HostSyscall.Read, descriptor, pointer, length)
                : HostSyscall.Invoke(write ? HostSyscall.Pwrite64 : HostSyscall.Pread64, descriptor, pointer, length, offset);
        }
        var vectors = new IoVector[pieces.Count];
        for (var index = 0; index < pieces.Count; index++)
            vectors[index] = new IoVector { Base = (ulong)pieces[index].Pointer, Length = pieces[index].Length };
        fixed (IoVector* pointer = vectors)
        {
            return offset < 0
                ? HostSyscall.Invoke(write ? HostSyscall.Writev : HostSyscall.Readv, descriptor, (long)pointer, vectors.Length)
                : HostSyscall.Invoke(write ? HostSyscall.Pwritev : HostSyscall.Preadv, descriptor, (long)pointer, vectors.Length, offset, 0);
        }
    }
}
