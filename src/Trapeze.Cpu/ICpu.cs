namespace Trapeze.Cpu;

/// <summary>Page protections as the guest asks for them; the CPU maps them to its own bits.</summary>
[Flags]
public enum MemoryProtection
{
    None = 0,
    Read = 1,
    Write = 2,
    Execute = 4,
}

/// <summary>Why <see cref="ICpu.Run"/> returned.</summary>
public enum CpuStopReason
{
    /// <summary>The kernel asked the CPU to stop (exit, exec, a blocking call, preemption).</summary>
    Requested,
    /// <summary>An access to unmapped memory or against page protections.</summary>
    MemoryFault,
    /// <summary>An instruction the CPU cannot decode or execute.</summary>
    InvalidInstruction,
    /// <summary>A CPU exception without a better classification (divide error, general protection...).</summary>
    Exception,
}

public readonly record struct CpuStop(CpuStopReason Reason, ulong FaultAddress = 0, bool FaultWasWrite = false, bool FaultWasUnmapped = false);

/// <summary>What the CPU calls back into when the guest asks for the kernel.</summary>
public interface ICpuEvents
{
    /// <summary>The guest executed <c>syscall</c>. The instruction pointer already points past it.</summary>
    void OnSyscall(ICpu cpu, ulong nextInstruction);

    /// <summary>The guest raised a software interrupt (<c>int 0x80</c>, ARM <c>swi</c>, SPARC <c>ta</c>).</summary>
    void OnInterrupt(ICpu cpu, int number);
}

/// <summary>
/// An emulated (or native) CPU running one guest address space. The kernel talks only to this;
/// nothing outside Trapeze.Cpu names the engine behind it.
/// </summary>
public interface ICpu : IDisposable
{
    ulong ReadRegister(X64Register register);
    void WriteRegister(X64Register register, ulong value);

    /// <summary>Reads several registers at once: one call into the engine on the syscall hot path.</summary>
    void ReadRegisters(ReadOnlySpan<X64Register> registers, Span<ulong> values)
    {
        for (var i = 0; i < registers.Length; i++)
            values[i] = ReadRegister(registers[i]);
    }

    /// <summary>Writes several registers at once.</summary>
    void WriteRegisters(ReadOnlySpan<X64Register> registers, ReadOnlySpan<ulong> values)
    {
        for (var i = 0; i < registers.Length; i++)
            WriteRegister(registers[i], values[i]);
    }

    /// <summary>Maps host memory the caller owns at a guest address. Both must be page aligned.</summary>
    void MapMemory(ulong guestAddress, ulong length, MemoryProtection protection, nint hostMemory);
    void UnmapMemory(ulong guestAddress, ulong length);
    void ProtectMemory(ulong guestAddress, ulong length, MemoryProtection protection);

    /// <summary>Runs guest code from the instruction pointer until stopped or faulted.</summary>
    CpuStop Run();

    /// <summary>Asks a running CPU to stop after the current instruction; safe from inside an event.</summary>
    void RequestStop();

    /// <summary>Drops translated code, e.g. after guest code pages change.</summary>
    void FlushTranslations();
}
