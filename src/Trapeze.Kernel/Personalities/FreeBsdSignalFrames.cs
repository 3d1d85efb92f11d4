using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Loader;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;
using static Trapeze.Kernel.Syscalls.BsdGuest;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// What FreeBSD's x86 frames share (sys/x86/include/ucontext.h, sys/sys/_ucontext.h): ucontext_t is
/// uc_sigmask (16 bytes), mcontext_t (16-byte aligned, its mc_fpstate an fxsave image), uc_link,
/// uc_stack and uc_flags. The handler is entered at the sigcode trampoline, which calls it and then
/// sigreturn(&amp;frame->sf_uc); sigreturn reads the ucontext_t its argument names.
/// </summary>
internal abstract class FreeBsdSignalFrames : ISignalFrames
{
    private protected const int SignalMaskSize = 16, Fxsave = 512;
    // mc_fpformat, mc_ownedfp (ucontext.h); mc_flags' _MC_HASBASES.
    private protected const uint FormatXmm = 0x10002, OwnedByFpu = 0x20001, HasBases = 0x2;

    public abstract ulong StackPointer(ICpu cpu);
    public abstract bool Enter(GuestThread thread, ICpu cpu, in SignalHandlerEntry entry);
    public abstract bool Return(GuestThread thread, ICpu cpu, SignalFrameKind kind, out ulong mask);
    public abstract byte[] Trampoline { get; }

    /// <summary>The ucontext_t sigreturn was given (its first argument).</summary>
    private protected abstract ulong ContextArgument(GuestThread thread, ICpu cpu);

    /// <summary>mc_rax's or mc_eax's offset in ucontext_t.</summary>
    private protected abstract int ResultOffset { get; }

    public long SavedResult(GuestThread thread, ICpu cpu, SignalFrameKind kind)
    {
        var at = new GuestAddress(ContextArgument(thread, cpu) + (ulong)ResultOffset);
        if (WordSize(thread) == 8)
            return thread.Memory.Read(at, out long wide) == Errno.None ? wide : 0;
        return thread.Memory.Read(at, out int narrow) == Errno.None ? narrow : 0;
    }

    public ulong? SavedMask(GuestThread thread, ICpu cpu, SignalFrameKind kind)
    {
        var set = new byte[SignalMaskSize];
        return thread.Memory.Read(new GuestAddress(ContextArgument(thread, cpu)), set) == Errno.None ? AbiOf(thread).SignalSetToLinux(set) : null;
    }

    public void Restart(ICpu cpu, in InterruptedCall call, ulong number)
    {
        ReadOnlySpan<X64Register> registers = [X64Register.Rip, X64Register.Rax];
        ReadOnlySpan<ulong> values = [call.SyscallAddress, number];
        cpu.WriteRegisters(registers, values);
    }

    /// <summary>uc_stack's ss_flags in FreeBSD's values: SS_DISABLE without an alternate stack, SS_ONSTACK while on it.</summary>
    private protected static int StackFlags(GuestThread thread, bool onAlternate)
    {
        var abi = AbiOf(thread);
        return SignalDelivery.AlternateStackFlags(thread, onAlternate) switch
        {
            2 => (int)abi.ConstantOr("SS_DISABLE", 4),
            1 => (int)abi.ConstantOr("SS_ONSTACK", 1),
            _ => 0,
        };
    }

    /// <summary>
    /// sigreturn's ucontext_t (<paramref name="size"/> bytes where its first argument points), its FP state
    /// already back in the CPU (or a clean FPU where mc_fpformat says it has none); null when unreadable.
    /// </summary>
    private protected byte[]? ReadContext(GuestThread thread, ICpu cpu, int size, int format, int state)
    {
        var bytes = new byte[size];
        if (thread.Memory.Read(new GuestAddress(ContextArgument(thread, cpu)), bytes) != Errno.None)
            return null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(format)) == FormatXmm)
            cpu.RestoreFloatingPoint(bytes.AsSpan(state, Fxsave));
        else
            cpu.RestoreFloatingPoint(X86FloatingPoint.Initial);
        return bytes;
    }

    private protected const ulong ClearedFlags = 0x400 | 0x100; // PSL_D PSL_T
    private protected const ulong RestoredFlags = 0x50dd5; // CF PF AF ZF SF TF DF OF RF AC

    private protected static ulong? SigcodeAddress(GuestThread thread) => SignalTrampoline.Address(thread.Process);
}

