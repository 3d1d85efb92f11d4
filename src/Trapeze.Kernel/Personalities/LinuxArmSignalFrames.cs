using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// ARM EABI signal frames (arch/arm/kernel/signal.c): struct sigframe {ucontext; retcode[4]} for
/// handlers without SA_SIGINFO, struct rt_sigframe {siginfo; sigframe} with it. The ucontext holds
/// uc_flags, uc_link, uc_stack, the sigcontext (trap_no, error_code, oldmask, r0-r10, fp, ip, sp, lr,
/// pc, cpsr, fault_address), uc_sigmask, and uc_regspace with the VFP block (magic, size, d0-d31,
/// fpscr, fpexc...) and a zero end marker.
/// </summary>
internal sealed class LinuxArmSignalFrames : ISignalFrames
{
    private const int ContextSize = 744, SigcontextAt = 20, MaskAt = 104, RegisterSpaceAt = 232, FrameSize = ContextSize + 16;
    private const int InfoSize = SignalInfo.Size;
    private const uint VfpMagic = 0x56465001, VfpBlockSize = 288, LegacyFlags = 0x5ac3c35a;
    private const int VfpRegisters = 8, VfpStatus = 8 + 256, VfpException = 8 + 264, VfpState = 260;
    private const ulong ThumbBit = 1 << 5;
    // The CPSR bits a frame may change: N Z C V Q, the GE bits, and E; mode and interrupt masks stay.
    private const ulong UserFlags = 0xf80f0200;

    // sigcontext's registers after trap_no, error_code and oldmask: r0-r10, fp (r11), ip (r12), sp, lr.
    private static readonly ArmRegister[] General =
    [
        ArmRegister.R0, ArmRegister.R1, ArmRegister.R2, ArmRegister.R3, ArmRegister.R4, ArmRegister.R5, ArmRegister.R6, ArmRegister.R7,
        ArmRegister.R8, ArmRegister.R9, ArmRegister.R10, ArmRegister.R11, ArmRegister.R12, ArmRegister.Sp, ArmRegister.Lr, ArmRegister.Pc,
    ];

    public ulong StackPointer(ICpu cpu) => cpu.ReadRegister(ArmRegister.Sp);

