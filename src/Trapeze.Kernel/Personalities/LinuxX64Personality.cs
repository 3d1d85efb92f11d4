using Trapeze.Cpu;
using Trapeze.Kernel.Abi;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// Linux on x86-64: number in RAX, arguments in RDI RSI RDX R10 R8 R9, result or -errno in RAX.
/// Like the hardware, every syscall leaves RCX = the next instruction and R11 = RFLAGS;
/// all other registers are preserved. <c>int 0x80</c> takes the i386 table, as Linux's compat entry does.
/// </summary>
public sealed class LinuxX64Personality : LinuxPersonality
{
    private LinuxI386Personality? compat;

    public LinuxX64Personality()
        : base(LinuxX64SyscallNumbers.All)
    {
    }

    public override string Name => "linux-x86_64";
    public override CpuArchitecture Architecture => CpuArchitecture.X86_64;
    public override LinuxStructures Structures { get; } = new(DataModel.Lp64);

    // TASK_SIZE with 4-level paging; the stack at its top, mmap below the stack's 8 MiB and gap; PIE at 2/3 (ELF_ET_DYN_BASE without ASLR).
    public override AddressLayout Layout { get; } = new(0x7fff_ffff_f000, 0x7fff_ffff_f000, 0x7fff_f7ff_f000, 0x5555_5555_4000);
    public override string Platform => "x86_64";
    public override ulong HardwareCapabilities => X64CpuModel.Leaf1Edx;
    public override ISignalFrames SignalFrames => LinuxX64SignalFrames.Instance;

    public override void OnSyscall(GuestThread thread, ICpu cpu, ulong nextInstruction)
    {
        Span<ulong> entry = stackalloc ulong[EntryRegisters.Length];
        cpu.ReadRegisters(EntryRegisters, entry);
        var number = entry[0];
        var arguments = new SyscallArguments
        {
            Arg0 = entry[1],
            Arg1 = entry[2],
            Arg2 = entry[3],
            Arg3 = entry[4],
            Arg4 = entry[5],
            Arg5 = entry[6],
        };
        Serve(thread, cpu, number, number < (ulong)byNumber.Length ? byNumber[number] : null, arguments, nextInstruction, entry[7]);
    }

    /// <summary>int 0x80 from 64-bit code: the i386 numbers, with the arguments cut to 32 bits (reference 04).</summary>
    public override bool OnInterrupt(GuestThread thread, ICpu cpu, int number)
    {
        if (number != 0x80)
            return false;
        compat ??= thread.Kernel.LinuxI386;
        compat.OnSyscall(thread, cpu, cpu.ReadRegister(X64Register.Rip));
        return true;
    }

    private protected override void WriteResult(ICpu cpu, long value, ulong nextInstruction, ulong flags)
    {
        // RFLAGS as read on entry: no handler changes the flags of the thread that called it.
        ReadOnlySpan<ulong> exit = [(ulong)value, nextInstruction, flags];
        cpu.WriteRegisters(ExitRegisters, exit);
    }

    private protected override void ContinueAt(ICpu cpu, ulong nextInstruction) => cpu.WriteRegister(X64Register.Rip, nextInstruction);

    public override void StartProgram(ICpu cpu, ulong entry, ulong stackPointer)
    {
        foreach (var register in Enum.GetValues<X64Register>())
        {
            if (register is not (X64Register.Rflags or X64Register.Rip or X64Register.Mxcsr or X64Register.X87Control))
                cpu.WriteRegister(register, 0);
        }
        // The floating-point state Linux starts a program with: exceptions masked, round to nearest.
        cpu.WriteRegister(X64Register.Mxcsr, 0x1f80);
        cpu.WriteRegister(X64Register.X87Control, 0x37f);
        cpu.WriteRegister(X64Register.Rsp, stackPointer);
        cpu.WriteRegister(X64Register.Rip, entry);
        cpu.WriteRegister(X64Register.Rflags, 0x202);
    }

    public override void StartChild(GuestThread parent, GuestThread child, ulong resumeAt, ulong stack, ulong? tls)
    {
        var cpu = parent.Process.Cpu;
        if (child.Process.Cpu == cpu)
        {
            child.Context = cpu.SaveContext();
        }
        else
        {
            // A forked child starts on its own CPU with a copy of the caller's registers.
            foreach (var register in Enum.GetValues<X64Register>())
                child.SetStartRegister(register, cpu.ReadRegister(register));
        }
        child.SetStartRegister(X64Register.Rcx, resumeAt);
        child.SetStartRegister(X64Register.Rax, 0);
        child.SetStartRegister(X64Register.Rip, resumeAt);
        if (stack != 0)
            child.SetStartRegister(X64Register.Rsp, stack);
        if (tls is { } pointer)
            child.SetStartRegister(X64Register.FsBase, pointer);
    }

    // One engine call each way per syscall: number and arguments (and RFLAGS for R11) in, RAX RCX R11 out.
    private static ReadOnlySpan<X64Register> EntryRegisters =>
        [X64Register.Rax, X64Register.Rdi, X64Register.Rsi, X64Register.Rdx, X64Register.R10, X64Register.R8, X64Register.R9, X64Register.Rflags];

    private static ReadOnlySpan<X64Register> ExitRegisters => [X64Register.Rax, X64Register.Rcx, X64Register.R11];
}
