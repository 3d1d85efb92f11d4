using System.Runtime.InteropServices;

namespace Trapeze.Cpu.Unicorn;

/// <summary>
/// A 32-bit big-endian SPARC CPU (Unicorn's SPARC32, 8 register windows) in user mode. Software traps
/// (<c>ta N</c>) and the window overflow and underflow traps go to the kernel as interrupts (0x80 + N,
/// 5 and 6): the kernel, not this class, decides what a trap means and spills or fills windows.
/// </summary>
/// <remarks>
/// Unicorn's SPARC register API has the globals, the current window, Y and the PC only: no nPC, PSR or
/// WIM, and no other windows. Those are read and written in a saved context, which is a copy of QEMU's
/// CPUSPARCState; the constructor finds the copy in the context and checks the fields at both ends of
/// the part Trapeze touches (pc, npc, the window registers, nwindows) before trusting the layout.
/// </remarks>
public sealed unsafe class UnicornSparcCpu : UnicornCpu, ICpu
{
    // Unicorn's SPARC register ids (unicorn/sparc.h): g0-g7, o0-o7, l0-l7, i0-i7 (o6 is sp, i6 fp), y, pc.
    private const int G0 = 53, I0 = 61, L0 = 70, O0 = 78, Y = 86, Pc = 88;

    // CPUSPARCState (QEMU 5.0, sparc32) byte offsets.
    private const int StatePc = 40, StateNpc = 44, StateConditionOp = 64, StatePsr = 72, StateCwp = 208, StateWim = 212,
        StateFpuEnabled = 240, StateWindowBase = 248, StateWindowPointer = 32, StateWindowCount = 2332;
    private const uint ConditionCodes = 0x00f0_0000, FpuEnable = 1 << 12, FlagsKnown = 1; // PSR_ICC, PSR_EF, CC_OP_FLAGS

    // QEMU's SPARC trap types.
    private const uint InstructionAccess = 1, PrivilegedInstruction = 3, FpDisabled = 4, WindowOverflow = 5, WindowUnderflow = 6,
        Unaligned = 7, DataAccess = 9, DivisionByZero = 0x2a, SoftwareTrap = 0x80;

    private readonly UnicornContext scratch;
    private readonly int dataOffset;

