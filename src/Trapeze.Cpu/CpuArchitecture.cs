namespace Trapeze.Cpu;

/// <summary>The instruction sets a platform can run; each has its own register file.</summary>
public enum CpuArchitecture
{
    /// <summary>x86-64, long mode (<see cref="X64Register"/>).</summary>
    X86_64,

    /// <summary>x86 in 32-bit protected mode (<see cref="X64Register"/> names the low halves: Rax is EAX, Rip is EIP).</summary>
    I386,

    /// <summary>32-bit ARM, ARMv7-A with VFPv3/NEON, ARM and Thumb-2 states (<see cref="ArmRegister"/>).</summary>
    Arm,
}

/// <summary>ARM registers the kernel reads or writes, in the engine-neutral form.</summary>
public enum ArmRegister
{
    R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12,
    Sp, Lr, Pc,

    /// <summary>The program status register (the T bit, 1 &lt;&lt; 5, says Thumb state).</summary>
    Cpsr,

    /// <summary>TPIDRURO (c13, c0, 3): the user read-only thread pointer set_tls writes.</summary>
    Tls,

    /// <summary>The VFP status and control register.</summary>
    Fpscr,

    /// <summary>The callee-saved VFP registers (64 bits each), which a forked child must keep.</summary>
    D8, D9, D10, D11, D12, D13, D14, D15,
}

/// <summary>The x86 segment registers (selectors); only 32-bit code loads them from the GDT.</summary>
public enum X86Segment
{
    Es, Cs, Ss, Ds, Fs, Gs,
}
