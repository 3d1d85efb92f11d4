using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// SunOS 4 SPARC's signal frame (sys/sparc sendsig, sys/signal.h): below the interrupted %sp a C frame
/// (struct frame: the 16-word window save area, whose saved %fp is the interrupted %sp, then the hidden
/// and argument words, 96 bytes), then sig, code, scp and addr, then struct sigcontext (sc_onstack,
/// sc_mask, sc_sp, sc_pc, sc_npc, sc_psr, sc_g1, sc_o0). The handler starts with (sig, code, scp, addr) in
/// %o0-%o3 of a new window, as though the interrupted code had called it, so the interrupted window's
/// outs stay whole; every window is first written to its frame. sigcleanup takes the interrupted window
/// back from memory: its locals and ins from sc_sp, its outs from the handler window's saved ins at
/// the frame, %o0 and %g1 (which the trampoline's call needs) from the sigcontext.
/// </summary>
internal sealed class SunOsSignalFrames : ISignalFrames
{
    private const int FrameSize = 96, ArgumentsOffset = 96, ContextOffset = 112, ContextSize = 32, Total = 144;
    private const int ScOnStack = 0, ScMask = 4, ScSp = 8, ScPc = 12, ScNpc = 16, ScPsr = 20, ScG1 = 24, ScO0 = 28;
    private const ulong IntegerConditionCodes = 0xf0_0000; // PSR's icc: what a sigcontext may change

    public ulong StackPointer(ICpu cpu) => (uint)cpu.ReadRegister(SparcRegister.O6);

    public bool Enter(GuestThread thread, ICpu cpu, in SignalHandlerEntry entry)
    {
        var abi = BsdAbi.SunOs4;
        var info = entry.Info;
        var interrupted = StackPointer(cpu);
        var top = entry.SwitchToAlternateStack ? thread.AlternateStackBase + thread.AlternateStackSize : interrupted;
        var sp = (top - Total) & ~7UL;
        if (sp < AddressSpace.PageSize || sp >= top)
            return false;
        // The interrupted window and its callers go to their frames first.
        if (!SunOsSparcPersonality.Flush(thread, cpu) || !SunOsSparcPersonality.Store(thread, cpu, (int)SunOsSparcPersonality.Window(cpu)))
            return false;
        var pc = (uint)cpu.ReadRegister(SparcRegister.Pc);
        var bytes = new byte[Total];
        var span = bytes.AsSpan();
        // The new window's ins are the interrupted window's outs (its %i6 the interrupted %sp): saved here.
        Span<uint> window = stackalloc uint[8];
        cpu.ReadWindow((int)SunOsSparcPersonality.Window(cpu), window);
        for (var index = 0; index < window.Length; index++)
            BinaryPrimitives.WriteUInt32BigEndian(span[(32 + 4 * index)..], window[index]);
        var context = sp + ContextOffset;
        var fault = info.Address is not null;
        ReadOnlySpan<uint> arguments = [(uint)abi.SignalFromLinux(info.Signal), fault ? (uint)info.Code : 0, (uint)context, (uint)(info.Address ?? 0)];
        for (var index = 0; index < arguments.Length; index++)
            BinaryPrimitives.WriteUInt32BigEndian(span[(ArgumentsOffset + 4 * index)..], arguments[index]);
        var sc = span[ContextOffset..];
        BinaryPrimitives.WriteUInt32BigEndian(sc[ScOnStack..], entry.OnAlternateStack ? 1u : 0);
        BinaryPrimitives.WriteUInt32BigEndian(sc[ScMask..], SunOsCalls.MaskFromLinux(entry.SavedMask));
        BinaryPrimitives.WriteUInt32BigEndian(sc[ScSp..], (uint)interrupted);
        BinaryPrimitives.WriteUInt32BigEndian(sc[ScPc..], pc);
        BinaryPrimitives.WriteUInt32BigEndian(sc[ScNpc..], (uint)cpu.ReadRegister(SparcRegister.Npc));
        BinaryPrimitives.WriteUInt32BigEndian(sc[ScPsr..], (uint)cpu.ReadRegister(SparcRegister.Psr));
        BinaryPrimitives.WriteUInt32BigEndian(sc[ScG1..], (uint)cpu.ReadRegister(SparcRegister.G1));
        BinaryPrimitives.WriteUInt32BigEndian(sc[ScO0..], (uint)cpu.ReadRegister(SparcRegister.O0));
        if (thread.Memory.Write(new GuestAddress(sp), bytes) != Errno.None)
            return false;
        var psr = cpu.ReadRegister(SparcRegister.Psr);
        cpu.WriteRegister(SparcRegister.Psr, (psr & ~0x1fUL) | (uint)Modulo((int)(psr & 0x1f) - 1, cpu.RegisterWindows));
        for (var index = 0; index < arguments.Length; index++)
            cpu.WriteRegister(SparcRegister.O0 + index, arguments[index]);
        cpu.WriteRegister(SparcRegister.O6, sp);
        SetProgramCounter(cpu, entry.Handler);
        return true;
    }

