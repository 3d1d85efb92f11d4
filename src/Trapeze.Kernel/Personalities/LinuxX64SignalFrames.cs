using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// Linux x86-64's struct rt_sigframe: pretcode (sa_restorer), the ucontext (uc_flags, uc_link,
/// uc_stack, sigcontext, the mask) and siginfo, below a 64-byte aligned fxsave area; the handler
/// is entered with (signo, &amp;info, &amp;uc) in RDI RSI RDX and RAX 0, and rt_sigreturn finds the
/// ucontext at RSP once the handler's ret has popped pretcode.
/// </summary>
internal sealed class LinuxX64SignalFrames : ISignalFrames
{
    public static LinuxX64SignalFrames Instance { get; } = new();

    private const int UcontextOffset = 8, UcontextSize = 304, SigcontextOffset = 40, MaskOffset = 296;
    private const int FrameSize = UcontextOffset + UcontextSize + SignalInfo.Size; // pretcode, uc, info
    private const int FxsaveSize = 512;
    private const int RedZone = 128;
    private const int RaxIndex = 13;

    // sigcontext order: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags.
    private static readonly X64Register[] ContextRegisters =
    [
        X64Register.R8, X64Register.R9, X64Register.R10, X64Register.R11, X64Register.R12, X64Register.R13, X64Register.R14, X64Register.R15,
        X64Register.Rdi, X64Register.Rsi, X64Register.Rbp, X64Register.Rbx, X64Register.Rdx, X64Register.Rax, X64Register.Rcx, X64Register.Rsp,
    ];

    public ulong StackPointer(ICpu cpu) => cpu.ReadRegister(X64Register.Rsp);