/// <summary>
/// FreeBSD amd64's struct sigframe (sys/amd64/include/sigframe.h): sf_ahu (the handler), the 880-byte
/// ucontext_t at 16, the 80-byte siginfo_t at 896; 16-byte aligned below the 128-byte red zone. sendsig
/// enters with RDI = signo, RSI = &amp;sf_si (or si_code without SA_SIGINFO), RDX = &amp;sf_uc, RCX = si_addr.
/// </summary>
internal sealed class FreeBsdX64SignalFrames : FreeBsdSignalFrames
{
    public static FreeBsdX64SignalFrames Instance { get; } = new();

    private const int UcontextOffset = 16, McontextOffset = 16, InfoOffset = 896, FrameSize = 976, UcontextSize = 880;
    private const int McLength = 800, RedZone = 128;
    // mcontext_t: mc_onstack, then the trapframe from mc_rdi.
    private const int McTrapNumber = 128, McAddress = 136, McFlags = 144, McError = 152, McRip = 160, McCs = 168, McRflags = 176,
        McRsp = 184, McSs = 192, McLen = 200, McFpFormat = 208, McOwnedFp = 216, McFpState = 224, McFsBase = 736, McGsBase = 744;
    private const int UcStack = 824;

    // mc_rdi .. mc_r15, in the trapframe's order.
    private static readonly X64Register[] General =
    [
        X64Register.Rdi, X64Register.Rsi, X64Register.Rdx, X64Register.Rcx, X64Register.R8, X64Register.R9, X64Register.Rax, X64Register.Rbx,
        X64Register.Rbp, X64Register.R10, X64Register.R11, X64Register.R12, X64Register.R13, X64Register.R14, X64Register.R15,
    ];

    // call *SIGF_HANDLER(%rsp); lea SIGF_UC(%rsp),%rdi; pushq $0; mov $SYS_sigreturn,%rax; syscall; ud2
    public override byte[] Trampoline { get; } =
        [0xff, 0x14, 0x24, 0x48, 0x8d, 0x7c, 0x24, UcontextOffset, 0x6a, 0x00, 0x48, 0xc7, 0xc0, 0xa1, 0x01, 0x00, 0x00, 0x0f, 0x05, 0x0f, 0x0b];

    public override ulong StackPointer(ICpu cpu) => cpu.ReadRegister(X64Register.Rsp);

    private protected override ulong ContextArgument(GuestThread thread, ICpu cpu) => cpu.ReadRegister(X64Register.Rdi);

    private protected override int ResultOffset => McontextOffset + 8 + 6 * 8;

