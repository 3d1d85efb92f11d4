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

    /// <summary>32-bit SPARC (V7's user instruction set, big-endian) with register windows (<see cref="SparcRegister"/>).</summary>
    Sparc,
}

/// <summary>
/// SPARC registers: the globals, the current window's outs, locals and ins, the program counter and
/// the next one (delay slots), the processor state register (icc, EF, CWP) and the window invalid mask.
/// </summary>
public enum SparcRegister
{
    G0, G1, G2, G3, G4, G5, G6, G7,
    O0, O1, O2, O3, O4, O5, O6, O7,
    L0, L1, L2, L3, L4, L5, L6, L7,
    I0, I1, I2, I3, I4, I5, I6, I7,
    Pc, Npc, Y,

    /// <summary>icc (N Z V C, bits 23-20), EF (bit 12) and CWP (bits 4-0); a write changes only these.</summary>
    Psr,

    /// <summary>The window invalid mask: a save or restore into a window whose bit is set traps.</summary>
    Wim,
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