    public UnicornSparcCpu(ICpuEvents events)
        : base(events, UnicornNative.ArchSparc, UnicornNative.ModeSparc32 | UnicornNative.ModeBigEndian)
    {
        Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookInterrupt, (nint)(delegate* unmanaged<nint, uint, nint, void>)&OnInterruptHook, UserData, 1, 0, 0), "hook interrupt");
        scratch = new UnicornContext(engine);
        dataOffset = FindState();
        // User mode as reset leaves it, with the FPU on (SunOS enables it on a program's first FP instruction).
        var state = Save();
        Word(state, StateFpuEnabled) = 1;
        Restore();
        RegisterWindows = (int)Word(Save(), StateWindowCount);
    }

    public override CpuArchitecture Architecture => CpuArchitecture.Sparc;

    private protected override void ReleaseResources() => scratch.Dispose();

    public int RegisterWindows { get; }

    /// <summary>Finds CPUSPARCState in a context by marks written through the API, or refuses a Unicorn whose layout differs.</summary>
    private int FindState()
    {
        const uint Mark = 0x5a5a_0001;
        WriteRegister(SparcRegister.G1, Mark);
        WriteRegister(SparcRegister.O0, Mark + 1);
        WriteRegister(SparcRegister.Pc, 0x1_0000);
        Check(UnicornNative.ContextSave(engine, scratch.Handle), "save context");
        var size = (int)UnicornNative.ContextSize(engine);
        var bytes = (byte*)scratch.Handle;
        for (var at = 8; at < 64; at += 4)
        {
            if (*(uint*)(bytes + at) != Mark)
                continue;
            var start = at - 4;
            var windows = *(uint*)(bytes + start + StateWindowCount);
            if (start + StateWindowCount + 4 <= size && *(uint*)(bytes + start + StatePc) == 0x1_0000 && *(uint*)(bytes + start + StateNpc) == 0x1_0004
                && *(uint*)(bytes + start + StateWindowBase) == Mark + 1 && windows is >= 2 and <= 32)
            {
                WriteRegister(SparcRegister.G1, 0);
                WriteRegister(SparcRegister.O0, 0);
                return start;
            }
        }
        throw new CpuException("this Unicorn's SPARC CPU state is not laid out as Trapeze expects (QEMU 5's CPUSPARCState)");
    }

    private byte* Save()
    {
        Check(UnicornNative.ContextSave(engine, scratch.Handle), "save context");
        return (byte*)scratch.Handle + dataOffset;
    }

    private void Restore() => Check(UnicornNative.ContextRestore(engine, scratch.Handle), "restore context");

    private static ref uint Word(byte* state, int offset) => ref *(uint*)(state + offset);

    private static int IdOf(SparcRegister register) => register switch
    {
        <= SparcRegister.G7 => G0 + (int)register,
        <= SparcRegister.O7 => O0 + (register - SparcRegister.O0),
        <= SparcRegister.L7 => L0 + (register - SparcRegister.L0),
        <= SparcRegister.I7 => I0 + (register - SparcRegister.I0),
        SparcRegister.Pc => Pc,
        SparcRegister.Y => Y,
        _ => -1,
    };

    public ulong ReadRegister(SparcRegister register)
    {
        if (IdOf(register) is var id and >= 0)
        {
            ulong value = 0;
            UnicornNative.RegisterRead(engine, id, &value);
            return (uint)value;
        }
        var state = Save();
        return register switch
        {
            SparcRegister.Npc => Word(state, StateNpc),
            SparcRegister.Wim => Word(state, StateWim),
            // The condition codes are in the PSR word only once QEMU has computed them (CC_OP_FLAGS).
            _ => (Word(state, StateConditionOp) == FlagsKnown ? Word(state, StatePsr) & ConditionCodes : 0)
                | (Word(state, StateFpuEnabled) != 0 ? FpuEnable : 0) | Word(state, StateCwp),
        };
    }

    // A PC write through the API sets nPC to PC + 4 and ends the translation block: the engine goes on there.
    public void WriteRegister(SparcRegister register, ulong value)
    {
        if (IdOf(register) is var id and >= 0)
        {
            var word = (ulong)(uint)value;
            UnicornNative.RegisterWrite(engine, id, &word);
            return;
        }
        var state = Save();
        switch (register)
        {
            case SparcRegister.Npc:
                Word(state, StateNpc) = (uint)value;
                break;
            case SparcRegister.Wim:
                Word(state, StateWim) = (uint)value & ((1u << RegisterWindows) - 1);
                break;
            default:
                Word(state, StatePsr) = (uint)value & ConditionCodes;
                Word(state, StateConditionOp) = FlagsKnown;
                Word(state, StateFpuEnabled) = (value & FpuEnable) != 0 ? 1u : 0;
                SetWindow(state, (int)(value & 0x1f) % RegisterWindows);
                break;
        }
        Restore();
    }

    /// <summary>QEMU's cpu_set_cwp: the current window's ins past the last window live in 8 extra registers.</summary>
    private void SetWindow(byte* state, int window)
    {
        var current = (int)Word(state, StateCwp);
        if (current == window)
            return;
        var registers = (uint*)(state + StateWindowBase);
        var wrap = RegisterWindows * 16;
        if (current == RegisterWindows - 1)
            new Span<uint>(registers + wrap, 8).CopyTo(new Span<uint>(registers, 8));
        if (window == RegisterWindows - 1)
            new Span<uint>(registers, 8).CopyTo(new Span<uint>(registers + wrap, 8));
        var pointer = (nint*)(state + StateWindowPointer);
        *pointer += (window - current) * 16 * sizeof(uint);
        Word(state, StateCwp) = (uint)window;
    }

    /// <summary>Where register <paramref name="index"/> of a window lives now (a wrapped one: in the copy the current window uses).</summary>
    private int Slot(byte* state, int window, int index)
    {
        var wrap = RegisterWindows * 16;
        var slot = (window * 16 + index) % wrap;
        return slot < 8 && Word(state, StateCwp) == RegisterWindows - 1 ? slot + wrap : slot;
    }

    public void ReadWindow(int window, Span<uint> values)
    {
        var state = Save();
        var registers = (uint*)(state + StateWindowBase);
        for (var index = 0; index < values.Length && index < 24; index++)
            values[index] = registers[Slot(state, window, index)];
    }

    public void WriteWindow(int window, int first, ReadOnlySpan<uint> values)
    {
        var state = Save();
        var registers = (uint*)(state + StateWindowBase);
        var wrap = RegisterWindows * 16;
        for (var index = 0; index < values.Length && first + index < 24; index++)
        {
            // Both copies of a wrapped register: whichever window is current later reads the right one.
            var slot = (window * 16 + first + index) % wrap;
            registers[slot] = values[index];
            if (slot < 8)
                registers[slot + wrap] = values[index];
        }
        Restore();
    }

    private protected override ulong StartAddress => ReadRegister(SparcRegister.Pc);

    private protected override ulong ProgramCounter => ReadRegister(SparcRegister.Pc);

    private static UnicornSparcCpu From(nint userData) => From<UnicornSparcCpu>(userData);

    /// <summary>
    /// A trap. The engine leaves the PC at the trapping instruction: a software trap is past it when the
    /// kernel sees it (as after x86's int N), a window trap runs its save or restore again once handled.
    /// </summary>
    [UnmanagedCallersOnly]
    private static void OnInterruptHook(nint engine, uint number, nint userData)
    {
        var cpu = From(userData);
        try
        {
            var state = cpu.Save();
            var pc = Word(state, StatePc);
            if (number >= SoftwareTrap)
            {
                Word(state, StatePc) = Word(state, StateNpc);
                Word(state, StateNpc) += 4;
                cpu.Restore();
            }
            if (number is >= SoftwareTrap or WindowOverflow or WindowUnderflow && cpu.events.OnInterrupt(cpu, (int)number))
                return;
            cpu.fault ??= number switch
            {
                InstructionAccess or DataAccess or Unaligned => new CpuEvent(CpuEventKind.MemoryFault, pc, pc, Unmapped: true),
                PrivilegedInstruction => new CpuEvent(CpuEventKind.GeneralProtection, pc),
                FpDisabled => new CpuEvent(CpuEventKind.InvalidInstruction, pc),
                // The vector the kernel knows a divide error by (x86's #DE).
                DivisionByZero => new CpuEvent(CpuEventKind.Interrupt, pc, Number: 0),
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