    public override bool Enter(GuestThread thread, ICpu cpu, in SignalHandlerEntry entry)
    {
        if (SigcodeAddress(thread) is not { } sigcode)
            return false;
        var abi = AbiOf(thread);
        var info = entry.Info;
        var rsp = cpu.ReadRegister(X64Register.Rsp);
        var sp = entry.SwitchToAlternateStack ? thread.AlternateStackBase + thread.AlternateStackSize : rsp - RedZone;
        var frame = (sp - FrameSize) & ~15UL;
        var bytes = new byte[FrameSize];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span, entry.Handler);
        var uc = span.Slice(UcontextOffset, UcontextSize);
        abi.SignalSetFromLinux(entry.SavedMask).CopyTo(uc);
        var mc = uc[McontextOffset..];
        BinaryPrimitives.WriteUInt64LittleEndian(mc, entry.OnAlternateStack ? 1UL : 0);
        Span<ulong> registers = stackalloc ulong[General.Length];
        cpu.ReadRegisters(General, registers);
        for (var i = 0; i < registers.Length; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(mc[(8 + 8 * i)..], registers[i]);
        var fault = info.Address is not null;
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McTrapNumber..], fault ? (uint)abi.TrapNumber(info.TrapNumber) : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McAddress..], info.Address ?? 0);
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McFlags..], HasBases);
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McError..], info.ErrorCode);
        var rflags = cpu.ReadRegister(X64Register.Rflags);
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McRip..], cpu.ReadRegister(X64Register.Rip));
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McCs..], 0x43); // _ucodesel: GUCODE_SEL, ring 3
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McRflags..], rflags);
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McRsp..], rsp);
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McSs..], 0x3b); // _udatasel
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McLen..], McLength);
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McFpFormat..], FormatXmm);
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McOwnedFp..], OwnedByFpu);
        cpu.SaveFloatingPoint(mc.Slice(McFpState, Fxsave));
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McFsBase..], cpu.ReadRegister(X64Register.FsBase));
        BinaryPrimitives.WriteUInt64LittleEndian(mc[McGsBase..], cpu.ReadRegister(X64Register.GsBase));
        var stack = uc[(McontextOffset + UcStack)..];
        BinaryPrimitives.WriteUInt64LittleEndian(stack, thread.AlternateStackBase);
        BinaryPrimitives.WriteUInt64LittleEndian(stack[8..], thread.AlternateStackSize);
        BinaryPrimitives.WriteInt32LittleEndian(stack[16..], StackFlags(thread, entry.OnAlternateStack));
        var siginfo = (entry.Flags & SignalActions.Information) != 0;
        abi.SignalInformation(info, 8).CopyTo(span[InfoOffset..]);
        if (frame >= sp || thread.Memory.Write(new GuestAddress(frame), bytes) != Errno.None)
            return false;

        cpu.RestoreFloatingPoint(X86FloatingPoint.Initial);
        ReadOnlySpan<X64Register> atEntry = [X64Register.Rsp, X64Register.Rip, X64Register.Rdi, X64Register.Rsi, X64Register.Rdx, X64Register.Rcx, X64Register.Rflags];
        ReadOnlySpan<ulong> values =
        [
            frame, sigcode, (ulong)abi.SignalFromLinux(info.Signal), siginfo ? frame + InfoOffset : (ulong)(long)abi.SignalCodeFromLinux(info.Code),
            frame + UcontextOffset, info.Address ?? 0, rflags & ~ClearedFlags,
        ];
        cpu.WriteRegisters(atEntry, values);
        return true;
    }

    public override bool Return(GuestThread thread, ICpu cpu, SignalFrameKind kind, out ulong mask)
    {
        mask = 0;
        if (ReadContext(thread, cpu, UcontextSize, McontextOffset + McFpFormat, McontextOffset + McFpState) is not { } bytes)
            return false;
        var mc = bytes.AsSpan(McontextOffset);
        Span<ulong> registers = stackalloc ulong[General.Length];
        for (var i = 0; i < registers.Length; i++)
            registers[i] = BinaryPrimitives.ReadUInt64LittleEndian(mc[(8 + 8 * i)..]);
        cpu.WriteRegisters(General, registers);
        if ((BinaryPrimitives.ReadUInt32LittleEndian(mc[McFlags..]) & HasBases) != 0)
        {
            cpu.WriteRegister(X64Register.FsBase, BinaryPrimitives.ReadUInt64LittleEndian(mc[McFsBase..]));
            cpu.WriteRegister(X64Register.GsBase, BinaryPrimitives.ReadUInt64LittleEndian(mc[McGsBase..]));
        }
        cpu.WriteRegister(X64Register.Rip, BinaryPrimitives.ReadUInt64LittleEndian(mc[McRip..]));
        cpu.WriteRegister(X64Register.Rsp, BinaryPrimitives.ReadUInt64LittleEndian(mc[McRsp..]));
        var rflags = cpu.ReadRegister(X64Register.Rflags);
        cpu.WriteRegister(X64Register.Rflags, (rflags & ~RestoredFlags) | (BinaryPrimitives.ReadUInt64LittleEndian(mc[McRflags..]) & RestoredFlags));
        mask = AbiOf(thread).SignalSetToLinux(bytes.AsSpan(0, SignalMaskSize));
        return true;
    }
}

