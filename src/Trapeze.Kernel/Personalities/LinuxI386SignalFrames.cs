using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// i386 signal frames (arch/x86/include/asm/sigframe.h, the ia32 ones): struct sigframe for handlers
/// without SA_SIGINFO (pretcode, sig, sigcontext, the unused legacy FP area, extramask, retcode) and
/// struct rt_sigframe (pretcode, sig, pinfo, puc, siginfo, ucontext, retcode). The FP state sits below
/// the frame as Linux puts it: the 112-byte fsave header, then the 64-byte aligned fxsave image.
/// </summary>
internal sealed class LinuxI386SignalFrames : ISignalFrames
{
    private const int SigcontextSize = 88, FsaveHeader = 112, Fxsave = 512;
    private const int LegacyContext = 8, LegacyExtraMask = 720, LegacyRetcode = 724, LegacySize = 732;
    private const int RtInfo = 16, RtContext = 144, RtSigcontext = RtContext + 20, RtMask = RtContext + 108, RtRetcode = 260, RtSize = 268;
    private const ulong SignalReturnNumber = 119, RtSignalReturnNumber = 173;

    // sigcontext_32 after the four segment words: edi esi ebp esp ebx edx ecx eax (then trapno err eip cs eflags).
    private static readonly X64Register[] General =
        [X64Register.Rdi, X64Register.Rsi, X64Register.Rbp, X64Register.Rsp, X64Register.Rbx, X64Register.Rdx, X64Register.Rcx, X64Register.Rax];

    public ulong StackPointer(ICpu cpu) => (uint)cpu.ReadRegister(X64Register.Rsp);

