using Trapeze.Cpu;
using Trapeze.Kernel.Abi;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// Linux on i386: <c>int 0x80</c> with the number in EAX and arguments in EBX ECX EDX ESI EDI EBP,
/// result or -errno in EAX; every other register is preserved. The vDSO's __kernel_vsyscall enters
/// the same way. Also serves <c>int 0x80</c> from 64-bit code (Linux's compat entry).
/// </summary>
public sealed class LinuxI386Personality : Linux32Personality
{
    /// <summary>Table names whose handler is declared under the x86-64 name: same call, 32-bit ABI spelling.</summary>
    internal static readonly Dictionary<string, string> CommonAliases = new()
    {
        ["fstat64"] = "fstat",
        ["stat64"] = "stat",
        ["lstat64"] = "lstat",
        ["fstatat64"] = "newfstatat",
        ["fcntl64"] = "fcntl",
        ["ugetrlimit"] = "getrlimit",
        ["truncate64"] = "truncate",
        ["ftruncate64"] = "ftruncate",
        ["getuid32"] = "getuid",
        ["geteuid32"] = "geteuid",
        ["getgid32"] = "getgid",
        ["getegid32"] = "getegid",
        ["setuid32"] = "setuid",
        ["setgid32"] = "setgid",
        ["setreuid32"] = "setreuid",
        ["setregid32"] = "setregid",
        ["setresuid32"] = "setresuid",
        ["setresgid32"] = "setresgid",
        ["getresuid32"] = "getresuid",
        ["getresgid32"] = "getresgid",
        ["getgroups32"] = "getgroups",
        ["setgroups32"] = "setgroups",
        ["chown32"] = "chown",
        ["fchown32"] = "fchown",
        ["lchown32"] = "lchown",
        // The *_time64 calls take x86-64's 64-bit timespec: the same handlers serve them.
        ["clock_gettime64"] = "clock_gettime",
        ["clock_getres_time64"] = "clock_getres",
        ["clock_nanosleep_time64"] = "clock_nanosleep",
        ["futex_time64"] = "futex",
        ["ppoll_time64"] = "ppoll",
        ["pselect6_time64"] = "pselect6",
        ["utimensat_time64"] = "utimensat",
        ["rt_sigtimedwait_time64"] = "rt_sigtimedwait",
        ["timer_settime64"] = "timer_settime",
        ["timer_gettime64"] = "timer_gettime",
        ["mq_timedsend_time64"] = "mq_timedsend",
        ["mq_timedreceive_time64"] = "mq_timedreceive",
    };

    public LinuxI386Personality()
        : base(LinuxI386SyscallNumbers.All, new Dictionary<string, string>(CommonAliases) { ["fadvise64_64"] = "fadvise64" }, alignPairs: false)
    {
    }

    public override string Name => "linux-i386";
    public override CpuArchitecture Architecture => CpuArchitecture.I386;
    public override LinuxStructures Structures { get; } = new(DataModel.I386);

    // A 32-bit task on a 64-bit kernel: TASK_SIZE 0xffffe000, the stack at its top, mmap_base below the
    // stack's 8 MiB and guard gap, ELF_ET_DYN_BASE 0x56555000 for PIE (what Linux gives with ASLR off).
    public override AddressLayout Layout { get; } = new(0xffff_e000, 0xffff_e000, 0xf7ff_f000, 0x5655_5000);
    public override string Platform => "i686";
    public override ISignalFrames SignalFrames { get; } = new LinuxI386SignalFrames();
    public override ulong HardwareCapabilities => X64CpuModel.Leaf1Edx;

    public override bool OnInterrupt(GuestThread thread, ICpu cpu, int number)
    {
        if (number != 0x80)
            return false;
        // Unicorn reports int n with EIP already past the instruction.
        OnSyscall(thread, cpu, cpu.ReadRegister(X64Register.Rip));
        return true;
    }

    public override void OnSyscall(GuestThread thread, ICpu cpu, ulong nextInstruction)
    {
        Span<ulong> entry = stackalloc ulong[EntryRegisters.Length];
        cpu.ReadRegisters(EntryRegisters, entry);
        Serve32(thread, cpu, (uint)entry[0], entry[1..], nextInstruction);
    }

    private protected override void WriteResult(ICpu cpu, long value, ulong nextInstruction, ulong flags)
        => cpu.WriteRegister(X64Register.Rax, value < 0 ? (ulong)value : Narrow(value, flags));

    private protected override void ContinueAt(ICpu cpu, ulong nextInstruction) => cpu.WriteRegister(X64Register.Rip, nextInstruction);

    // The ELF i386 ABI: EDX holds a function for atexit (0: none); every general register starts at 0.
    private static readonly X64Register[] General =
        [X64Register.Rax, X64Register.Rbx, X64Register.Rcx, X64Register.Rdx, X64Register.Rsi, X64Register.Rdi, X64Register.Rbp];

    private protected override IReadOnlyList<X64Register> ClearedAtStart => General;

    /// <summary>A forked child's CPU also gets the caller's TLS descriptors and %gs.</summary>
    private protected override void CopyForkState(ICpu cpu, GuestThread child)
    {
        var gs = cpu.ReadSegment(X86Segment.Gs);
        child.TlsDescriptors = ThreadArea.Entries.Select(index => cpu.ReadGlobalDescriptor(index)).ToArray();
        child.SetStartState(target => target.WriteSegment(X86Segment.Gs, gs));
    }

    /// <summary>CLONE_SETTLS on i386 passes a struct user_desc, as set_thread_area takes it.</summary>
    private protected override void SetThreadPointer(GuestThread parent, GuestThread child, ulong tls)
    {
        if (ThreadArea.Read(parent.Memory, new Memory.GuestAddress(tls), out var area) == Errno.None)
            child.SetStartState(target => ThreadArea.Install(child, target, area));
    }

    private static ReadOnlySpan<X64Register> EntryRegisters =>
        [X64Register.Rax, X64Register.Rbx, X64Register.Rcx, X64Register.Rdx, X64Register.Rsi, X64Register.Rdi, X64Register.Rbp];
}
