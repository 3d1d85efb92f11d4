using System.Buffers.Binary;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;
using static Trapeze.Kernel.Syscalls.BsdGuest;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// Darwin's signal frames as XNU's sendsig (bsd/dev/i386/unix_signal.c) lays them out below the stack
/// pointer (x86-64: past the 128-byte red zone): the ucontext, the siginfo, then the mcontext (exception
/// state, thread state, float state: 8 reserved bytes and an fxsave image). The kernel enters sa_tramp,
/// not the handler: x86-64 with (catcher, infostyle, signo, siginfo, ucontext, token) in RDI RSI RDX RCX
/// R8 R9, i386 with the same six words on the stack above a return address of -1. The trampoline ends in
/// sigreturn(ucontext, infostyle, token), whose first argument says where the frame is.
/// </summary>
internal sealed class DarwinSignalFrames(BsdAbi abi, bool wide) : ISignalFrames
{
    private const int RedZone = 128, Fxsave = 512;

    // user_ucontext64 (56 bytes) / user_ucontext32 (32): onstack, sigmask, uc_stack {sp, size, flags}, link, mcsize, mcontext.
    private int UcontextSize => wide ? 56 : 32;
    private int SiginfoSize => wide ? 104 : 64;

    // mcontext64: exception state (16), thread state (21 words), float state (524), 8-aligned: 712.
    // mcontext32: exception state (12), thread state (16 words), float state (524): 600.
    private int ExceptionSize => wide ? 16 : 12;
    private int ThreadStateSize => wide ? 21 * 8 : 16 * 4;
    private int McontextSize => wide ? 712 : 600;
    private int FloatImage => ExceptionSize + ThreadStateSize + 8;

    // __darwin_x86_thread_state64: rax rbx rcx rdx rdi rsi rbp rsp r8-r15 rip rflags (then cs fs gs).
    private static readonly X64Register[] State64 =
    [
        X64Register.Rax, X64Register.Rbx, X64Register.Rcx, X64Register.Rdx, X64Register.Rdi, X64Register.Rsi, X64Register.Rbp, X64Register.Rsp,
        X64Register.R8, X64Register.R9, X64Register.R10, X64Register.R11, X64Register.R12, X64Register.R13, X64Register.R14, X64Register.R15,
        X64Register.Rip, X64Register.Rflags,
    ];

    // __darwin_i386_thread_state: eax ebx ecx edx edi esi ebp esp, ss, eflags, eip (then cs ds es fs gs).
    private static readonly X64Register[] State32 =
        [X64Register.Rax, X64Register.Rbx, X64Register.Rcx, X64Register.Rdx, X64Register.Rdi, X64Register.Rsi, X64Register.Rbp, X64Register.Rsp];

    private const int State32Eflags = 9, State32Eip = 10;
    private const ulong UserFlags = 0xcd5; // CF PF AF ZF SF DF OF: what sigreturn takes from the guest's rflags

    public ulong StackPointer(ICpu cpu) => wide ? cpu.ReadRegister(X64Register.Rsp) : (uint)cpu.ReadRegister(X64Register.Rsp);

