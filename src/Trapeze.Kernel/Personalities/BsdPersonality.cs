using Trapeze.Cpu;
using Trapeze.Kernel.Abi;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// FreeBSD and Darwin on x86: the system's own numbers bound by name to the shared handlers (through
/// <see cref="BsdAbi"/>'s translations), and the BSD error convention: the carry flag set and the
/// positive errno in RAX/EAX on failure, carry clear on success, a second result in RDX/EDX.
/// </summary>
public abstract class BsdPersonality : LinuxPersonality
{
    private const ulong Carry = 1;

    private protected BsdPersonality(BsdAbi abi, (string Name, int Number)[] extra)
        : base([.. abi.Numbers, .. extra], abi.Aliases, (name, definition) => Bind(abi, name, definition))
    {
        Abi = abi;
        rules = new (int, BsdArgument)[]?[byNumber.Length];
        foreach (var (name, number, definition) in Table)
        {
            if (definition is not null && number < byNumber.Length && abi.RulesFor(name) is { Length: > 0 } found)
                rules[number] = found;
        }
    }

    private readonly (int Index, BsdArgument Kind)[]?[] rules;

    /// <summary>The system's flag, signal and clock values in Linux's, for the tracer and the handler alike.</summary>
    private protected void TranslateArguments(ulong number, ref SyscallArguments arguments)
    {
        if (number < (ulong)rules.Length && rules[number] is { } found)
            Abi.Translate(found, ref arguments);
    }

    public BsdAbi Abi { get; }

    public override string Platform => Architecture == CpuArchitecture.I386 ? "i386" : "amd64";
    public override ulong HardwareCapabilities => X64CpuModel.Leaf1Edx;

    /// <summary>Darwin's Mach traps and machine-dependent calls: listed, never served.</summary>
    private static readonly Dictionary<string, string> Refused = new()
    {
        ["mach_trap"] = "Mach traps (syscall class 1) need Mach ports and tasks, which Trapeze does not have: ENOSYS",
        ["machdep_call"] = "machine-dependent calls (syscall class 3, thread_fast_set_cthread_self) are not served: ENOSYS",
    };

    private static SyscallDefinition? Bind(BsdAbi abi, string name, SyscallDefinition? definition)
    {
        // SunOS's personality reads the real number from %o0 before it looks the call up: entry 0 is never dispatched.
        if (abi == BsdAbi.SunOs4 && name == "syscall")
            return new SyscallDefinition(name, Support.Full, "syscall(2): the number in %o0 and the arguments after it, served as that call", name, static (GuestThread _, in SyscallArguments _) => Errno.ENOSYS, []);
        if (Refused.TryGetValue(name, out var note))
            return new SyscallDefinition(name, Support.Unsupported, note, name, static (GuestThread _, in SyscallArguments _) => Errno.ENOSYS, []);
        return abi.Bind(name, definition, static (thread, value) => WriteSecondResult(thread.Process.Cpu, value));
    }

    /// <summary>The second result's register: RDX/EDX on x86, %o1 on SPARC.</summary>
    private static void WriteSecondResult(ICpu cpu, ulong value)
    {
        if (cpu.Architecture == CpuArchitecture.Sparc)
            cpu.WriteRegister(SparcRegister.O1, value);
        else
            cpu.WriteRegister(X64Register.Rdx, value);
    }

    /// <summary>The value, or the system's errno with the carry flag set (what the libc stubs test with jb/jae).</summary>
    private protected (ulong Value, ulong Flags) Encode(long value, ulong flags)
    {
        if (value < 0 && value >= -4095)
            return ((ulong)Abi.ErrnoFromLinux(-value), flags | Carry);
        return ((ulong)value, flags & ~Carry);
    }

    /// <summary>A clone child (fork) returns 0 with RDX/EDX = 1, carry clear, as the BSD kernels' cpu_fork leaves it.</summary>
    private protected static void StartX86Child(GuestThread parent, GuestThread child, ulong resumeAt, ulong stack, IReadOnlyList<X64Register> registers)
    {
        var cpu = parent.Process.Cpu;
        if (child.Process.Cpu == cpu)
            child.Context = cpu.CopyContext();
        else
        {
            foreach (var register in registers)
                child.SetStartRegister(register, cpu.ReadRegister(register));
        }
        child.SetStartRegister(X64Register.Rax, 0);
        child.SetStartRegister(X64Register.Rdx, 1);
        child.SetStartRegister(X64Register.Rflags, cpu.ReadRegister(X64Register.Rflags) & ~Carry);
        child.SetStartRegister(X64Register.Rip, resumeAt);
        if (stack != 0)
            child.SetStartRegister(X64Register.Rsp, stack);
    }

    private protected static void ClearX86(ICpu cpu, IEnumerable<X64Register> registers)
    {
        foreach (var register in registers)
            cpu.WriteRegister(register, 0);
        cpu.WriteRegister(X64Register.Mxcsr, 0x1f80);
        cpu.WriteRegister(X64Register.X87Control, 0x37f);
        cpu.WriteRegister(X64Register.Rflags, 0x202);
    }

    private protected override void ContinueAt(ICpu cpu, ulong nextInstruction) => cpu.WriteRegister(X64Register.Rip, nextInstruction);

