using Trapeze.Cpu;
using Trapeze.Kernel.Abi;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// FreeBSD or Darwin on i386: <c>int 0x80</c> with the number in EAX and the arguments on the user
/// stack above a return-address slot (the libc stubs call a function that traps), a 64-bit off_t in
/// two slots, low word first; a 64-bit result (lseek) in EDX:EAX. Darwin's Mach traps (<c>int 0x81</c>)
/// and machine-dependent calls (<c>int 0x82</c>) are refused.
/// </summary>
public sealed class BsdI386Personality : BsdPersonality
{
    private readonly bool darwin;

    /// <summary>Handler parameters (by index) that are an off_t: two stack slots.</summary>
    private static readonly Dictionary<string, int> WideArguments = new()
    {
        ["mmap"] = 5,
        ["lseek"] = 1,
        ["pread64"] = 3,
        ["pwrite64"] = 3,
        ["ftruncate"] = 1,
        ["truncate"] = 1,
    };

    private readonly (int Wide, bool[] Signed)?[] plans;
    private readonly HashSet<ulong> wideResults = [];

    public BsdI386Personality(BsdAbi abi)
        : base(abi, abi == BsdAbi.Darwin ? [("mach_trap", 0x100_0000), ("machdep_call", 0x300_0000)] : [])
    {
        darwin = abi == BsdAbi.Darwin;
        Structures = new(DataModel.I386, abi.StatLayout(DataModel.I386));
        SignalFrames = abi == BsdAbi.FreeBsd ? FreeBsdI386SignalFrames.Instance : null;
        plans = new (int, bool[])?[byNumber.Length];
        foreach (var (name, number, definition) in Table)
        {
            if (definition is null || number >= byNumber.Length)
                continue;
            var handler = abi.Aliases.GetValueOrDefault(name) ?? name;
            plans[number] = (WideArguments.GetValueOrDefault(handler, -1), definition.Parameters.Select(p => p.Type == typeof(long)).ToArray());
            if (handler == "lseek")
                wideResults.Add((ulong)number);
        }
    }

    public override string Name => $"{Abi.Os}-i386";
    public override CpuArchitecture Architecture => CpuArchitecture.I386;
    public override LinuxStructures Structures { get; }
    public override ISignalFrames? SignalFrames { get; }

    // FreeBSD i386's USRSTACK (0xbfc00000); Darwin's 32-bit stack below 0xc0000000.
    public override AddressLayout Layout { get; } = new(0xffff_e000, 0xbfc0_0000, 0xafc0_0000, 0x1000_0000);

    public override bool OnInterrupt(GuestThread thread, ICpu cpu, int number)
    {
        if (number == 0x80)
        {
            OnSyscall(thread, cpu, cpu.ReadRegister(X64Register.Rip));
            return true;
        }
        if (!darwin || number is not (0x81 or 0x82))
            return false;
        var call = number == 0x81 ? 0x100_0000UL : 0x300_0000UL;
        Serve(thread, cpu, call, Find(call), default, cpu.ReadRegister(X64Register.Rip), cpu.ReadRegister(X64Register.Rflags));
        return true;
    }

    public override void OnSyscall(GuestThread thread, ICpu cpu, ulong nextInstruction)
    {
        var number = (ulong)(uint)cpu.ReadRegister(X64Register.Rax);
        var stack = (uint)cpu.ReadRegister(X64Register.Rsp);
        Span<uint> slots = stackalloc uint[8];
        // Slot 0 is the stub's return address; a stack too short for the arguments reads as zeros.
        for (var index = 0; index < slots.Length; index++)
        {
            if (thread.Memory.Read(new GuestAddress(stack + 4 + (ulong)(index * 4)), out uint slot) is not Errno.None)
                break;
            slots[index] = slot;
        }
        Span<ulong> values = stackalloc ulong[6];
        var plan = number < (ulong)plans.Length ? plans[number] : null;
        var from = 0;
        for (var index = 0; index < values.Length && from < slots.Length; index++)
        {
            if (plan is { } known && known.Wide == index && from + 1 < slots.Length)
            {
                values[index] = slots[from] | ((ulong)slots[from + 1] << 32);
                from += 2;
                continue;
            }
            var signed = plan is { } typed && index < typed.Signed.Length && typed.Signed[index];
            values[index] = signed ? (ulong)(long)(int)slots[from] : slots[from];
            from++;
        }
        var arguments = new SyscallArguments { Arg0 = values[0], Arg1 = values[1], Arg2 = values[2], Arg3 = values[3], Arg4 = values[4], Arg5 = values[5] };
        // time_t is 32 bits on both systems' i386: every timespec and timeval is two 32-bit words.
        thread.OldTimeLayout = true;
        TranslateArguments(number, ref arguments);
        Serve(thread, cpu, number, Find(number), arguments, nextInstruction, cpu.ReadRegister(X64Register.Rflags));
    }

    private protected override void WriteResult(ICpu cpu, long value, ulong nextInstruction, ulong flags)
    {
        var wide = value >= 0 && wideResults.Contains((uint)cpu.ReadRegister(X64Register.Rax));
        var (result, eflags) = Encode(value, flags);
        if (wide)
            cpu.WriteRegister(X64Register.Rdx, (ulong)value >> 32);
        cpu.WriteRegister(X64Register.Rax, (uint)result);
        cpu.WriteRegister(X64Register.Rflags, eflags);
    }

    public override void StartProgram(ICpu cpu, ulong entry, ulong stackPointer)
    {
        ClearX86(cpu, [X64Register.Rax, X64Register.Rbx, X64Register.Rcx, X64Register.Rdx, X64Register.Rsi, X64Register.Rdi, X64Register.Rbp]);
        cpu.WriteRegister(X64Register.Rsp, stackPointer);
        cpu.WriteRegister(X64Register.Rip, entry);
    }

    public override void StartChild(GuestThread parent, GuestThread child, ulong resumeAt, ulong stack, ulong? tls)
        => StartX86Child(parent, child, resumeAt, stack, Registers);

    /// <summary>
    /// i386's cpu_set_upcall: ESP at the stack's top less 4, rounded down to 16, less 4, where a zero
    /// return address stops unwinding and the argument sits above it, as a cdecl call leaves them.
    /// </summary>
    public override void StartThread(GuestThread child, ulong start, ulong argument, ulong stackTop)
    {
        var sp = ((stackTop - 4) & ~15UL) - 4;
        var memory = child.Process.Memory;
        memory.Write(new GuestAddress(sp), 0u);
        memory.Write(new GuestAddress(sp + 4), (uint)argument);
        child.SetStartRegister(X64Register.Rip, start);
        child.SetStartRegister(X64Register.Rsp, sp);
        child.SetStartRegister(X64Register.Rbp, 0);
    }

    private static readonly X64Register[] Registers =
        [X64Register.Rax, X64Register.Rbx, X64Register.Rcx, X64Register.Rdx, X64Register.Rsi, X64Register.Rdi, X64Register.Rbp, X64Register.Rsp,
         X64Register.Rip, X64Register.Rflags, X64Register.Mxcsr, X64Register.X87Control];
}
