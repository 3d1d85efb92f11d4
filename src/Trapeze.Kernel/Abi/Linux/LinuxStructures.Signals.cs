using System.Buffers.Binary;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Abi.Linux;

/// <summary>
/// The signal calls' structures (asm/signal.h, asm-generic/siginfo.h). The kernel keeps x86-64's
/// forms (a 32-byte struct sigaction of four 64-bit fields, siginfo with its union at 16); a 32-bit
/// guest's have word-sized handler, flags, restorer, stack fields and pointers, and siginfo's union at 12.
/// </summary>
public sealed partial class LinuxStructures
{
    private bool Narrow => Model.WordSize == 4;

    /// <summary>The kernel's struct sigaction (handler, flags, restorer, mask) from the guest's.</summary>
    public Errno ReadSignalAction(GuestMemory memory, GuestAddress address, Span<byte> kernel)
    {
        if (!Narrow)
            return memory.Read(address, kernel[..32]);
        Span<byte> bytes = stackalloc byte[20];
        if (memory.Read(address, bytes) is var fault and not Errno.None)
            return fault;
        kernel[..32].Clear();
        for (var i = 0; i < 3; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(kernel[(8 * i)..], BinaryPrimitives.ReadUInt32LittleEndian(bytes[(4 * i)..]));
        bytes[12..20].CopyTo(kernel[24..]);
        return Errno.None;
    }

    /// <summary>The kernel's struct sigaction in the guest's layout.</summary>
    public Errno WriteSignalAction(GuestMemory memory, GuestAddress address, ReadOnlySpan<byte> kernel)
    {
        if (!Narrow)
            return memory.Write(address, kernel[..32]);
        Span<byte> bytes = stackalloc byte[20];
        for (var i = 0; i < 3; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[(4 * i)..], (uint)BinaryPrimitives.ReadUInt64LittleEndian(kernel[(8 * i)..]));
        kernel[24..32].CopyTo(bytes[12..]);
        return memory.Write(address, bytes);
    }

    /// <summary>stack_t (sigaltstack, uc_stack): ss_sp, ss_flags, ss_size.</summary>
    public Errno ReadSignalStack(GuestMemory memory, GuestAddress address, out ulong stackBase, out int flags, out ulong size)
    {
        stackBase = size = 0;
        flags = 0;
        Span<byte> bytes = stackalloc byte[SignalStackSize];
        if (memory.Read(address, bytes) is var fault and not Errno.None)
            return fault;
        var word = Model.WordSize;
        stackBase = Word(bytes);
        flags = BinaryPrimitives.ReadInt32LittleEndian(bytes[word..]);
        size = Word(bytes[(2 * word)..]);
        return Errno.None;
    }

    public Errno WriteSignalStack(GuestMemory memory, GuestAddress address, ulong stackBase, int flags, ulong size)
    {
        Span<byte> bytes = stackalloc byte[SignalStackSize];
        SignalStack(bytes, stackBase, flags, size);
        return memory.Write(address, bytes);
    }

    /// <summary>Fills a stack_t in place (a signal frame's uc_stack).</summary>
    public void SignalStack(Span<byte> into, ulong stackBase, int flags, ulong size)
    {
        var word = Model.WordSize;
        into[..SignalStackSize].Clear();
        PutWord(into, stackBase);
        BinaryPrimitives.WriteInt32LittleEndian(into[word..], flags);
        PutWord(into[(2 * word)..], size);
    }

    public int SignalStackSize => 3 * Model.WordSize;

    /// <summary>A signal's siginfo as the guest reads it (128 bytes in every data model).</summary>
    public byte[] SignalInformation(SignalInfo info)
    {
        var wide = info.ToBytes();
        // rt_sigqueueinfo's bytes are the sender's own layout, kept as written.
        if (!Narrow || info.Raw is not null)
            return wide;
        var narrow = new byte[SignalInfo.Size];
        wide.AsSpan(0, 12).CopyTo(narrow);
        if (info.Address is { } address)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(narrow.AsSpan(12), (uint)address);
            return narrow;
        }
        // si_pid/si_timerid, si_uid/si_overrun, then si_value or si_status (a word on 32-bit).
        wide.AsSpan(16, 12).CopyTo(narrow.AsSpan(12));
        return narrow;
    }

    /// <summary>struct sigevent (timer_create): sigev_value, sigev_signo, sigev_notify, the thread id.</summary>
    public Errno ReadSignalEvent(GuestMemory memory, GuestAddress address, out ulong value, out int signal, out int notify, out int thread)
    {
        value = 0;
        signal = notify = thread = 0;
        Span<byte> bytes = stackalloc byte[Model.WordSize + 12];
        if (memory.Read(address, bytes) is var fault and not Errno.None)
            return fault;
        var word = Model.WordSize;
        value = Word(bytes);
        signal = BinaryPrimitives.ReadInt32LittleEndian(bytes[word..]);
        notify = BinaryPrimitives.ReadInt32LittleEndian(bytes[(word + 4)..]);
        thread = BinaryPrimitives.ReadInt32LittleEndian(bytes[(word + 8)..]);
        return Errno.None;
    }

    /// <summary>An array of C longs (struct itimerval is four).</summary>
    public Errno ReadLongs(GuestMemory memory, GuestAddress address, Span<long> values)
    {
        Span<byte> bytes = stackalloc byte[values.Length * Model.WordSize];
        if (memory.Read(address, bytes) is var fault and not Errno.None)
            return fault;
        for (var i = 0; i < values.Length; i++)
            values[i] = Narrow ? BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]) : BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]);
        return Errno.None;
    }

    public Errno WriteLongs(GuestMemory memory, GuestAddress address, ReadOnlySpan<long> values)
    {
        Span<byte> bytes = stackalloc byte[values.Length * Model.WordSize];
        for (var i = 0; i < values.Length; i++)
        {
            if (Narrow)
                BinaryPrimitives.WriteInt32LittleEndian(bytes[(4 * i)..], (int)values[i]);
            else
                BinaryPrimitives.WriteInt64LittleEndian(bytes[(8 * i)..], values[i]);
        }
        return memory.Write(address, bytes);
    }

    private ulong Word(ReadOnlySpan<byte> bytes) => Narrow ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes);

    private void PutWord(Span<byte> bytes, ulong value)
    {
        if (Narrow)
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)value);
        else
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
    }
}
