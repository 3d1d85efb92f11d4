using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Files;

/// <summary>
/// A read-only file whose text Trapeze generates (a /proc file). Like Linux's seq_file, the text
/// is produced afresh whenever a read starts at offset 0, so a program that rereads from the
/// start sees the current state, and one reading in pieces sees one consistent snapshot.
/// </summary>
public sealed unsafe class GeneratedFile(string path, Func<byte[]> generate, LinuxStat status, OpenFlags flags) : OpenFile
{
    private byte[] content = [];
    private long position;

    public override string Path => path;

    public override Result Read(GuestMemory memory, GuestAddress buffer, ulong count)
    {
        var result = ReadAt(memory, buffer, count, position);
        if (!result.IsError)
            position += result.Raw;
        return result;
    }

    public Result ReadAt(GuestMemory memory, GuestAddress buffer, ulong count, long offset)
    {
        if ((flags & OpenFlags.O_PATH) != 0 || (flags & OpenFlags.O_WRONLY) != 0)
            return Errno.EBADF;
        if (offset < 0)
            return Errno.EINVAL;
        var available = Snapshot(offset);
        var length = (int)Math.Min(count, (ulong)available.Length);
        if (length == 0)
            return 0;
        // As copy_to_user: bytes up to the first faulting page, EFAULT only when none fit.
        var written = memory.WritePrefix(buffer, available[..length]);
        return written == 0 ? Errno.EFAULT : written;
    }

    public override Result ReadVector(List<HostSegment> segments, long offset)
    {
        var start = offset < 0 ? position : offset;
        var available = Snapshot(start);
        var done = 0;
        foreach (var segment in segments)
        {
            var count = (int)Math.Min(segment.Length, (ulong)(available.Length - done));
            available.Slice(done, count).CopyTo(new Span<byte>((void*)segment.Pointer, count));
            done += count;
        }
        if (offset < 0)
            position += done;
        return done;
    }

    /// <summary>Generated files have no write operation: EINVAL if opened for writing (root may), else EBADF.</summary>
    public override Result Write(GuestMemory memory, GuestAddress buffer, ulong count)
        => (flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) != 0 ? Errno.EINVAL : Errno.EBADF;

    public override Result Seek(long offset, SeekWhence whence)
    {
        var target = whence switch
        {
            SeekWhence.SEEK_SET => offset,
            SeekWhence.SEEK_CUR => position + offset,
            _ => -1,
        };
        if (target < 0)
            return Errno.EINVAL;
        position = target;
        return target;
    }

    public override Result Status(out LinuxStat result)
    {
        result = status;
        return 0;
    }

    private ReadOnlySpan<byte> Snapshot(long offset)
    {
        if (offset == 0)
            content = generate();
        return offset >= content.Length ? [] : content.AsSpan((int)offset);
    }
}