    public bool Enter(GuestThread thread, ICpu cpu, in SignalHandlerEntry entry)
    {
        // Linux x86-64 has no kernel trampoline: a handler without SA_RESTORER has nowhere to return.
        if ((entry.Flags & SignalActions.Restorer) == 0)
            return false;
        var info = entry.Info;
        Span<ulong> registers = stackalloc ulong[ContextRegisters.Length];
        cpu.ReadRegisters(ContextRegisters, registers);
        var rip = cpu.ReadRegister(X64Register.Rip);
        var rflags = cpu.ReadRegister(X64Register.Rflags);
        var sp = entry.SwitchToAlternateStack ? thread.AlternateStackBase + thread.AlternateStackSize : registers[15] - RedZone;
        var fpState = (sp - FxsaveSize) & ~63UL;
        var frame = ((fpState - FrameSize) & ~15UL) - 8;

        var fxsave = new byte[FxsaveSize];
        cpu.SaveFloatingPoint(fxsave);
        var bytes = new byte[FrameSize];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span, entry.Restorer);
        var uc = span[UcontextOffset..];
        BinaryPrimitives.WriteUInt64LittleEndian(uc, 6); // UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
        BinaryPrimitives.WriteUInt64LittleEndian(uc[16..], thread.AlternateStackBase);
        BinaryPrimitives.WriteInt32LittleEndian(uc[24..], SignalDelivery.AlternateStackFlags(thread, entry.OnAlternateStack));
        BinaryPrimitives.WriteUInt64LittleEndian(uc[32..], thread.AlternateStackSize);
        var context = uc[SigcontextOffset..];
        for (var i = 0; i < registers.Length; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(context[(8 * i)..], registers[i]);
        BinaryPrimitives.WriteUInt64LittleEndian(context[128..], rip);
        BinaryPrimitives.WriteUInt64LittleEndian(context[136..], rflags);
        BinaryPrimitives.WriteUInt16LittleEndian(context[144..], 0x33); // cs
        BinaryPrimitives.WriteUInt16LittleEndian(context[150..], 0x2b); // ss
        BinaryPrimitives.WriteUInt64LittleEndian(context[152..], info.ErrorCode);
        BinaryPrimitives.WriteUInt64LittleEndian(context[160..], (ulong)info.TrapNumber);
        BinaryPrimitives.WriteUInt64LittleEndian(context[168..], entry.SavedMask);
        BinaryPrimitives.WriteUInt64LittleEndian(context[176..], info.Address is { } address && info.TrapNumber == 14 ? address : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(context[184..], fpState);
        BinaryPrimitives.WriteUInt64LittleEndian(uc[MaskOffset..], entry.SavedMask);
        info.ToBytes().CopyTo(span[(UcontextOffset + UcontextSize)..]);

        var memory = thread.Memory;
        if (memory.Write(new GuestAddress(fpState), fxsave) != Errno.None || memory.Write(new GuestAddress(frame), bytes) != Errno.None)
            return false;

        const ulong ClearedFlags = 0x400 | 0x100 | 0x10000 | 0x40000; // DF TF RF AC
        ReadOnlySpan<X64Register> registersAtEntry = [X64Register.Rsp, X64Register.Rip, X64Register.Rdi, X64Register.Rsi, X64Register.Rdx, X64Register.Rax, X64Register.Rflags];
        ReadOnlySpan<ulong> values = [frame, entry.Handler, (ulong)info.Signal, frame + UcontextOffset + UcontextSize, frame + UcontextOffset, 0, rflags & ~ClearedFlags];
        cpu.WriteRegisters(registersAtEntry, values);
        return true;
    }

    public bool Return(GuestThread thread, ICpu cpu, SignalFrameKind kind, out ulong mask)
    {
        mask = 0;
        var uc = cpu.ReadRegister(X64Register.Rsp);
        var bytes = new byte[UcontextSize];
        if (kind != SignalFrameKind.RealTime || thread.Memory.Read(new GuestAddress(uc), bytes) != Errno.None)
            return false;
        var context = bytes.AsSpan(SigcontextOffset);
        Span<ulong> registers = stackalloc ulong[ContextRegisters.Length];
        for (var i = 0; i < registers.Length; i++)
            registers[i] = BinaryPrimitives.ReadUInt64LittleEndian(context[(8 * i)..]);
        var fpState = BinaryPrimitives.ReadUInt64LittleEndian(context[184..]);
        if (fpState != 0)
        {
            var fxsave = new byte[FxsaveSize];
            if (thread.Memory.Read(new GuestAddress(fpState), fxsave) != Errno.None)
                return false;
            cpu.RestoreFloatingPoint(fxsave);
        }
        cpu.WriteRegisters(ContextRegisters, registers);
        cpu.WriteRegister(X64Register.Rip, BinaryPrimitives.ReadUInt64LittleEndian(context[128..]));
        const ulong Restored = 0x50dd5; // CF PF AF ZF SF TF DF OF RF AC
        var flags = cpu.ReadRegister(X64Register.Rflags);
        cpu.WriteRegister(X64Register.Rflags, (flags & ~Restored) | (BinaryPrimitives.ReadUInt64LittleEndian(context[136..]) & Restored));
        mask = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(MaskOffset));
        return true;
    }

    public long SavedResult(GuestThread thread, ICpu cpu, SignalFrameKind kind)
    {
        var uc = cpu.ReadRegister(X64Register.Rsp);
        return thread.Memory.Read(new GuestAddress(uc + SigcontextOffset + RaxIndex * 8), out ulong rax) == Errno.None ? (long)rax : 0;
    }

    public ulong? SavedMask(GuestThread thread, ICpu cpu, SignalFrameKind kind)
        => thread.Memory.Read(new GuestAddress(cpu.ReadRegister(X64Register.Rsp) + MaskOffset), out ulong mask) == Errno.None ? mask : null;

    public void Restart(ICpu cpu, in InterruptedCall call, ulong number)
    {
        ReadOnlySpan<X64Register> registers = [X64Register.Rip, X64Register.Rax];
        ReadOnlySpan<ulong> values = [call.SyscallAddress, number];
        cpu.WriteRegisters(registers, values);
    }
}