    public bool Enter(GuestThread thread, ICpu cpu, in SignalHandlerEntry entry)
    {
        var (info, handler, flags, savedMask, onAlternate) = (entry.Info, entry.Handler, entry.Flags, entry.SavedMask, entry.OnAlternateStack);
        if ((flags & SignalActions.Restorer) == 0)
            return false; // glibc and musl always give a restorer; Linux would use its sigpage's code
        var realtime = (flags & SignalActions.Information) != 0;
        var sp = entry.SwitchToAlternateStack ? thread.AlternateStackBase + thread.AlternateStackSize : StackPointer(cpu);
        var size = (realtime ? InfoSize : 0) + FrameSize;
        var frame = (sp - (ulong)size) & ~7UL;
        if (frame >= sp || frame < 4096)
            return false;

        var bytes = new byte[size];
        var span = bytes.AsSpan();
        var structures = thread.Process.Personality.Structures;
        if (realtime)
            structures.SignalInformation(info).CopyTo(span);
        var uc = span[(realtime ? InfoSize : 0)..];
        if (realtime)
            structures.SignalStack(uc[8..], thread.AlternateStackBase, SignalDelivery.AlternateStackFlags(thread, onAlternate), thread.AlternateStackSize);
        else
            BinaryPrimitives.WriteUInt32LittleEndian(uc, LegacyFlags);
        var context = uc[SigcontextAt..];
        BinaryPrimitives.WriteUInt32LittleEndian(context, (uint)info.TrapNumber);
        BinaryPrimitives.WriteUInt32LittleEndian(context[4..], (uint)info.ErrorCode);
        BinaryPrimitives.WriteUInt32LittleEndian(context[8..], (uint)savedMask);
        Span<ulong> registers = stackalloc ulong[General.Length];
        cpu.ReadRegisters(General, registers);
        for (var i = 0; i < registers.Length; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(context[(12 + 4 * i)..], (uint)registers[i]);
        BinaryPrimitives.WriteUInt32LittleEndian(context[76..], (uint)cpu.ReadRegister(ArmRegister.Cpsr));
        BinaryPrimitives.WriteUInt32LittleEndian(context[80..], info.Address is { } address ? (uint)address : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(uc[MaskAt..], savedMask);
        var vfp = uc[RegisterSpaceAt..];
        BinaryPrimitives.WriteUInt32LittleEndian(vfp, VfpMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(vfp[4..], VfpBlockSize);
        cpu.SaveFloatingPoint(vfp.Slice(VfpRegisters, VfpState));
        BinaryPrimitives.WriteUInt32LittleEndian(vfp[VfpException..], 1u << 30); // FPEXC.EN
        if (thread.Memory.Write(new GuestAddress(frame), bytes) != Errno.None)
            return false;

        var restorer = entry.Restorer;
        var ucAddress = frame + (ulong)(realtime ? InfoSize : 0);
        cpu.WriteRegister(ArmRegister.R0, (ulong)info.Signal);
        if (realtime)
        {
            cpu.WriteRegister(ArmRegister.R1, frame);
            cpu.WriteRegister(ArmRegister.R2, ucAddress);
        }
        cpu.WriteRegister(ArmRegister.Sp, frame);
        cpu.WriteRegister(ArmRegister.Lr, restorer);
        // Bit 0 of the handler's address picks Thumb state, as a bx does.
        cpu.WriteRegister(ArmRegister.Pc, handler);
        return true;
    }

    /// <summary>The sigframe at the stack pointer (the restorer only loads r7 and calls): rt_sigframe's is past its siginfo.</summary>
    private ulong ContextAt(ICpu cpu, SignalFrameKind kind) => StackPointer(cpu) + (kind == SignalFrameKind.RealTime ? (ulong)InfoSize : 0);

    public bool Return(GuestThread thread, ICpu cpu, SignalFrameKind kind, out ulong mask)
    {
        mask = 0;
        if ((StackPointer(cpu) & 7) != 0)
            return false;
        var bytes = new byte[ContextSize];
        if (thread.Memory.Read(new GuestAddress(ContextAt(cpu, kind)), bytes) != Errno.None)
            return false;
        var context = bytes.AsSpan(SigcontextAt);
        var vfp = bytes.AsSpan(RegisterSpaceAt);
        if (BinaryPrimitives.ReadUInt32LittleEndian(vfp) == VfpMagic)
            cpu.RestoreFloatingPoint(vfp.Slice(VfpRegisters, VfpState));
        var saved = new ulong[General.Length];
        for (var i = 0; i < saved.Length; i++)
            saved[i] = BinaryPrimitives.ReadUInt32LittleEndian(context[(12 + 4 * i)..]);
        for (var i = 0; i < General.Length - 1; i++)
            cpu.WriteRegister(General[i], saved[i]);
        ulong cpsr = BinaryPrimitives.ReadUInt32LittleEndian(context[76..]);
        cpu.WriteRegister(ArmRegister.Cpsr, (cpu.ReadRegister(ArmRegister.Cpsr) & ~UserFlags) | (cpsr & UserFlags));
        // The PC last, with the saved T bit as bit 0: writing it sets the state.
        cpu.WriteRegister(ArmRegister.Pc, (saved[^1] & ~1UL) | ((cpsr & ThumbBit) != 0 ? 1UL : 0));
        mask = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(MaskAt));
        return true;
    }

    public long SavedResult(GuestThread thread, ICpu cpu, SignalFrameKind kind)
    {
        var r0 = ContextAt(cpu, kind) + SigcontextAt + 12;
        return thread.Memory.Read(new GuestAddress(r0), out int value) == Errno.None ? value : 0;
    }

    public void SetProgramCounter(ICpu cpu, ulong address)
        => cpu.WriteRegister(ArmRegister.Pc, address | ((cpu.ReadRegister(ArmRegister.Cpsr) & ThumbBit) != 0 ? 1UL : 0));

    public void Restart(ICpu cpu, in InterruptedCall call, ulong number)
    {
        // svc is 4 bytes in ARM state and 2 in Thumb state; r0 held the result, so it gets the first
        // argument back (Linux's ORIG_r0), and r7 the number (restart_syscall's, for a restart block).
        var thumb = (cpu.ReadRegister(ArmRegister.Cpsr) & ThumbBit) != 0;
        cpu.WriteRegister(ArmRegister.R0, call.FirstArgument);
        cpu.WriteRegister(ArmRegister.R7, number);
        cpu.WriteRegister(ArmRegister.Pc, thumb ? (call.SyscallAddress + 2) | 1 : call.SyscallAddress);
    }
}
