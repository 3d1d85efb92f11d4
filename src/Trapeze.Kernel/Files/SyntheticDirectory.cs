using System.Text;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Files;

/// <summary>One name in a directory Trapeze makes up: its inode and d_type (DT_DIR 4, DT_REG 8, DT_LNK 10).</summary>
public readonly record struct DirectoryEntry(string Name, ulong Inode, byte Type);

/// <summary>
/// A directory whose entries Trapeze lists itself (a /proc directory). getdents64 writes
/// linux_dirent64 records; the offset of an entry is its index, so lseek and rewinddir work.
/// </summary>
public sealed class SyntheticDirectory(string path, Func<IReadOnlyList<DirectoryEntry>> list, LinuxStat status) : OpenFile
{
    private const int HeaderSize = 19; // d_ino, d_off, d_reclen, d_type
    private IReadOnlyList<DirectoryEntry>? entries;
    private int next;

    /// <summary>The guest path of this directory, which names relative to it are joined to.</summary>
    public override string Path => path;

    public override Result Read(GuestMemory memory, GuestAddress buffer, ulong count) => Errno.EISDIR;
    public override Result Write(GuestMemory memory, GuestAddress buffer, ulong count) => Errno.EBADF;

    public override Result ReadDirectory(GuestMemory memory, GuestAddress buffer, ulong count)
    {
        entries ??= list();
        var output = new List<byte>();
        while (next < entries.Count)
        {
            var entry = entries[next];
            if (!AppendRecord(output, entry.Inode, next + 1, entry.Type, Encoding.UTF8.GetBytes(entry.Name), count))
                break;
            next++;
        }
        if (output.Count == 0 && next < entries.Count)
            return Errno.EINVAL;
        return memory.Write(buffer, output.ToArray()) is var fault and not Errno.None ? fault : output.Count;
    }

    /// <summary>Appends one linux_dirent64 record if it fits in <paramref name="limit"/> bytes of output.</summary>
    public static bool AppendRecord(List<byte> output, ulong inode, long offset, byte type, ReadOnlySpan<byte> name, ulong limit)
    {
        var length = (HeaderSize + name.Length + 1 + 7) & ~7;
        if ((ulong)(output.Count + length) > limit)
            return false;
        var record = new byte[length];
        BitConverter.TryWriteBytes(record.AsSpan(0), inode);
        BitConverter.TryWriteBytes(record.AsSpan(8), offset);
        BitConverter.TryWriteBytes(record.AsSpan(16), (ushort)length);
        record[18] = type;
        name.CopyTo(record.AsSpan(HeaderSize));
        output.AddRange(record);
        return true;
    }

    public override Result Seek(long offset, SeekWhence whence)
    {
        if (whence != SeekWhence.SEEK_SET || offset < 0 || offset > int.MaxValue)
            return Errno.EINVAL;
        if (offset == 0)
            entries = null; // rewinddir lists afresh, as Linux does
        next = (int)offset;
        return offset;
    }

    public override Result Status(out LinuxStat result)
    {
        result = status;
        return 0;
    }
}