    /// <summary>
    /// A thr_new thread's first registers: start(argument) on the given stack, as FreeBSD's
    /// cpu_set_upcall leaves them (amd64: a 16-byte aligned stack less a return-address slot, the argument in RDI).
    /// </summary>
    public virtual void StartThread(GuestThread child, ulong start, ulong argument, ulong stackTop)
    {
        child.SetStartRegister(X64Register.Rip, start);
        child.SetStartRegister(X64Register.Rdi, argument);
        child.SetStartRegister(X64Register.Rsp, (stackTop & ~15UL) - 8);
    }
}

/// <summary>
/// FreeBSD or Darwin on x86-64: <c>syscall</c> with the number in RAX (Darwin: class UNIX, 0x2000000 +
/// number) and arguments in RDI RSI RDX R10 R8 R9; RCX and R11 are clobbered as the hardware does.
/// </summary>
public sealed class BsdX64Personality : BsdPersonality
{
    private const ulong ClassShift = 24, ClassUnix = 2, ClassMach = 1;
    private readonly bool classes;

    public BsdX64Personality(BsdAbi abi)
        : base(abi, abi == BsdAbi.Darwin ? [("mach_trap", 0x100_0000), ("machdep_call", 0x300_0000)] : [])
    {
        classes = abi == BsdAbi.Darwin;
        Structures = new(DataModel.Lp64, abi.StatLayout(DataModel.Lp64));
        SignalFrames = abi == BsdAbi.FreeBsd ? FreeBsdX64SignalFrames.Instance : null;
        // FreeBSD: the stack below the 47-bit user limit (USRSTACK), PIE at 0x800000000000's lower half;
        // Darwin: the stack at 0x7ff7bfeff000 as XNU leaves it without ASLR, programs at their linked address.
        Layout = classes
            ? new AddressLayout(0x7fff_ffff_f000, 0x7ff7_bff0_0000, 0x7ff7_afe0_0000, 0x1_0000_0000)
            : new AddressLayout(0x7fff_ffff_f000, 0x7fff_ffff_f000, 0x7fff_f7ff_f000, 0x1_0000_0000);
    }

    public override string Name => $"{Abi.Os}-x86_64";
    public override CpuArchitecture Architecture => CpuArchitecture.X86_64;
    public override LinuxStructures Structures { get; }
    public override AddressLayout Layout { get; }
    public override ISignalFrames? SignalFrames { get; }

    public override void OnSyscall(GuestThread thread, ICpu cpu, ulong nextInstruction)
    {
        Span<ulong> entry = stackalloc ulong[EntryRegisters.Length];
        cpu.ReadRegisters(EntryRegisters, entry);
        var number = entry[0];
        if (classes)
        {
            var kind = number >> (int)ClassShift;
            number = kind == ClassUnix ? number & 0xff_ffff : kind == ClassMach ? 0x100_0000UL : 0x300_0000UL;
        }
        var arguments = new SyscallArguments { Arg0 = entry[1], Arg1 = entry[2], Arg2 = entry[3], Arg3 = entry[4], Arg4 = entry[5], Arg5 = entry[6] };
        TranslateArguments(number, ref arguments);
        Serve(thread, cpu, number, Find(number), arguments, nextInstruction, entry[7]);
    }

    private protected override void WriteResult(ICpu cpu, long value, ulong nextInstruction, ulong flags)
    {
        var (result, rflags) = Encode(value, flags);
        ReadOnlySpan<ulong> exit = [result, nextInstruction, rflags, rflags];
        cpu.WriteRegisters(ExitRegisters, exit);
    }

    public override void StartProgram(ICpu cpu, ulong entry, ulong stackPointer)
    {
        ClearX86(cpu, GeneralRegisters);
        // FreeBSD's exec_setregs: RDI points at argc, RSP is that address less 8 rounded to 16, plus 8.
        cpu.WriteRegister(X64Register.Rdi, classes ? 0 : stackPointer);
        cpu.WriteRegister(X64Register.Rsp, classes ? stackPointer : ((stackPointer - 8) & ~15UL) + 8);
        cpu.WriteRegister(X64Register.Rip, entry);
    }

    public override void StartChild(GuestThread parent, GuestThread child, ulong resumeAt, ulong stack, ulong? tls)
    {
        StartX86Child(parent, child, resumeAt, stack, AllRegisters);
        if (tls is { } pointer)
            child.SetStartRegister(X64Register.FsBase, pointer);
    }

    private static readonly X64Register[] GeneralRegisters =
        [X64Register.Rax, X64Register.Rbx, X64Register.Rcx, X64Register.Rdx, X64Register.Rsi, X64Register.Rdi, X64Register.Rbp,
         X64Register.R8, X64Register.R9, X64Register.R10, X64Register.R11, X64Register.R12, X64Register.R13, X64Register.R14, X64Register.R15,
         X64Register.FsBase, X64Register.GsBase];

    private static readonly X64Register[] AllRegisters = Enum.GetValues<X64Register>();

    private static ReadOnlySpan<X64Register> EntryRegisters =>
        [X64Register.Rax, X64Register.Rdi, X64Register.Rsi, X64Register.Rdx, X64Register.R10, X64Register.R8, X64Register.R9, X64Register.Rflags];

    private static ReadOnlySpan<X64Register> ExitRegisters => [X64Register.Rax, X64Register.Rcx, X64Register.R11, X64Register.Rflags];
}
