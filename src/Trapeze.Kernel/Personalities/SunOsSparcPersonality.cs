using Trapeze.Cpu;
using Trapeze.Kernel.Abi;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// SunOS 4 on SPARC: <c>ta 0</c> with the number in %g1 (0: the number in %o0 and the arguments after
/// it, syscall(2)) and the arguments in %o0-%o5; the result in %o0 (and %o1) with the PSR's carry clear,
/// or the positive SunOS errno in %o0 with carry set. The kernel also owns the register windows, as
/// SunOS's trap handlers do: an overflow spills the oldest window's locals and ins to the 16 words at
/// its %sp, an underflow fills the caller's window from its frame, and <c>ta 3</c> flushes them all.
/// </summary>
public sealed class SunOsSparcPersonality : BsdPersonality
{
    private const uint SoftwareTrap = 0x80, SystemCall = 0, FlushWindows = 3, WindowOverflow = 5, WindowUnderflow = 6;
    private const ulong Carry = 1 << 20; // PSR_C
    private const int WindowWords = 16;

    /// <summary>Which of each call's handler parameters are C longs: SunOS passes them in 32 bits, sign-extended here.</summary>
    private readonly bool[]?[] signedArguments;

    public SunOsSparcPersonality()
        : base(BsdAbi.SunOs4, [])
    {
        signedArguments = new bool[]?[byNumber.Length];
        foreach (var (_, number, definition) in Table)
        {
            if (definition is not null && number < byNumber.Length)
                signedArguments[number] = [.. definition.Parameters.Select(p => p.Type == typeof(long))];
        }
    }

    public override string Name => "sunos4-sparc";
    public override CpuArchitecture Architecture => CpuArchitecture.Sparc;
    public override string Platform => "sun4";
    public override ulong HardwareCapabilities => 0;

    /// <summary>
    /// SunOS 4's struct stat (sys/stat.h): short dev_t, mode_t, nlink, uid_t, gid_t; long ino, size and
    /// times, each time followed by a spare word; 64 bytes, big-endian.
    /// </summary>
    private static readonly GuestLayout Stat = new(DataModel.Sparc,
        (CType.Short, "st_dev"), (CType.Long, "st_ino"), (CType.Short, "st_mode"), (CType.Short, "st_nlink"),
        (CType.Short, "st_uid"), (CType.Short, "st_gid"), (CType.Short, "st_rdev"), (CType.Long, "st_size"),
        (CType.Long, "st_atime"), (CType.Long, "st_spare1"), (CType.Long, "st_mtime"), (CType.Long, "st_spare2"),
        (CType.Long, "st_ctime"), (CType.Long, "st_spare3"), (CType.Long, "st_blksize"), (CType.Long, "st_blocks"),
        (CType.Long, "st_spare4"), (CType.Long, "st_spare5"));

    public override LinuxStructures Structures { get; } = new(DataModel.Sparc, Stat);

    public override ISignalFrames? SignalFrames { get; } = new SunOsSignalFrames();

    // sun4c's USRSTACK is 0xf8000000 (KERNELBASE): the stack's top; mmap below the 8 MiB stack.
    public override AddressLayout Layout { get; } = new(0xf800_0000, 0xf800_0000, 0xf700_0000, 0x2000);

    public override bool OnInterrupt(GuestThread thread, ICpu cpu, int number)
    {
        switch ((uint)number)
        {
            case SoftwareTrap + SystemCall:
                OnSyscall(thread, cpu, cpu.ReadRegister(SparcRegister.Pc));
                return true;
            case SoftwareTrap + FlushWindows:
                return Flush(thread, cpu);
            case WindowOverflow:
                return Spill(thread, cpu, Modulo((int)Window(cpu) - 2, cpu.RegisterWindows));
            case WindowUnderflow:
                return Fill(thread, cpu);
            default:
                return false;
        }
    }

