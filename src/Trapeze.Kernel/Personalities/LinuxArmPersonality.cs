using Trapeze.Cpu;
using Trapeze.Kernel.Abi;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// Linux on ARM, EABI, little-endian: <c>svc 0</c> (<c>swi 0</c>) with the number in R7 and arguments
/// in R0-R6, result or -errno in R0; 64-bit arguments in an even/odd register pair. Every other
/// register is preserved. The ARM private calls (set_tls, cacheflush...) sit at 0x0f0000.
/// </summary>
public sealed class LinuxArmPersonality : Linux32Personality
{
    public LinuxArmPersonality()
        : base(LinuxArmSyscallNumbers.All, LinuxI386Personality.CommonAliases, alignPairs: true)
    {
        foreach (var (name, number, _) in Table)
        {
            var at = name switch { "open" => 1, "openat" => 2, _ => -1 };
            if (at >= 0)
                openFlagsAt[(ulong)number] = at;
            if (name is "fcntl" or "fcntl64")
                fcntls.Add((ulong)number);
        }
    }

    private readonly Dictionary<ulong, int> openFlagsAt = [];
    private readonly HashSet<ulong> fcntls = [];

    // asm/fcntl.h: ARM numbers four open flags differently from x86 (and asm-generic).
    private static readonly (ulong Arm, ulong Kernel)[] OpenFlagDifferences =
    [
        (0x4000, 0x10000), // O_DIRECTORY
        (0x8000, 0x20000), // O_NOFOLLOW
        (0x10000, 0x4000), // O_DIRECT
        (0x20000, 0x8000), // O_LARGEFILE
    ];

    /// <summary>ARM's open flags in the kernel's (x86's) numbering, or back.</summary>
    public static ulong TranslateOpenFlags(ulong flags, bool toKernel)
    {
        var result = flags;
        foreach (var (arm, kernel) in OpenFlagDifferences)
            result &= ~(toKernel ? arm : kernel);
        foreach (var (arm, kernel) in OpenFlagDifferences)
        {
            if ((flags & (toKernel ? arm : kernel)) != 0)
                result |= toKernel ? kernel : arm;
        }
        return result;
    }

    private protected override void TranslateArguments(ulong number, ref SyscallArguments arguments)
    {
        const ulong SetStatusFlags = 4; // F_SETFL
        if (openFlagsAt.TryGetValue(number, out var at))
        {
            if (at == 1)
                arguments.Arg1 = TranslateOpenFlags(arguments.Arg1, toKernel: true);
            else
                arguments.Arg2 = TranslateOpenFlags(arguments.Arg2, toKernel: true);
        }
        else if (fcntls.Contains(number) && arguments.Arg1 == SetStatusFlags)
        {
            arguments.Arg2 = TranslateOpenFlags(arguments.Arg2, toKernel: true);
        }
    }

    public override string Name => "linux-arm";
    public override CpuArchitecture Architecture => CpuArchitecture.Arm;
    public override LinuxStructures Structures { get; } = new(DataModel.ArmEabi);

    // The 3G/1G split: TASK_SIZE 0xbf000000 (PAGE_OFFSET less 16 MiB), the stack at its top, PIE at 2/3.
    public override AddressLayout Layout { get; } = new(0xbf00_0000, 0xbf00_0000, 0xb6ff_f000, 0x7f55_5000);
    public override string Platform => "v7l";
    public override ISignalFrames SignalFrames { get; } = new LinuxArmSignalFrames();

    /// <summary>
    /// AT_HWCAP (asm/hwcap.h) of Unicorn's Cortex-A15: SWP HALF THUMB FAST_MULT VFP EDSP NEON VFPv3 TLS
    /// VFPv4 IDIVA IDIVT VFPD32 LPAE.
    /// </summary>
    public override ulong HardwareCapabilities => (1 << 0) | (1 << 1) | (1 << 2) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 12)
        | (1 << 13) | (1 << 15) | (1 << 16) | (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20);

    private const ulong ThumbBit = 1 << 5;

    public override void OnSyscall(GuestThread thread, ICpu cpu, ulong nextInstruction)
    {
        Span<ulong> entry = stackalloc ulong[EntryRegisters.Length];
        cpu.ReadRegisters(EntryRegisters, entry);
        Serve32(thread, cpu, entry[7], entry[..7], nextInstruction);
    }

    private protected override void WriteResult(ICpu cpu, long value, ulong nextInstruction, ulong flags)
    {
        // F_GETFL answers in the kernel's numbering: the guest gets ARM's. (Its R1 still holds the command.)
        const ulong GetStatusFlags = 3; // F_GETFL
        if (value > 0 && fcntls.Contains(cpu.ReadRegister(ArmRegister.R7)) && cpu.ReadRegister(ArmRegister.R1) == GetStatusFlags)
            value = (long)TranslateOpenFlags((ulong)value, toKernel: false);
        cpu.WriteRegister(ArmRegister.R0, Narrow(value, flags));
    }

    // Writing the PC chooses the state from bit 0: keep the caller's (Thumb code calls svc too).
    // svc in ARM state; a Thumb svc is 2 bytes, and a restart from Thumb code would go back too far.
    private protected override ulong SyscallInstructionLength => 4;

    private protected override void ContinueAt(ICpu cpu, ulong nextInstruction)
        => cpu.WriteRegister(ArmRegister.Pc, nextInstruction | ((cpu.ReadRegister(ArmRegister.Cpsr) & ThumbBit) != 0 ? 1UL : 0));

    public override void StartProgram(ICpu cpu, ulong entry, ulong stackPointer)
    {
        for (var register = ArmRegister.R0; register <= ArmRegister.Lr; register++)
            cpu.WriteRegister(register, 0);
        cpu.WriteRegister(ArmRegister.Tls, 0);
        cpu.WriteRegister(ArmRegister.Sp, stackPointer);
        cpu.WriteRegister(ArmRegister.Pc, entry);
    }

    public override void StartChild(GuestThread parent, GuestThread child, ulong resumeAt, ulong stack, ulong? tls)
    {
        var cpu = parent.Process.Cpu;
        var thumb = (cpu.ReadRegister(ArmRegister.Cpsr) & ThumbBit) != 0 ? 1UL : 0;
        if (child.Process.Cpu == cpu)
        {
            child.Context = cpu.SaveContext();
        }
        else
        {
            // A forked child's CPU gets a copy of the caller's registers (the PC last: it sets the state).
            foreach (var register in Enum.GetValues<ArmRegister>())
            {
                if (register != ArmRegister.Pc)
                {
                    var value = cpu.ReadRegister(register);
                    child.SetStartState(target => target.WriteRegister(register, value));
                }
            }
        }
        child.SetStartState(target =>
        {
            target.WriteRegister(ArmRegister.R0, 0);
            target.WriteRegister(ArmRegister.Pc, resumeAt | thumb);
            if (stack != 0)
                target.WriteRegister(ArmRegister.Sp, stack);
            if (tls is { } pointer)
                target.WriteRegister(ArmRegister.Tls, pointer);
        });
    }

    private static ReadOnlySpan<ArmRegister> EntryRegisters =>
        [ArmRegister.R0, ArmRegister.R1, ArmRegister.R2, ArmRegister.R3, ArmRegister.R4, ArmRegister.R5, ArmRegister.R6, ArmRegister.R7];
}
