using System.Runtime.InteropServices;
using System.Text;
using Trapeze.Cpu;

namespace Trapeze.Kernel.Memory;

/// <summary>A contiguous piece of guest memory as the host sees it.</summary>
public readonly record struct HostSegment(nint Pointer, ulong Length);

/// <summary>
/// The one way the kernel touches guest memory. A bad pointer (unmapped, or without the needed
/// protection) gives EFAULT, as copy_from_user / copy_to_user do; it never faults the host.
/// </summary>
public sealed unsafe class GuestMemory(AddressSpace space)
{
    public const int PathMax = 4096;

    public AddressSpace Space => space;

    /// <summary>Told of every range a system call writes (record mode keeps those bytes); null otherwise.</summary>
    public IGuestWriteObserver? WriteObserver { get; set; }

    /// <summary>Collects the host pieces behind [address, address+length), checking access.</summary>
    public Errno GetSegments(GuestAddress address, ulong length, bool write, List<HostSegment> segments)
    {
        var cursor = address.Value;
        var end = cursor + length;
        if (end < cursor)
            return Errno.EFAULT;
        var need = write ? MemoryProtection.Write : MemoryProtection.Read;
        if (write)
            WriteObserver?.Wrote(address.Value, length);
        while (cursor < end)
        {
            var mapping = space.Find(cursor);
            if (mapping is null || (mapping.Protection & need) == 0)
                return Errno.EFAULT;
            var piece = Math.Min(end, mapping.End) - cursor;
            segments.Add(new HostSegment(mapping.Host + (nint)(cursor - mapping.Start), piece));
            cursor += piece;
        }
        return Errno.None;
    }

    /// <summary>The host address behind one guest address (futex keys: the same word in two processes has one host address).</summary>
    public Errno HostAddress(GuestAddress address, out nint host)
    {
        var mapping = space.Find(address.Value);
        host = mapping is null ? 0 : mapping.Host + (nint)(address.Value - mapping.Start);
        return mapping is null || (mapping.Protection & MemoryProtection.Read) == 0 ? Errno.EFAULT : Errno.None;
    }

    /// <summary>
    /// How much of [address, address+length) is accessible from its start: where a transfer of
    /// that length would fault. read(2) and write(2) move data up to that point, as Linux does.
    /// </summary>
    public ulong AccessibleLength(GuestAddress address, ulong length, bool write)
    {
        var need = write ? MemoryProtection.Write : MemoryProtection.Read;
        var cursor = address.Value;
        var end = ulong.MaxValue - cursor < length ? ulong.MaxValue : cursor + length;
        while (cursor < end && space.Find(cursor) is { } mapping && (mapping.Protection & need) != 0)
            cursor = Math.Min(end, mapping.End);
        return cursor - address.Value;
    }

    /// <summary>Writes as much of <paramref name="source"/> as is writable, as copy_to_user does; the count written.</summary>
    public int WritePrefix(GuestAddress address, ReadOnlySpan<byte> source)
    {
        var count = (int)AccessibleLength(address, (ulong)source.Length, write: true);
        Write(address, source[..count]);
        return count;
    }

    /// <summary>ptrace's peek: mapped bytes whatever their protection (a debugger reads code and guard pages); the count read.</summary>
    public int Peek(GuestAddress address, Span<byte> destination) => Transfer(address.Value, destination, write: false);

    /// <summary>ptrace's poke: writes mapped bytes whatever their protection; the count written.</summary>
    public int Poke(GuestAddress address, ReadOnlySpan<byte> source)
    {
        var copy = source.ToArray();
        return Transfer(address.Value, copy, write: true);
    }

    private int Transfer(ulong address, Span<byte> bytes, bool write)
    {
        var done = 0;
        while (done < bytes.Length)
        {
            var cursor = address + (ulong)done;
            if (space.Find(cursor) is not { } mapping)
                break;
            var count = (int)Math.Min((ulong)(bytes.Length - done), mapping.End - cursor);
            var host = new Span<byte>((void*)(mapping.Host + (nint)(cursor - mapping.Start)), count);
            if (write)
                bytes.Slice(done, count).CopyTo(host);
            else
                host.CopyTo(bytes.Slice(done, count));
            done += count;
        }
        return done;
    }

    public Errno Read(GuestAddress address, Span<byte> destination)
    {
        var cursor = address.Value;
        while (!destination.IsEmpty)
        {
            if (!TrySpan(cursor, MemoryProtection.Read, out var source))
                return Errno.EFAULT;
            var count = Math.Min(source.Length, destination.Length);
            source[..count].CopyTo(destination);
            destination = destination[count..];
            cursor += (ulong)count;
        }
        return Errno.None;
    }

    public Errno Write(GuestAddress address, ReadOnlySpan<byte> source)
    {
        var cursor = address.Value;
        WriteObserver?.Wrote(cursor, (ulong)source.Length);
        while (!source.IsEmpty)
        {
            if (!TrySpan(cursor, MemoryProtection.Write, out var destination))
                return Errno.EFAULT;
            var count = Math.Min(source.Length, destination.Length);
            source[..count].CopyTo(destination);
            source = source[count..];
            cursor += (ulong)count;
        }
        return Errno.None;
    }

    /// <summary>
    /// The guest CPU's byte order is big-endian (SPARC): integers read and written one at a time are
    /// swapped; structures go through their <see cref="Abi.GuestLayout"/>, which knows their fields.
    /// </summary>
    public bool BigEndian { get; init; }