    public bool Enter(GuestThread thread, ICpu cpu, in SignalHandlerEntry entry)
    {
        var (info, handler, flags, savedMask, onAlternate) = (entry.Info, entry.Handler, entry.Flags, entry.SavedMask, entry.OnAlternateStack);
        var realtime = (flags & SignalActions.Information) != 0;
        if (Restorer(thread, entry, realtime) is not { } restorer)
            return false;
        var sp = entry.SwitchToAlternateStack ? thread.AlternateStackBase + thread.AlternateStackSize : StackPointer(cpu);
        // fpu__alloc_mathframe: the fxsave image 64-byte aligned, the fsave header just below it.
        var fxsaveAt = (sp - Fxsave) & ~63UL;
        var mathAt = fxsaveAt - FsaveHeader;
        var size = realtime ? RtSize : LegacySize;
        // On entry ((sp + 4) & 15) == 0, as after a call.
        var frame = ((mathAt - (ulong)size + 4) & ~15UL) - 4;
        if (frame >= sp || frame < 4096)
            return false;

        var math = new byte[FsaveHeader + Fxsave];
        cpu.SaveFloatingPoint(math.AsSpan(FsaveHeader));
        LegacyHeader(math);
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)restorer);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], info.Signal);
        var context = span[(realtime ? RtSigcontext : LegacyContext)..];
        WriteSigcontext(cpu, context, info, (uint)mathAt, savedMask);
        if (realtime)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)(frame + RtInfo));
            BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)(frame + RtContext));
            thread.Process.Personality.Structures.SignalInformation(info).CopyTo(span[RtInfo..]);
            thread.Process.Personality.Structures.SignalStack(span[(RtContext + 8)..], thread.AlternateStackBase, SignalDelivery.AlternateStackFlags(thread, onAlternate), thread.AlternateStackSize);
            BinaryPrimitives.WriteUInt64LittleEndian(span[RtMask..], savedMask);
            // movl $__NR_rt_sigreturn, %eax; int $0x80 (gdb recognises frames by it)
            span[RtRetcode] = 0xb8;
            BinaryPrimitives.WriteUInt32LittleEndian(span[(RtRetcode + 1)..], (uint)RtSignalReturnNumber);
            BinaryPrimitives.WriteUInt16LittleEndian(span[(RtRetcode + 5)..], 0x80cd);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[LegacyExtraMask..], (uint)(savedMask >> 32));
            // popl %eax; movl $__NR_sigreturn, %eax; int $0x80
            BinaryPrimitives.WriteUInt16LittleEndian(span[LegacyRetcode..], 0xb858);
            BinaryPrimitives.WriteUInt32LittleEndian(span[(LegacyRetcode + 2)..], (uint)SignalReturnNumber);
            BinaryPrimitives.WriteUInt16LittleEndian(span[(LegacyRetcode + 6)..], 0x80cd);
        }
        var memory = thread.Memory;
        if (memory.Write(new GuestAddress(mathAt), math) != Errno.None || memory.Write(new GuestAddress(frame), bytes) != Errno.None)
            return false;

        // The handler starts with the FPU as a new program has it, as Linux's fpu__clear_user_states leaves it.
        cpu.RestoreFloatingPoint(X86FloatingPoint.Initial);
        const ulong ClearedFlags = 0x400 | 0x100 | 0x10000; // DF TF RF
        ReadOnlySpan<X64Register> handlerRegisters = [X64Register.Rsp, X64Register.Rip, X64Register.Rax, X64Register.Rdx, X64Register.Rcx, X64Register.Rflags];
        ReadOnlySpan<ulong> values =
        [
            frame, handler, (ulong)info.Signal, realtime ? frame + RtInfo : 0, realtime ? frame + RtContext : 0,
            cpu.ReadRegister(X64Register.Rflags) & ~ClearedFlags,
        ];
        cpu.WriteRegisters(handlerRegisters, values);
        return true;
    }

    /// <summary>SA_RESTORER's function, else the vDSO's __kernel_sigreturn or __kernel_rt_sigreturn (glibc gives none on i386).</summary>
    private static ulong? Restorer(GuestThread thread, in SignalHandlerEntry entry, bool realtime)
    {
        if ((entry.Flags & SignalActions.Restorer) != 0)
            return entry.Restorer;
        foreach (var mapping in thread.Process.AddressSpace.Mappings)
        {
            if (mapping.Name == Loader.Vdso.MappingName)
                return mapping.Start + Loader.Vdso32.SignalReturnOffset(realtime);
        }
        return null;
    }

    /// <summary>The fsave-format header Linux writes before the fxsave image (convert_from_fxsr), with magic 0 for "fxsave follows".</summary>
    private static void LegacyHeader(Span<byte> math)
    {
        var fx = math[FsaveHeader..];
        BinaryPrimitives.WriteUInt32LittleEndian(math, 0xffff0000u | BinaryPrimitives.ReadUInt16LittleEndian(fx));
        BinaryPrimitives.WriteUInt32LittleEndian(math[4..], 0xffff0000u | BinaryPrimitives.ReadUInt16LittleEndian(fx[2..]));
        // The full tag word from the abridged one: a register marked valid is called "valid" (00), an empty one 11.
        uint tags = 0;
        for (var i = 0; i < 8; i++)
            tags |= (fx[4] & (1 << i)) != 0 ? 0u : 3u << (2 * i);
        BinaryPrimitives.WriteUInt32LittleEndian(math[8..], 0xffff0000u | tags);
        for (var i = 0; i < 8; i++)
            fx.Slice(32 + 16 * i, 10).CopyTo(math[(28 + 10 * i)..]);
        BinaryPrimitives.WriteUInt16LittleEndian(math[108..], BinaryPrimitives.ReadUInt16LittleEndian(fx[2..]));
        BinaryPrimitives.WriteUInt16LittleEndian(math[110..], 0); // X86_FXSR_MAGIC
    }

    private static void WriteSigcontext(ICpu cpu, Span<byte> context, SignalInfo info, uint fpState, ulong mask)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(context, cpu.ReadSegment(X86Segment.Gs));
        BinaryPrimitives.WriteUInt32LittleEndian(context[4..], cpu.ReadSegment(X86Segment.Fs));
        BinaryPrimitives.WriteUInt32LittleEndian(context[8..], cpu.ReadSegment(X86Segment.Es));
        BinaryPrimitives.WriteUInt32LittleEndian(context[12..], cpu.ReadSegment(X86Segment.Ds));
        Span<ulong> registers = stackalloc ulong[General.Length];
        cpu.ReadRegisters(General, registers);
        for (var i = 0; i < registers.Length; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(context[(16 + 4 * i)..], (uint)registers[i]);
        BinaryPrimitives.WriteInt32LittleEndian(context[48..], info.TrapNumber);
        BinaryPrimitives.WriteUInt32LittleEndian(context[52..], (uint)info.ErrorCode);
        BinaryPrimitives.WriteUInt32LittleEndian(context[56..], (uint)cpu.ReadRegister(X64Register.Rip));
        BinaryPrimitives.WriteUInt32LittleEndian(context[60..], cpu.ReadSegment(X86Segment.Cs));
        BinaryPrimitives.WriteUInt32LittleEndian(context[64..], (uint)cpu.ReadRegister(X64Register.Rflags));
        BinaryPrimitives.WriteUInt32LittleEndian(context[68..], (uint)registers[3]); // sp_at_signal
        BinaryPrimitives.WriteUInt32LittleEndian(context[72..], cpu.ReadSegment(X86Segment.Ss));
        BinaryPrimitives.WriteUInt32LittleEndian(context[76..], fpState);
        BinaryPrimitives.WriteUInt32LittleEndian(context[80..], (uint)mask);
        BinaryPrimitives.WriteUInt32LittleEndian(context[84..], info.Address is { } address && info.TrapNumber == 14 ? (uint)address : 0);
    }

    /// <summary>Where the frame is once the handler returned: its ret popped pretcode, sigreturn's restorer also popped sig.</summary>
    private ulong FrameAt(ICpu cpu, SignalFrameKind kind) => StackPointer(cpu) - (kind == SignalFrameKind.RealTime ? 4UL : 8UL);

    private static int ContextOffset(bool realtime) => realtime ? RtSigcontext : LegacyContext;

    public bool Return(GuestThread thread, ICpu cpu, SignalFrameKind kind, out ulong mask)
    {
        mask = 0;
        var realtime = kind == SignalFrameKind.RealTime;
        var frame = FrameAt(cpu, kind);
        var bytes = new byte[realtime ? RtSize : LegacySize];
        if (thread.Memory.Read(new GuestAddress(frame), bytes) != Errno.None)
            return false;
        var context = bytes.AsSpan(ContextOffset(realtime), SigcontextSize);
        var fpState = BinaryPrimitives.ReadUInt32LittleEndian(context[76..]);
        if (fpState != 0)
        {
            var fxsave = new byte[Fxsave];
            if (thread.Memory.Read(new GuestAddress(fpState + FsaveHeader), fxsave) != Errno.None)
                return false;
            cpu.RestoreFloatingPoint(fxsave);
        }
        else
        {
            cpu.RestoreFloatingPoint(X86FloatingPoint.Initial);
        }
        // %gs holds the TLS selector: load it only when the handler changed it (a load reads the GDT).
        var gs = (ushort)BinaryPrimitives.ReadUInt32LittleEndian(context);
        if (gs != cpu.ReadSegment(X86Segment.Gs))
            cpu.WriteSegment(X86Segment.Gs, gs);
        Span<ulong> registers = stackalloc ulong[General.Length];
        for (var i = 0; i < registers.Length; i++)
            registers[i] = BinaryPrimitives.ReadUInt32LittleEndian(context[(16 + 4 * i)..]);
        cpu.WriteRegisters(General, registers);
        cpu.WriteRegister(X64Register.Rip, BinaryPrimitives.ReadUInt32LittleEndian(context[56..]));
        const ulong Restored = 0x50dd5; // CF PF AF ZF SF TF DF OF RF AC
        var eflags = cpu.ReadRegister(X64Register.Rflags);
        cpu.WriteRegister(X64Register.Rflags, (eflags & ~Restored) | (BinaryPrimitives.ReadUInt32LittleEndian(context[64..]) & Restored));
        mask = realtime
            ? BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(RtMask))
            : BinaryPrimitives.ReadUInt32LittleEndian(context[80..]) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(LegacyExtraMask)) << 32);
        return true;
    }

    public long SavedResult(GuestThread thread, ICpu cpu, SignalFrameKind kind)
    {
        var eax = FrameAt(cpu, kind) + (ulong)ContextOffset(kind == SignalFrameKind.RealTime) + 44;
        return thread.Memory.Read(new GuestAddress(eax), out int value) == Errno.None ? value : 0;
    }

    public void Restart(ICpu cpu, in InterruptedCall call, ulong number)
    {
        cpu.WriteRegister(X64Register.Rip, call.SyscallAddress);
        cpu.WriteRegister(X64Register.Rax, number);
    }
}
