using System.Buffers.Binary;
using System.Text;
using Trapeze.Kernel;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;

namespace Trapeze.Trace;

/// <summary>The structures of waiting for descriptors, as strace prints them: pollfd, fd_set, epoll_event, itimerspec.</summary>
internal static class PollFormatter
{
    private const int MaximumShown = 32; // strace's default -s for arrays is larger; this keeps a line readable

    /// <summary>[{fd=3, events=POLLIN}, ...]</summary>
    public static string? PollDescriptors(GuestMemory memory, ulong address, long count, EnumFormatter enums)
    {
        if (count < 0)
            return null;
        var shown = (int)Math.Min(count, MaximumShown);
        var bytes = new byte[shown * 8];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return null;
        var text = new StringBuilder("[");
        for (var i = 0; i < shown; i++)
        {
            var fd = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 8));
            var events = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 8 + 4));
            // The kernel ignores an entry with a negative descriptor, and strace shows only that descriptor.
            text.Append(i > 0 ? ", " : "").Append(fd < 0 ? $"{{fd={fd}}}" : $"{{fd={fd}, events={enums.Format(typeof(PollEvents), events)}}}");
        }
        return text.Append(count > shown ? ", ...]" : "]").ToString();
    }

    /// <summary>What poll answered, after its result: [{fd=5, revents=POLLIN}, ...], the entries with events only.</summary>
    public static string? PollAnswers(GuestMemory memory, ulong address, long count, EnumFormatter enums)
    {
        if (count < 0 || count > 1 << 16)
            return null;
        var bytes = new byte[count * 8];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return null;
        var answers = new List<string>();
        for (var i = 0; i < count && answers.Count < MaximumShown; i++)
        {
            var returned = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 8 + 6));
            if (returned != 0)
                answers.Add($"{{fd={BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 8))}, revents={enums.Format(typeof(PollEvents), returned)}}}");
        }
        return $"[{string.Join(", ", answers)}]";
    }

    /// <summary>What select answered, after its result: "in [5 7], out [6]", the non-empty sets only.</summary>
    public static string? SelectAnswers(GuestMemory memory, long count, ulong read, ulong write, ulong except)
    {
        var sets = new List<string>();
        foreach (var (name, address) in new[] { ("in", read), ("out", write), ("except", except) })
        {
            if (address == 0)
                continue;
            if (FdSet(memory, address, count) is not { } set)
                return null;
            if (set != "[]")
                sets.Add($"{name} {set}");
        }
        return string.Join(", ", sets);
    }

    /// <summary>[3 4]: the descriptors below <paramref name="count"/> whose bits are set.</summary>
    public static string? FdSet(GuestMemory memory, ulong address, long count)
    {
        if (count < 0 || count > 1 << 20)
            return null;
        var bytes = new byte[(count + 7) / 8];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return null;
        var set = Enumerable.Range(0, (int)count).Where(fd => (bytes[fd / 8] & (1 << (fd % 8))) != 0);
        return $"[{string.Join(' ', set)}]";
    }

    /// <summary>{events=EPOLLIN|EPOLLET, data={u32=5, u64=5}}</summary>
    public static string? EpollEvent(GuestMemory memory, ulong address, EnumFormatter enums)
    {
        var bytes = new byte[12];
        return memory.Read(new GuestAddress(address), bytes) == Errno.None ? Event(bytes, enums) : null;
    }

    /// <summary>epoll_wait's answers: [{events=EPOLLIN, data={u32=5, u64=5}}, ...]</summary>
    public static string? EpollEvents(GuestMemory memory, ulong address, long count, EnumFormatter enums)
    {
        if (count < 0)
            return null;
        var shown = (int)Math.Min(count, MaximumShown);
        var bytes = new byte[shown * 12];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return null;
        var events = Enumerable.Range(0, shown).Select(i => Event(bytes.AsSpan(i * 12, 12), enums));
        return $"[{string.Join(", ", events)}{(count > shown ? ", ..." : "")}]";
    }

    private static string Event(ReadOnlySpan<byte> bytes, EnumFormatter enums)
    {
        var events = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        var data = BinaryPrimitives.ReadUInt64LittleEndian(bytes[4..]);
        return $"{{events={enums.Format(typeof(EpollEvents), events)}, data={{u32={(uint)data}, u64={data}}}}}";
    }

    /// <summary>{it_interval={tv_sec=0, tv_nsec=0}, it_value={tv_sec=1, tv_nsec=0}}</summary>
    public static string? IntervalTimer(GuestMemory memory, ulong address)
    {
        Span<long> words = stackalloc long[4];
        if (memory.Read(new GuestAddress(address), System.Runtime.InteropServices.MemoryMarshal.AsBytes(words)) != Errno.None)
            return null;
        return $"{{it_interval={{tv_sec={words[0]}, tv_nsec={words[1]}}}, it_value={{tv_sec={words[2]}, tv_nsec={words[3]}}}}}";
    }
}