    private static bool IsInteger<T>() => typeof(T) == typeof(int) || typeof(T) == typeof(uint) || typeof(T) == typeof(long)
        || typeof(T) == typeof(ulong) || typeof(T) == typeof(short) || typeof(T) == typeof(ushort);

    public Errno Read<T>(GuestAddress address, out T value) where T : unmanaged
    {
        value = default;
        var bytes = MemoryMarshal.AsBytes(new Span<T>(ref value));
        var error = Read(address, bytes);
        if (BigEndian && IsInteger<T>())
            bytes.Reverse();
        return error;
    }

    public Errno Write<T>(GuestAddress address, in T value) where T : unmanaged
    {
        if (!BigEndian || !IsInteger<T>())
            return Write(address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));
        var copy = value;
        var bytes = MemoryMarshal.AsBytes(new Span<T>(ref copy));
        bytes.Reverse();
        return Write(address, bytes);
    }

    /// <summary>Reads a NUL-terminated string of at most <paramref name="maximum"/> bytes (ENAMETOOLONG past it).</summary>
    public Errno ReadCString(CString pointer, out string value, int maximum = PathMax)
    {
        var error = ReadCStringBytes(pointer, out var bytes, maximum);
        value = error == Errno.None ? GuestText.Decode(bytes) : "";
        return error;
    }

    /// <summary>
    /// Reads a NUL-terminated string as the bytes it is (paths: any byte but NUL, not necessarily
    /// UTF-8), at most <paramref name="maximum"/> bytes with the NUL (ENAMETOOLONG past it).
    /// </summary>
    public Errno ReadCStringBytes(CString pointer, out byte[] value, int maximum = PathMax)
    {
        value = [];
        var bytes = new List<byte>(64);
        var cursor = pointer.Value;
        while (true)
        {
            if (!TrySpan(cursor, MemoryProtection.Read, out var span))
                return Errno.EFAULT;
            var terminator = span.IndexOf((byte)0);
            var take = terminator >= 0 ? terminator : span.Length;
            if (bytes.Count + take >= maximum)
                return Errno.ENAMETOOLONG;
            foreach (var b in span[..take])
                bytes.Add(b);
            if (terminator >= 0)
                break;
            cursor += (ulong)take;
        }
        value = bytes.ToArray();
        return Errno.None;
    }

    /// <summary>Reads a NULL-terminated array of string pointers (argv, envp) of <paramref name="pointerSize"/> bytes each.</summary>
    public Errno ReadStringArray(GuestAddress array, out List<string> values, int maximumCount = 0x20000, int pointerSize = 8)
    {
        values = [];
        for (var index = 0; index < maximumCount; index++)
        {
            ulong pointer;
            if (pointerSize == 4)
            {
                if (Read(array + (ulong)(index * 4), out uint word) is not Errno.None)
                    return Errno.EFAULT;
                pointer = word;
            }
            else if (Read(array + (ulong)(index * 8), out pointer) is not Errno.None)
            {
                return Errno.EFAULT;
            }
            if (pointer == 0)
                return Errno.None;
            if (ReadCString(new CString(pointer), out var text, 128 * 1024) is var error and not Errno.None)
                return error;
            values.Add(text);
        }
        return Errno.E2BIG;
    }

    /// <summary>Host view from <paramref name="address"/> to the end of its mapping, if accessible.</summary>
    private bool TrySpan(ulong address, MemoryProtection need, out Span<byte> span)
    {
        var mapping = space.Find(address);
        if (mapping is null || (mapping.Protection & need) == 0)
        {
            span = default;
            return false;
        }
        var offset = address - mapping.Start;
        span = new Span<byte>((void*)(mapping.Host + (nint)offset), checked((int)Math.Min(mapping.End - address, int.MaxValue)));
        return true;
    }

    /// <summary>Writes bytes during loading regardless of page protection (the loader fills read-only text).</summary>
    internal void Poke(ulong address, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            var mapping = space.Find(address) ?? throw new InvalidOperationException($"poke into unmapped 0x{address:x}");
            var offset = address - mapping.Start;
            var count = (int)Math.Min((ulong)source.Length, mapping.End - address);
            source[..count].CopyTo(new Span<byte>((void*)(mapping.Host + (nint)offset), count));
            source = source[count..];
            address += (ulong)count;
        }
    }
}

/// <summary>Sees the guest memory a system call writes: where and how much (the bytes are read afterwards).</summary>
public interface IGuestWriteObserver
{
    void Wrote(ulong address, ulong length);
}

/// <summary>Byte copies over the host pieces of guest buffers (readv/writev on Trapeze's own files).</summary>
public static unsafe class HostSegments
{
    public static Span<byte> Span(HostSegment segment, int length) => new((void*)segment.Pointer, length);

    /// <summary>Copies the bytes at <paramref name="offset"/> of the pieces laid end to end into <paramref name="into"/>.</summary>
    public static void Gather(List<HostSegment> segments, int offset, Span<byte> into)
    {
        foreach (var segment in segments)
        {
            if (into.IsEmpty)
                return;
            if ((ulong)offset >= segment.Length)
            {
                offset -= (int)Math.Min(segment.Length, int.MaxValue);
                continue;
            }
            var piece = (int)Math.Min(segment.Length - (ulong)offset, (ulong)into.Length);
            new Span<byte>((void*)(segment.Pointer + offset), piece).CopyTo(into);
            into = into[piece..];
            offset = 0;
        }
    }
}