    public override void OnSyscall(GuestThread thread, ICpu cpu, ulong nextInstruction)
    {
        var number = cpu.ReadRegister(SparcRegister.G1);
        Span<ulong> values = stackalloc ulong[6];
        var first = SparcRegister.O0;
        if (number == 0)
        {
            number = cpu.ReadRegister(SparcRegister.O0);
            first = SparcRegister.O1;
        }
        for (var index = 0; index < values.Length && first + index <= SparcRegister.O5; index++)
            values[index] = cpu.ReadRegister(first + index);
        if (number < (ulong)signedArguments.Length && signedArguments[number] is { } signed)
        {
            for (var index = 0; index < signed.Length && index < values.Length; index++)
                values[index] = signed[index] ? (ulong)(long)(int)values[index] : values[index];
        }
        var arguments = new SyscallArguments { Arg0 = values[0], Arg1 = values[1], Arg2 = values[2], Arg3 = values[3], Arg4 = values[4], Arg5 = values[5] };
        // Every SunOS time_t and timeval is 32 bits.
        thread.OldTimeLayout = true;
        TranslateArguments(number, ref arguments);
        Serve(thread, cpu, number, Find(number), arguments, nextInstruction, 0);
    }

    private protected override void WriteResult(ICpu cpu, long value, ulong nextInstruction, ulong flags)
    {
        var failed = value < 0 && value >= -4095;
        cpu.WriteRegister(SparcRegister.O0, failed ? (ulong)Abi.ErrnoFromLinux(-value) : (ulong)value);
        var psr = cpu.ReadRegister(SparcRegister.Psr);
        cpu.WriteRegister(SparcRegister.Psr, failed ? psr | Carry : psr & ~Carry);
    }

    private protected override ulong SyscallInstructionLength => 4;

    private protected override void ContinueAt(ICpu cpu, ulong nextInstruction) => cpu.WriteRegister(SparcRegister.Pc, nextInstruction);

    /// <summary>
    /// What SunOS's exec leaves: every register zero but %sp (the argument block 64 bytes above it, past
    /// a register save area), window 0 current with window 1 invalid, the FPU enabled.
    /// </summary>
    public override void StartProgram(ICpu cpu, ulong entry, ulong stackPointer)
    {
        Span<uint> zeros = stackalloc uint[24];
        for (var window = 0; window < cpu.RegisterWindows; window++)
            cpu.WriteWindow(window, 0, zeros);
        for (var register = SparcRegister.G0; register <= SparcRegister.G7; register++)
            cpu.WriteRegister(register, 0);
        cpu.WriteRegister(SparcRegister.Y, 0);
        cpu.WriteRegister(SparcRegister.Psr, 1 << 12);
        cpu.WriteRegister(SparcRegister.Wim, 1u << (1 % cpu.RegisterWindows));
        cpu.WriteRegister(SparcRegister.O6, stackPointer);
        cpu.WriteRegister(SparcRegister.Pc, entry);
    }

