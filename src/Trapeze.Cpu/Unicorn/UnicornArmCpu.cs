using System.Runtime.InteropServices;

namespace Trapeze.Cpu.Unicorn;

/// <summary>
/// A 32-bit ARM CPU (Unicorn's default model, a Cortex-A15: ARMv7-A with VFPv4/NEON and Thumb-2) in
/// user mode. <c>svc</c> is the syscall instruction; the other exceptions become CPU events.
/// </summary>
public sealed unsafe class UnicornArmCpu : UnicornCpu, ICpu
{
    // Unicorn's ARM register ids (unicorn/arm.h), indexed by ArmRegister: r0-r12, sp lr pc, cpsr,
    // c13_c0_3 (TPIDRURO), fpscr, d8-d15.
    private static readonly int[] RegisterIds = [66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 12, 10, 11, 3, 113, 6, 22, 23, 24, 25, 26, 27, 28, 29];

    private const int Fpexc = 4, CoprocessorRegister = 139; // UC_ARM_REG_FPEXC, UC_ARM_REG_CP_REG
    private const uint ThumbBit = 1 << 5;

    // QEMU's ARM exception numbers, as Unicorn hands them to the interrupt hook.
    private const uint UndefinedInstruction = 1, SupervisorCall = 2, PrefetchAbort = 3, DataAbort = 4, Breakpoint = 7;

    public UnicornArmCpu(ICpuEvents events)
        : base(events, UnicornNative.ArchArm, UnicornNative.ModeArm)
    {
        Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookInterrupt, (nint)(delegate* unmanaged<nint, uint, nint, void>)&OnInterruptHook, UserData, 1, 0, 0), "hook interrupt");
        StartInUserMode();
    }

    public override CpuArchitecture Architecture => CpuArchitecture.Arm;

    /// <summary>
    /// The state Linux starts a process in: user mode, ARM state, and the VFP/NEON unit on (CPACR
    /// grants cp10 and cp11, FPEXC.EN set), which Unicorn's reset state leaves off.
    /// </summary>
    private void StartInUserMode()
    {
        // uc_arm_cp_reg {cp, is64, sec, crn, crm, opc1, opc2; u64 val}: CPACR is p15, c1, c0, 2.
        // (Unicorn 2.1 refuses the older UC_ARM_REG_C1_C0_2 name.)
        var access = stackalloc uint[10];
        access[0] = 15;
        access[3] = 1;
        access[6] = 2;
        *(ulong*)(access + 8) = 0xf << 20; // cp10 and cp11: full access
        Check(UnicornNative.RegisterWrite(engine, CoprocessorRegister, (ulong*)access), "write cpacr");
        ulong value = 1 << 30;
        Check(UnicornNative.RegisterWrite(engine, Fpexc, &value), "write fpexc");
        value = 0x10;
        Check(UnicornNative.RegisterWrite(engine, RegisterIds[(int)ArmRegister.Cpsr], &value), "write cpsr");
    }

    public ulong ReadRegister(ArmRegister register)
    {
        ulong value = 0;
        UnicornNative.RegisterRead(engine, RegisterIds[(int)register], &value);
        return register >= ArmRegister.D8 ? value : (uint)value;
    }

    // Unicorn takes bit 0 of a PC write as the state to run in (Thumb when set), as bx does; a CPSR
    // write cannot change the T bit.
    public void WriteRegister(ArmRegister register, ulong value)
        => UnicornNative.RegisterWrite(engine, RegisterIds[(int)register], &value);

    public void ReadRegisters(ReadOnlySpan<ArmRegister> registers, Span<ulong> values)
    {
        const int most = 16;
        if (registers.Length > most || values.Length < registers.Length)
            throw new ArgumentException($"at most {most} registers, and a value slot for each");
        var ids = stackalloc int[most];
        var slots = stackalloc void*[most];
        fixed (ulong* first = values)
        {
            for (var i = 0; i < registers.Length; i++)
            {
                ids[i] = RegisterIds[(int)registers[i]];
                first[i] = 0; // Unicorn stores 32 bits
                slots[i] = first + i;
            }
            UnicornNative.RegisterReadBatch(engine, ids, slots, registers.Length);
        }
    }

    private const int D0 = 14, Fpscr = 6; // UC_ARM_REG_D0, UC_ARM_REG_FPSCR

    /// <summary>The VFP state as Linux's struct user_vfp holds it: d0-d31, then fpscr (a signal frame's VFP block).</summary>
    public void SaveFloatingPoint(Span<byte> state)
    {
        state[..260].Clear();
        ulong value = 0;
        for (var i = 0; i < 32; i++)
        {
            UnicornNative.RegisterRead(engine, D0 + i, &value);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(state[(8 * i)..], value);
        }
        value = 0;
        UnicornNative.RegisterRead(engine, Fpscr, &value);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(state[256..], (uint)value);
    }

    public void RestoreFloatingPoint(ReadOnlySpan<byte> state)
    {
        for (var i = 0; i < 32; i++)
        {
            var value = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(state[(8 * i)..]);
            UnicornNative.RegisterWrite(engine, D0 + i, &value);
        }
        ulong status = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(state[256..]);
        UnicornNative.RegisterWrite(engine, Fpscr, &status);
    }

    // uc_emu_start takes the state from the address: bit 0 set runs Thumb code.
    private protected override ulong StartAddress => ReadRegister(ArmRegister.Pc) | ((ReadRegister(ArmRegister.Cpsr) & ThumbBit) != 0 ? 1UL : 0);

    private protected override ulong ProgramCounter => ReadRegister(ArmRegister.Pc);

    private static UnicornArmCpu From(nint userData) => From<UnicornArmCpu>(userData);

    /// <summary>
    /// svc is the system call (the PC is already past it); an undefined instruction, an abort or bkpt
    /// ends the run (bkpt as interrupt 3, the number the kernel knows breakpoints by).
    /// </summary>
    [UnmanagedCallersOnly]
    private static void OnInterruptHook(nint engine, uint number, nint userData)
    {
        var cpu = From(userData);
        try
        {
            if (number == SupervisorCall)
            {
                cpu.events.OnSyscall(cpu, cpu.ReadRegister(ArmRegister.Pc));
                return;
            }
            if (cpu.events.OnInterrupt(cpu, (int)number))
                return;
            var pc = cpu.ReadRegister(ArmRegister.Pc);
            cpu.fault ??= number switch
            {
                UndefinedInstruction => new CpuEvent(CpuEventKind.InvalidInstruction, pc),
                PrefetchAbort or DataAbort => new CpuEvent(CpuEventKind.MemoryFault, pc, pc, Unmapped: true),
                Breakpoint => new CpuEvent(CpuEventKind.Interrupt, pc, Number: 3),
                _ => new CpuEvent(CpuEventKind.Interrupt, pc, Number: (int)number),
            };
            cpu.RequestStop();
        }
        catch (Exception exception)
        {
            cpu.Fail(exception);
        }
    }
}
