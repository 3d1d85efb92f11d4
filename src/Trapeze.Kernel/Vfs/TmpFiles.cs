using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// An open tmpfs directory. getdents64 lists ".", ".." and the entries in creation order; an
/// entry's offset is its sequence number, so a listing goes on correctly while names are removed
/// or added (a removed name is skipped, an added one comes last), and lseek returns to any offset.
/// </summary>
internal sealed class TmpDirectory(TmpNode directory, byte[] path) : OpenFile
{
    public const long FirstEntry = 3; // after "." (1) and ".." (2)
    private long position;

    public override string Path => System.Text.Encoding.UTF8.GetString(path);

    public override Result Read(GuestMemory memory, GuestAddress buffer, ulong count) => Errno.EISDIR;
    public override Result Write(GuestMemory memory, GuestAddress buffer, ulong count) => Errno.EBADF;

    public override Result ReadDirectory(GuestMemory memory, GuestAddress buffer, ulong count)
    {
        if (directory.LinkCount == 0)
            return 0; // removed while open: Linux lists nothing
        var output = new List<byte>();
        var full = false;
        if (position < 1)
            full = !Add(output, directory.Inode, 1, FileTypes.Directory, "."u8, count);
        if (!full && position < 2)
            full = !Add(output, directory.Parent!.Inode, 2, FileTypes.Directory, ".."u8, count);
        if (!full)
        {
            foreach (var entry in directory.EntriesAfter(position).ToList())
            {
                if (!Add(output, entry.Node.Inode, entry.Sequence, entry.Node.Mode, entry.Name, count))
                {
                    full = true;
                    break;
                }
            }
        }
        if (output.Count == 0 && full)
            return Errno.EINVAL;
        return memory.Write(buffer, output.ToArray()) is var fault and not Errno.None ? fault : output.Count;
    }

    private bool Add(List<byte> output, ulong inode, long offset, uint mode, ReadOnlySpan<byte> name, ulong limit)
    {
        if (!SyntheticDirectory.AppendRecord(output, inode, offset, FileTypes.DirectoryEntryType(mode), name, limit))
            return false;
        position = offset;
        return true;
    }

    public override Result Seek(long offset, SeekWhence whence)
    {
        if (whence == SeekWhence.SEEK_CUR && offset == 0)
            return position;
        if (whence != SeekWhence.SEEK_SET || offset < 0)
            return Errno.EINVAL;
        position = offset;
        return offset;
    }

    public override Result Status(out LinuxStat status) => directory.FileSystem.Status(directory, out status) is var error and not Errno.None ? error : 0;
}

/// <summary>An O_PATH descriptor of a tmpfs node: it names the node (for *at calls, fstat, /proc/PID/fd) and moves no data.</summary>
internal sealed class TmpPathFile(TmpNode node, byte[] path) : OpenFile
{
    public override string Path => System.Text.Encoding.UTF8.GetString(path);
    public override Result Read(GuestMemory memory, GuestAddress buffer, ulong count) => Errno.EBADF;
    public override Result Write(GuestMemory memory, GuestAddress buffer, ulong count) => Errno.EBADF;
    public override Result ReadDirectory(GuestMemory memory, GuestAddress buffer, ulong count) => Errno.EBADF;
    public override Result Status(out LinuxStat status) => node.FileSystem.Status(node, out status) is var error and not Errno.None ? error : 0;
}