    public bool Enter(GuestThread thread, ICpu cpu, in SignalHandlerEntry entry)
    {
        var info = entry.Info;
        var interrupted = StackPointer(cpu);
        var top = entry.SwitchToAlternateStack ? thread.AlternateStackBase + thread.AlternateStackSize : interrupted;
        if (wide)
            top -= RedZone;
        var uctx = top - (ulong)UcontextSize;
        var sinfo = uctx - (ulong)SiginfoSize;
        var mctx = sinfo - (ulong)McontextSize;
        // The trampoline starts as a function does: 16-byte aligned before the call pushed its return address.
        var frameWords = wide ? 0UL : 28UL;
        var sp = ((mctx - frameWords) & ~15UL) - (wide ? 8UL : 4UL);
        if (sp >= interrupted && !entry.SwitchToAlternateStack || sp < 4096)
            return false;

        var signal = (int)abi.SignalFromLinux(info.Signal);
        var style = (ulong)abi.Constant((entry.Flags & SignalActions.Information) != 0 ? "UC_FLAVOR" : "UC_TRAD");
        var token = uctx; // uctx ^ ps_sigreturn_token, with a token of 0

        var mcontext = new byte[McontextSize];
        WriteMcontext(cpu, mcontext, info);
        var siginfo = new byte[SiginfoSize];
        WriteSiginfo(siginfo, info, signal, cpu);
        var ucontext = new byte[UcontextSize];
        var stackSize = entry.SwitchToAlternateStack ? thread.AlternateStackSize : 0;
        var stackFlags = entry.OnAlternateStack ? (int)abi.Constant("SS_ONSTACK") : 0;
        var mask = BinaryPrimitives.ReadUInt32LittleEndian(abi.SignalSetFromLinux(entry.SavedMask));
        BinaryPrimitives.WriteInt32LittleEndian(ucontext, entry.OnAlternateStack ? 1 : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(ucontext.AsSpan(4), mask);
        if (wide)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(ucontext.AsSpan(8), sp);
            BinaryPrimitives.WriteUInt64LittleEndian(ucontext.AsSpan(16), stackSize);
            BinaryPrimitives.WriteInt32LittleEndian(ucontext.AsSpan(24), stackFlags);
            BinaryPrimitives.WriteUInt64LittleEndian(ucontext.AsSpan(40), (ulong)McontextSize);
            BinaryPrimitives.WriteUInt64LittleEndian(ucontext.AsSpan(48), mctx);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(ucontext.AsSpan(8), (uint)sp);
            BinaryPrimitives.WriteUInt32LittleEndian(ucontext.AsSpan(12), (uint)stackSize);
            BinaryPrimitives.WriteInt32LittleEndian(ucontext.AsSpan(16), stackFlags);
            BinaryPrimitives.WriteUInt32LittleEndian(ucontext.AsSpan(24), (uint)McontextSize);
            BinaryPrimitives.WriteUInt32LittleEndian(ucontext.AsSpan(28), (uint)mctx);
        }
        var memory = thread.Memory;
        if (memory.Write(new GuestAddress(mctx), mcontext) != Errno.None || memory.Write(new GuestAddress(sinfo), siginfo) != Errno.None
            || memory.Write(new GuestAddress(uctx), ucontext) != Errno.None)
            return false;

        const ulong ClearedFlags = 0x400 | 0x100 | 0x10000; // DF TF RF
        var rflags = cpu.ReadRegister(X64Register.Rflags) & ~ClearedFlags;
        if (wide)
        {
            ReadOnlySpan<X64Register> registers = [X64Register.Rdi, X64Register.Rsi, X64Register.Rdx, X64Register.Rcx, X64Register.R8, X64Register.R9, X64Register.Rsp, X64Register.Rip, X64Register.Rflags];
            ReadOnlySpan<ulong> values = [entry.Handler, style, (ulong)signal, sinfo, uctx, token, sp, entry.Restorer, rflags];
            cpu.WriteRegisters(registers, values);
        }
        else
        {
            // struct sigframe32: retaddr (-1), catcher, sigstyle, sig, sinfo, uctx, token.
            Span<byte> frame = stackalloc byte[28];
            ReadOnlySpan<uint> words = [uint.MaxValue, (uint)entry.Handler, (uint)style, (uint)signal, (uint)sinfo, (uint)uctx, (uint)token];
            for (var index = 0; index < words.Length; index++)
                BinaryPrimitives.WriteUInt32LittleEndian(frame[(4 * index)..], words[index]);
            if (memory.Write(new GuestAddress(sp), frame) != Errno.None)
                return false;
            ReadOnlySpan<X64Register> registers = [X64Register.Rsp, X64Register.Rip, X64Register.Rflags];
            ReadOnlySpan<ulong> values = [sp, entry.Restorer, rflags];
            cpu.WriteRegisters(registers, values);
        }
        // The handler starts with the FPU as a new program has it (ml_fp_setvalid(FALSE)).
        cpu.RestoreFloatingPoint(X86FloatingPoint.Initial);
        return true;
    }