    /// <summary>
    /// A forked child's CPU gets the caller's whole register file, every window included; the call returns
    /// the parent's ID in %o0 and 1 in %o1 (libc's fork turns that into 0), carry clear.
    /// </summary>
    public override void StartChild(GuestThread parent, GuestThread child, ulong resumeAt, ulong stack, ulong? tls)
    {
        var cpu = parent.Process.Cpu;
        var parentId = (ulong)parent.Process.Id;
        if (child.Process.Cpu == cpu)
        {
            child.Context = cpu.SaveContext();
        }
        else
        {
            var windows = new uint[cpu.RegisterWindows][];
            for (var window = 0; window < windows.Length; window++)
            {
                windows[window] = new uint[24];
                cpu.ReadWindow(window, windows[window]);
            }
            var globals = new ulong[8];
            for (var register = SparcRegister.G0; register <= SparcRegister.G7; register++)
                globals[register - SparcRegister.G0] = cpu.ReadRegister(register);
            var (y, psr, wim) = (cpu.ReadRegister(SparcRegister.Y), cpu.ReadRegister(SparcRegister.Psr), cpu.ReadRegister(SparcRegister.Wim));
            child.SetStartState(target =>
            {
                // The window pointer first: then each window's registers land where that window reads them.
                target.WriteRegister(SparcRegister.Psr, psr);
                for (var window = 0; window < windows.Length; window++)
                    target.WriteWindow(window, 0, windows[window]);
                for (var index = 0; index < globals.Length; index++)
                    target.WriteRegister(SparcRegister.G0 + index, globals[index]);
                target.WriteRegister(SparcRegister.Y, y);
                target.WriteRegister(SparcRegister.Wim, wim);
            });
        }
        child.SetStartState(target =>
        {
            target.WriteRegister(SparcRegister.O0, parentId);
            target.WriteRegister(SparcRegister.O1, 1);
            target.WriteRegister(SparcRegister.Psr, target.ReadRegister(SparcRegister.Psr) & ~Carry);
            target.WriteRegister(SparcRegister.Pc, resumeAt);
            if (stack != 0)
                target.WriteRegister(SparcRegister.O6, stack);
        });
    }

    internal static uint Window(ICpu cpu) => (uint)cpu.ReadRegister(SparcRegister.Psr) & 0x1f;

    private static int Modulo(int value, int modulus) => ((value % modulus) + modulus) % modulus;

    /// <summary>Window overflow: the oldest window's locals and ins go to its stack frame, and it becomes the invalid one.</summary>
    private static bool Spill(GuestThread thread, ICpu cpu, int window)
    {
        if (!Store(thread, cpu, window))
            return false;
        cpu.WriteRegister(SparcRegister.Wim, 1u << window);
        return true;
    }

    internal static bool Store(GuestThread thread, ICpu cpu, int window)
    {
        Span<uint> registers = stackalloc uint[24];
        cpu.ReadWindow(window, registers);
        var frame = new GuestAddress(registers[(int)SparcRegister.O6 - (int)SparcRegister.O0]);
        Span<byte> words = stackalloc byte[WindowWords * 4];
        for (var index = 0; index < WindowWords; index++)
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(words[(index * 4)..], registers[8 + index]);
        return thread.Memory.Write(frame, words) == Errno.None;
    }

    /// <summary>Window underflow: restore returns into the caller's window, whose locals and ins are read back from its frame (the current %fp).</summary>
    private static bool Fill(GuestThread thread, ICpu cpu)
    {
        var count = cpu.RegisterWindows;
        var window = Modulo((int)Window(cpu) + 1, count);
        var frame = new GuestAddress(cpu.ReadRegister(SparcRegister.I6));
        Span<byte> words = stackalloc byte[WindowWords * 4];
        if (thread.Memory.Read(frame, words) != Errno.None)
            return false;
        Span<uint> registers = stackalloc uint[WindowWords];
        for (var index = 0; index < WindowWords; index++)
            registers[index] = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(words[(index * 4)..]);
        cpu.WriteWindow(window, 8, registers);
        cpu.WriteRegister(SparcRegister.Wim, 1u << Modulo(window + 1, count));
        return true;
    }

    /// <summary>ST_FLUSH_WINDOWS: every caller's window to its frame, so that the stack holds them all (setjmp, debuggers).</summary>
    internal static bool Flush(GuestThread thread, ICpu cpu)
    {
        var count = cpu.RegisterWindows;
        var current = (int)Window(cpu);
        var invalid = cpu.ReadRegister(SparcRegister.Wim);
        for (var window = Modulo(current + 1, count); window != current && (invalid & (1UL << window)) == 0; window = Modulo(window + 1, count))
        {
            if (!Store(thread, cpu, window))
                return false;
        }
        cpu.WriteRegister(SparcRegister.Wim, 1u << Modulo(current + 1, count));
        return true;
    }
}