/// <summary>
/// FreeBSD i386's struct sigframe (sys/i386/include/sigframe.h): the handler's four arguments (signo,
/// siginfo or si_code, &amp;sf_uc, si_addr), sf_ahu, the 704-byte ucontext_t at 32 and the 64-byte siginfo_t
/// at 736, 16-byte aligned below the stack pointer. The sigcode's call pushes the return address, so
/// the handler finds its arguments as a C function does.
/// </summary>
internal sealed class FreeBsdI386SignalFrames : FreeBsdSignalFrames
{
    public static FreeBsdI386SignalFrames Instance { get; } = new();

    private const int HandlerOffset = 16, UcontextOffset = 32, McontextOffset = 16, InfoOffset = 736, FrameSize = 800, UcontextSize = 704;
    private const int McLength = 640;
    // mcontext_t: mc_onstack, mc_gs, mc_fs, mc_es, mc_ds, then edi .. eax, trapno, err, eip, cs, eflags, esp, ss.
    private const int McGs = 4, McGeneral = 20, McTrapNumber = 52, McError = 56, McEip = 60, McCs = 64, McEflags = 68, McEsp = 72, McSs = 76,
        McLen = 80, McFpFormat = 84, McOwnedFp = 88, McFpState = 96;
    private const int UcStack = 660;

    // mc_edi, mc_esi, mc_ebp, mc_isp (skipped: the kernel's), mc_ebx, mc_edx, mc_ecx, mc_eax.
    private static readonly X64Register?[] General =
        [X64Register.Rdi, X64Register.Rsi, X64Register.Rbp, null, X64Register.Rbx, X64Register.Rdx, X64Register.Rcx, X64Register.Rax];

    // call *SIGF_HANDLER(%esp); lea SIGF_UC(%esp),%eax; push %eax; mov $SYS_sigreturn,%eax; push %eax; int $0x80; ud2
    public override byte[] Trampoline { get; } =
        [0xff, 0x54, 0x24, HandlerOffset, 0x8d, 0x44, 0x24, UcontextOffset, 0x50, 0xb8, 0xa1, 0x01, 0x00, 0x00, 0x50, 0xcd, 0x80, 0x0f, 0x0b];

    public override ulong StackPointer(ICpu cpu) => (uint)cpu.ReadRegister(X64Register.Rsp);

    /// <summary>int 0x80's arguments sit above the slot the sigcode's second push filled.</summary>
    private protected override ulong ContextArgument(GuestThread thread, ICpu cpu)
        => thread.Memory.Read(new GuestAddress(StackPointer(cpu) + 4), out uint context) == Errno.None ? context : 0;

    private protected override int ResultOffset => McontextOffset + McGeneral + 7 * 4;