    private void WriteMcontext(ICpu cpu, Span<byte> mcontext, SignalInfo info)
    {
        // Exception state: trapno, cpu, err, faultvaddr (CR2 of a page fault).
        BinaryPrimitives.WriteUInt16LittleEndian(mcontext, (ushort)info.TrapNumber);
        BinaryPrimitives.WriteUInt32LittleEndian(mcontext[4..], (uint)info.ErrorCode);
        var fault = info.Address is { } address && info.TrapNumber == 14 ? address : 0;
        var state = mcontext[ExceptionSize..];
        if (wide)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(mcontext[8..], fault);
            Span<ulong> registers = stackalloc ulong[State64.Length];
            // The engine moves at most 16 registers at once.
            cpu.ReadRegisters(State64.AsSpan(0, 9), registers[..9]);
            cpu.ReadRegisters(State64.AsSpan(9), registers[9..]);
            for (var index = 0; index < registers.Length; index++)
                BinaryPrimitives.WriteUInt64LittleEndian(state[(8 * index)..], registers[index]);
            BinaryPrimitives.WriteUInt64LittleEndian(state[(8 * 18)..], cpu.ReadSegment(X86Segment.Cs));
            BinaryPrimitives.WriteUInt64LittleEndian(state[(8 * 19)..], cpu.ReadSegment(X86Segment.Fs));
            BinaryPrimitives.WriteUInt64LittleEndian(state[(8 * 20)..], cpu.ReadSegment(X86Segment.Gs));
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(mcontext[8..], (uint)fault);
            Span<ulong> registers = stackalloc ulong[State32.Length];
            cpu.ReadRegisters(State32, registers);
            for (var index = 0; index < registers.Length; index++)
                BinaryPrimitives.WriteUInt32LittleEndian(state[(4 * index)..], (uint)registers[index]);
            ReadOnlySpan<X86Segment> segments = [X86Segment.Cs, X86Segment.Ds, X86Segment.Es, X86Segment.Fs, X86Segment.Gs];
            BinaryPrimitives.WriteUInt32LittleEndian(state[32..], cpu.ReadSegment(X86Segment.Ss));
            BinaryPrimitives.WriteUInt32LittleEndian(state[(4 * State32Eflags)..], (uint)cpu.ReadRegister(X64Register.Rflags));
            BinaryPrimitives.WriteUInt32LittleEndian(state[(4 * State32Eip)..], (uint)cpu.ReadRegister(X64Register.Rip));
            for (var index = 0; index < segments.Length; index++)
                BinaryPrimitives.WriteUInt32LittleEndian(state[(44 + 4 * index)..], cpu.ReadSegment(segments[index]));
        }
        cpu.SaveFloatingPoint(mcontext.Slice(FloatImage, Fxsave));
    }

    /// <summary>siginfo: signo errno code pid uid status addr value band, then pad[0] = the interrupted stack pointer.</summary>
    private void WriteSiginfo(Span<byte> siginfo, SignalInfo info, int signal, ICpu cpu)
    {
        BinaryPrimitives.WriteInt32LittleEndian(siginfo, signal);
        BinaryPrimitives.WriteInt32LittleEndian(siginfo[4..], info.Errno);
        BinaryPrimitives.WriteInt32LittleEndian(siginfo[8..], abi.SignalCodeFromLinux(info.Code));
        var child = info.Signal == (int)Signal.SIGCHLD && info.Code > 0;
        var fault = info.Signal is (int)Signal.SIGSEGV or (int)Signal.SIGBUS && info.Code > 0;
        if (!fault)
        {
            BinaryPrimitives.WriteInt32LittleEndian(siginfo[12..], info.Pid);
            BinaryPrimitives.WriteUInt32LittleEndian(siginfo[16..], info.Uid);
        }
        if (child)
            BinaryPrimitives.WriteInt32LittleEndian(siginfo[20..], info.Status);
        // si_addr: the faulting address for SIGSEGV and SIGBUS, the interrupted instruction otherwise.
        var address = fault ? info.Address ?? 0 : cpu.ReadRegister(X64Register.Rip);
        var word = wide ? 8 : 4;
        PutWord(siginfo[24..], address, word);
        PutWord(siginfo[(24 + word)..], info.Value, word);
        PutWord(siginfo[(24 + 3 * word)..], StackPointer(cpu), word);
    }

    /// <summary>sigreturn's first argument: RDI on x86-64, the first stack slot above the stub's return address on i386.</summary>
    private ulong? ContextAddress(GuestThread thread, ICpu cpu)
    {
        if (wide)
            return cpu.ReadRegister(X64Register.Rdi);
        return thread.Memory.Read(new GuestAddress(StackPointer(cpu) + 4), out uint context) == Errno.None ? context : null;
    }

    /// <summary>The ucontext's mask (Darwin's set, as the kernel's) and its mcontext's address.</summary>
    private bool ReadUcontext(GuestThread thread, ICpu cpu, out ulong mask, out ulong mcontext)
    {
        mask = 0;
        mcontext = 0;
        Span<byte> ucontext = stackalloc byte[UcontextSize];
        if (ContextAddress(thread, cpu) is not { } address || thread.Memory.Read(new GuestAddress(address), ucontext) != Errno.None)
            return false;
        mask = abi.SignalSetToLinux(ucontext.Slice(4, 4));
        mcontext = wide ? BinaryPrimitives.ReadUInt64LittleEndian(ucontext[48..]) : BinaryPrimitives.ReadUInt32LittleEndian(ucontext[28..]);
        return true;
    }

    public bool Return(GuestThread thread, ICpu cpu, SignalFrameKind kind, out ulong mask)
    {
        mask = 0;
        var mcontext = new byte[McontextSize];
        if (!ReadUcontext(thread, cpu, out var savedMask, out var at) || thread.Memory.Read(new GuestAddress(at), mcontext) != Errno.None)
            return false;
        var state = mcontext.AsSpan(ExceptionSize);
        var flags = cpu.ReadRegister(X64Register.Rflags);
        if (wide)
        {
            Span<ulong> registers = stackalloc ulong[State64.Length];
            for (var index = 0; index < registers.Length; index++)
                registers[index] = BinaryPrimitives.ReadUInt64LittleEndian(state[(8 * index)..]);
            registers[^1] = (flags & ~UserFlags) | (registers[^1] & UserFlags);
            cpu.WriteRegisters(State64.AsSpan(0, 9), registers[..9]);
            cpu.WriteRegisters(State64.AsSpan(9), registers[9..]);
        }
        else
        {
            Span<ulong> registers = stackalloc ulong[State32.Length];
            for (var index = 0; index < registers.Length; index++)
                registers[index] = BinaryPrimitives.ReadUInt32LittleEndian(state[(4 * index)..]);
            cpu.WriteRegisters(State32, registers);
            var eflags = BinaryPrimitives.ReadUInt32LittleEndian(state[(4 * State32Eflags)..]);
            cpu.WriteRegister(X64Register.Rflags, (flags & ~UserFlags) | (eflags & UserFlags));
            cpu.WriteRegister(X64Register.Rip, BinaryPrimitives.ReadUInt32LittleEndian(state[(4 * State32Eip)..]));
        }
        cpu.RestoreFloatingPoint(mcontext.AsSpan(FloatImage, Fxsave));
        mask = savedMask;
        return true;
    }

    public long SavedResult(GuestThread thread, ICpu cpu, SignalFrameKind kind)
    {
        if (!ReadUcontext(thread, cpu, out _, out var mcontext))
            return 0;
        var rax = new GuestAddress(mcontext + (ulong)ExceptionSize);
        if (wide)
            return thread.Memory.Read(rax, out long value) == Errno.None ? value : 0;
        return thread.Memory.Read(rax, out int word) == Errno.None ? word : 0;
    }

    public ulong? SavedMask(GuestThread thread, ICpu cpu, SignalFrameKind kind)
        => ReadUcontext(thread, cpu, out var mask, out _) ? mask : null;

    /// <summary>Back on the syscall instruction with the call's number (x86-64's in the UNIX class) in RAX.</summary>
    public void Restart(ICpu cpu, in InterruptedCall call, ulong number)
    {
        cpu.WriteRegister(X64Register.Rip, call.SyscallAddress);
        cpu.WriteRegister(X64Register.Rax, wide ? DarwinUnixClass | number : number);
    }

    private const ulong DarwinUnixClass = 0x200_0000;
}
