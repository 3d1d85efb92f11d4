using System.Text;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// An inode of a <see cref="TmpFs"/>: a directory (its entries in creation order), a regular file
/// (its bytes in a host memfd, so reads, writes, mmap and seals are the host kernel's), a symbolic
/// link, a device or a FIFO. The node is the inode itself: names are entries pointing at it.
/// </summary>
public sealed class TmpNode : Node
{
    private readonly TmpFs fileSystem;
    private readonly Dictionary<string, TmpEntry>? entries;
    private readonly SortedDictionary<long, TmpEntry>? order;
    private long nextSequence = TmpDirectory.FirstEntry;
    private int memory = -1;
    private uint mode;

    internal TmpNode(TmpFs fileSystem, uint mode, uint user, uint group, TmpNode? parent)
    {
        this.fileSystem = fileSystem;
        this.mode = mode;
        UserId = user;
        GroupId = group;
        Inode = fileSystem.NextInode();
        AccessTime = ModifyTime = ChangeTime = TmpFs.Now();
        if (IsDirectory)
        {
            entries = [];
            order = [];
            Parent = parent ?? this;
            LinkCount = 2;
        }
        else
        {
            LinkCount = 1;
        }
    }

    ~TmpNode()
    {
        if (memory >= 0)
            HostSyscall.Invoke(HostSyscall.Close, memory);
    }

    public override FileSystem FileSystem => fileSystem;
    public override uint Mode => mode;

    public ulong Inode { get; }

    /// <summary>A FIFO's pipe while any end of it is open (a new one once all ends closed, as Linux frees it).</summary>
    internal Files.Pipe? Fifo { get; set; }

    public uint UserId { get; internal set; }
    public uint GroupId { get; internal set; }
    public ulong LinkCount { get; internal set; }
    public ulong Device { get; init; }
    public byte[] Target { get; init; } = [];
    internal Timespec AccessTime, ModifyTime, ChangeTime;

    /// <summary>The directory holding this one ("..": itself at the root); null for other kinds.</summary>
    internal TmpNode? Parent { get; set; }

    /// <summary>Open files of this regular file (its pages stay counted until the last one closes).</summary>
    internal int Opens { get; set; }

    /// <summary>The host memfd holding a regular file's bytes (made on first use).</summary>
    internal int Memory
    {
        get
        {
            if (memory < 0)
            {
                memory = TmpFs.MakeMemory("tmpfs");
                fileSystem.Holds(this);
            }
            return memory;
        }
        init
        {
            memory = value;
            if (value >= 0)
                fileSystem.Holds(this);
        }
    }

    public uint Permissions => Mode & 0b111_111_111_111;
    public bool IsRegular => (Mode & FileTypes.Mask) == FileTypes.Regular;
    internal int EntryCount => entries?.Count ?? 0;

    public override bool SameAs(Node other) => ReferenceEquals(this, other);

    public override InodeKey Identity => new(fileSystem, 0, Inode);

    /// <summary>A tmpfs node holds nothing that a walk must release: the same object serves every holder.</summary>
    public override Node Clone() => this;

    internal void SetMode(uint newMode) => mode = newMode;

    internal TmpEntry? Find(byte[] name) => entries!.TryGetValue(Key(name), out var entry) ? entry : null;

    internal void AddEntry(byte[] name, TmpNode node)
    {
        var entry = new TmpEntry(name, node, nextSequence++);
        entries!.Add(Key(name), entry);
        order!.Add(entry.Sequence, entry);
        if (node.IsDirectory)
        {
            node.Parent = this;
            LinkCount++;
        }
        Touch();
    }

    internal TmpEntry RemoveEntry(byte[] name)
    {
        var key = Key(name);
        var entry = entries![key];
        entries.Remove(key);
        order!.Remove(entry.Sequence);
        if (entry.Node.IsDirectory)
            LinkCount--;
        Touch();
        return entry;
    }

    /// <summary>Entries after <paramref name="sequence"/> in creation order (getdents64's offsets).</summary>
    internal IEnumerable<TmpEntry> EntriesAfter(long sequence)
    {
        foreach (var (key, entry) in order!)
        {
            if (key > sequence)
                yield return entry;
        }
    }

    /// <summary>True when <paramref name="directory"/> is this directory or lies below it.</summary>
    internal bool Contains(TmpNode directory)
    {
        for (var cursor = directory; ; cursor = cursor.Parent!)
        {
            if (ReferenceEquals(cursor, this))
                return true;
            if (ReferenceEquals(cursor.Parent, cursor))
                return false;
        }
    }

    internal void Touch() => ModifyTime = ChangeTime = TmpFs.Now();

    // Latin-1 maps each byte to one char and back, so any name (UTF-8 or not) is its own key.
    private static string Key(byte[] name) => Encoding.Latin1.GetString(name);
}

/// <summary>A name in a tmpfs directory; the sequence orders a listing and is its getdents64 offset.</summary>
internal sealed record TmpEntry(byte[] Name, TmpNode Node, long Sequence);