    public override bool Enter(GuestThread thread, ICpu cpu, in SignalHandlerEntry entry)
    {
        if (SigcodeAddress(thread) is not { } sigcode)
            return false;
        var abi = AbiOf(thread);
        var info = entry.Info;
        var esp = StackPointer(cpu);
        var sp = entry.SwitchToAlternateStack ? thread.AlternateStackBase + thread.AlternateStackSize : esp;
        var frame = (sp - FrameSize) & ~15UL;
        var siginfo = (entry.Flags & SignalActions.Information) != 0;
        var bytes = new byte[FrameSize];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)abi.SignalFromLinux(info.Signal));
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], siginfo ? (uint)(frame + InfoOffset) : (uint)abi.SignalCodeFromLinux(info.Code));
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)(frame + UcontextOffset));
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)(info.Address ?? 0));
        BinaryPrimitives.WriteUInt32LittleEndian(span[HandlerOffset..], (uint)entry.Handler);
        var uc = span.Slice(UcontextOffset, UcontextSize);
        abi.SignalSetFromLinux(entry.SavedMask).CopyTo(uc);
        var mc = uc[McontextOffset..];
        BinaryPrimitives.WriteUInt32LittleEndian(mc, entry.OnAlternateStack ? 1u : 0);
        ReadOnlySpan<X86Segment> segments = [X86Segment.Gs, X86Segment.Fs, X86Segment.Es, X86Segment.Ds];
        for (var i = 0; i < segments.Length; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(mc[(McGs + 4 * i)..], cpu.ReadSegment(segments[i]));
        for (var i = 0; i < General.Length; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(mc[(McGeneral + 4 * i)..], General[i] is { } register ? (uint)cpu.ReadRegister(register) : 0);
        var fault = info.Address is not null;
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McTrapNumber..], fault ? (uint)abi.TrapNumber(info.TrapNumber) : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McError..], (uint)info.ErrorCode);
        var eflags = cpu.ReadRegister(X64Register.Rflags);
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McEip..], (uint)cpu.ReadRegister(X64Register.Rip));
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McCs..], cpu.ReadSegment(X86Segment.Cs));
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McEflags..], (uint)eflags);
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McEsp..], (uint)esp);
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McSs..], cpu.ReadSegment(X86Segment.Ss));
        BinaryPrimitives.WriteInt32LittleEndian(mc[McLen..], McLength);
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McFpFormat..], FormatXmm);
        BinaryPrimitives.WriteUInt32LittleEndian(mc[McOwnedFp..], OwnedByFpu);
        cpu.SaveFloatingPoint(mc.Slice(McFpState, Fxsave));
        var stack = uc[(McontextOffset + UcStack)..];
        BinaryPrimitives.WriteUInt32LittleEndian(stack, (uint)thread.AlternateStackBase);
        BinaryPrimitives.WriteUInt32LittleEndian(stack[4..], (uint)thread.AlternateStackSize);
        BinaryPrimitives.WriteInt32LittleEndian(stack[8..], StackFlags(thread, entry.OnAlternateStack));
        abi.SignalInformation(info, 4).CopyTo(span[InfoOffset..]);
        if (frame >= sp || frame < AddressSpace.PageSize || thread.Memory.Write(new GuestAddress(frame), bytes) != Errno.None)
            return false;

        cpu.RestoreFloatingPoint(X86FloatingPoint.Initial);
        ReadOnlySpan<X64Register> atEntry = [X64Register.Rsp, X64Register.Rip, X64Register.Rflags];
        ReadOnlySpan<ulong> values = [frame, sigcode, eflags & ~ClearedFlags];
        cpu.WriteRegisters(atEntry, values);
        return true;
    }

    public override bool Return(GuestThread thread, ICpu cpu, SignalFrameKind kind, out ulong mask)
    {
        mask = 0;
        if (ReadContext(thread, cpu, UcontextSize, McontextOffset + McFpFormat, McontextOffset + McFpState) is not { } bytes)
            return false;
        var mc = bytes.AsSpan(McontextOffset);
        // %gs holds the TLS selector: load it only when the handler changed it (a load reads the GDT).
        var gs = (ushort)BinaryPrimitives.ReadUInt32LittleEndian(mc[McGs..]);
        if (gs != cpu.ReadSegment(X86Segment.Gs))
            cpu.WriteSegment(X86Segment.Gs, gs);
        for (var i = 0; i < General.Length; i++)
        {
            if (General[i] is { } register)
                cpu.WriteRegister(register, BinaryPrimitives.ReadUInt32LittleEndian(mc[(McGeneral + 4 * i)..]));
        }
        cpu.WriteRegister(X64Register.Rip, BinaryPrimitives.ReadUInt32LittleEndian(mc[McEip..]));
        cpu.WriteRegister(X64Register.Rsp, BinaryPrimitives.ReadUInt32LittleEndian(mc[McEsp..]));
        var eflags = cpu.ReadRegister(X64Register.Rflags);
        cpu.WriteRegister(X64Register.Rflags, (eflags & ~RestoredFlags) | (BinaryPrimitives.ReadUInt32LittleEndian(mc[McEflags..]) & RestoredFlags));
        mask = AbiOf(thread).SignalSetToLinux(bytes.AsSpan(0, SignalMaskSize));
        return true;
    }
}