    /// <summary>sigcleanup: the sigcontext %o0 names; the current window becomes the interrupted one again.</summary>
    public bool Return(GuestThread thread, ICpu cpu, SignalFrameKind kind, out ulong mask)
    {
        mask = 0;
        Span<byte> sc = stackalloc byte[ContextSize];
        if (thread.Memory.Read(new GuestAddress((uint)cpu.ReadRegister(SparcRegister.O0)), sc) != Errno.None)
            return false;
        var sp = BinaryPrimitives.ReadUInt32BigEndian(sc[ScSp..]);
        var frame = (uint)cpu.ReadRegister(SparcRegister.O0) - (ulong)ContextOffset;
        // The outs are the handler window's ins (saved at the frame's words 8-15); locals and ins at sc_sp.
        Span<byte> outs = stackalloc byte[8 * 4];
        Span<byte> window = stackalloc byte[16 * 4];
        if (!SunOsSparcPersonality.Flush(thread, cpu) || thread.Memory.Read(new GuestAddress(frame + 32), outs) != Errno.None
            || thread.Memory.Read(new GuestAddress(sp), window) != Errno.None)
            return false;
        Span<uint> registers = stackalloc uint[24];
        for (var index = 0; index < 8; index++)
            registers[index] = BinaryPrimitives.ReadUInt32BigEndian(outs[(index * 4)..]);
        for (var index = 0; index < 16; index++)
            registers[8 + index] = BinaryPrimitives.ReadUInt32BigEndian(window[(index * 4)..]);
        cpu.WriteWindow((int)SunOsSparcPersonality.Window(cpu), 0, registers);
        cpu.WriteRegister(SparcRegister.O6, sp);
        cpu.WriteRegister(SparcRegister.O0, BinaryPrimitives.ReadUInt32BigEndian(sc[ScO0..]));
        cpu.WriteRegister(SparcRegister.G1, BinaryPrimitives.ReadUInt32BigEndian(sc[ScG1..]));
        var psr = cpu.ReadRegister(SparcRegister.Psr);
        cpu.WriteRegister(SparcRegister.Psr, (psr & ~IntegerConditionCodes) | (BinaryPrimitives.ReadUInt32BigEndian(sc[ScPsr..]) & IntegerConditionCodes));
        cpu.WriteRegister(SparcRegister.Pc, BinaryPrimitives.ReadUInt32BigEndian(sc[ScPc..]));
        cpu.WriteRegister(SparcRegister.Npc, BinaryPrimitives.ReadUInt32BigEndian(sc[ScNpc..]));
        mask = SunOsCalls.MaskToLinux(BinaryPrimitives.ReadUInt32BigEndian(sc[ScMask..]));
        return true;
    }

    public long SavedResult(GuestThread thread, ICpu cpu, SignalFrameKind kind)
    {
        Span<byte> word = stackalloc byte[4];
        var at = new GuestAddress((uint)cpu.ReadRegister(SparcRegister.O0) + ScO0);
        return thread.Memory.Read(at, word) == Errno.None ? BinaryPrimitives.ReadInt32BigEndian(word) : 0;
    }

    public ulong? SavedMask(GuestThread thread, ICpu cpu, SignalFrameKind kind)
    {
        Span<byte> word = stackalloc byte[4];
        var at = new GuestAddress((uint)cpu.ReadRegister(SparcRegister.O0) + ScMask);
        return thread.Memory.Read(at, word) == Errno.None ? SunOsCalls.MaskToLinux(BinaryPrimitives.ReadUInt32BigEndian(word)) : null;
    }

    /// <summary>Back on the <c>ta 0</c> with the call's number in %g1 and its first argument in %o0, over which the result came.</summary>
    public void Restart(ICpu cpu, in InterruptedCall call, ulong number)
    {
        cpu.WriteRegister(SparcRegister.G1, number);
        cpu.WriteRegister(SparcRegister.O0, call.FirstArgument);
        SetProgramCounter(cpu, call.SyscallAddress);
    }

    private static int Modulo(int value, int modulus) => ((value % modulus) + modulus) % modulus;

    /// <summary>A program counter write takes nPC with it (PC + 4).</summary>
    public void SetProgramCounter(ICpu cpu, ulong address)
    {
        cpu.WriteRegister(SparcRegister.Pc, address);
        cpu.WriteRegister(SparcRegister.Npc, address + 4);
    }
}
