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

    private readonly ulong readCall, writeCall;

    public LinuxX64Personality()
        : base(LinuxX64SyscallNumbers.All)
    {
        readCall = NumberOf("read");
        writeCall = NumberOf("write");
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

    /// <summary>read(2) and write(2) on a host socket: a server and its client then run at once, system calls included.</summary>
    public override bool ServedOutsideKernel(GuestThread thread, ICpu cpu, ulong nextInstruction)
    {
        // Most calls are neither: only their number is read here, and the kernel reads the rest.
        var number = cpu.ReadRegister(X64Register.Rax);
        if (number != readCall && number != writeCall)
            return false;
        Span<ulong> entry = stackalloc ulong[EntryRegisters.Length];
        cpu.ReadRegisters(EntryRegisters, entry);
        if (Net.HostSocket.TransferOutsideKernel(thread, (int)entry[1], new Memory.GuestAddress(entry[2]), entry[3], send: number == writeCall) is not { } transferred)
            return false;
        WriteResult(cpu, transferred, nextInstruction, entry[7]);
        return true;
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

    // Every register but the control ones: the segment bases start at 0 and a fork copies them too.
    private static readonly X64Register[] General = Enum.GetValues<X64Register>()
        .Where(register => register is not (X64Register.Rflags or X64Register.Rip or X64Register.Rsp or X64Register.Mxcsr or X64Register.X87Control)).ToArray();

    private protected override IReadOnlyList<X64Register> ClearedAtStart => General;

    public override void StartChild(GuestThread parent, GuestThread child, ulong resumeAt, ulong stack, ulong? tls)
    {
        base.StartChild(parent, child, resumeAt, stack, tls);
        // The syscall instruction's RCX: the address it returns to.
        child.SetStartRegister(X64Register.Rcx, resumeAt);
    }

    private protected override void SetThreadPointer(GuestThread parent, GuestThread child, ulong tls) => child.SetStartRegister(X64Register.FsBase, tls);

    // One engine call each way per syscall: number and arguments (and RFLAGS for R11) in, RAX RCX R11 out.
    private static ReadOnlySpan<X64Register> EntryRegisters =>
        [X64Register.Rax, X64Register.Rdi, X64Register.Rsi, X64Register.Rdx, X64Register.R10, X64Register.R8, X64Register.R9, X64Register.Rflags];

    private static ReadOnlySpan<X64Register> ExitRegisters => [X64Register.Rax, X64Register.Rcx, X64Register.R11];
}
