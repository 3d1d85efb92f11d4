using Trapeze.Cpu;
using Trapeze.Kernel.Abi;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Tasks;

/// <summary>Where a personality's processes live in their address space (what Linux's TASK_SIZE and mmap_base give).</summary>
public sealed record AddressLayout(ulong UserTop, ulong StackTop, ulong MmapBase, ulong ProgramBase);

/// <summary>
/// An operating system's ABI on one CPU: where the syscall number and arguments are, how results
/// and errors go back, the data model its structures are laid out in, and the registers a program
/// or a new thread starts with. It owns nothing else.
/// </summary>
public interface IPersonality
{
    string Name { get; }

    /// <summary>The CPU this personality's programs run on.</summary>
    CpuArchitecture Architecture => CpuArchitecture.X86_64;

    /// <summary>The guest's structure layouts, which handlers write their kernel types through.</summary>
    LinuxStructures Structures { get; }

    AddressLayout Layout { get; }

    /// <summary>The syscalls this personality has, by number, with their declarations where Trapeze has one.</summary>
    IReadOnlyList<(string Name, int Number, SyscallDefinition? Definition)> Table { get; }

    /// <summary>A system call, inside the CPU engine: calls that finish here never leave it.</summary>
    void OnSyscall(GuestThread thread, ICpu cpu, ulong nextInstruction);

    /// <summary>
    /// A system call of a thread that runs without the run lock, served without the kernel where
    /// the host call is all there is to it (<see cref="GuestThread.MayServeOutsideKernel"/>); false
    /// when the kernel must serve it, which it then does as if this had not been asked.
    /// </summary>
    bool ServedOutsideKernel(GuestThread thread, ICpu cpu, ulong nextInstruction) => false;

    /// <summary>A software interrupt inside the engine; true when the personality served it (a syscall gate such as int 0x80).</summary>
    bool OnInterrupt(GuestThread thread, ICpu cpu, int number) => false;

    /// <summary>A blocked call's thread woke: dispatch it again, from the run loop, with the thread on the CPU.</summary>
    void Resume(GuestThread thread, ICpu cpu, BlockedSyscall call);

    /// <summary>A fresh program's registers (execve): all zero but the stack pointer and the entry point.</summary>
    void StartProgram(ICpu cpu, ulong entry, ulong stackPointer);

    /// <summary>
    /// A clone child's registers: the caller's (a fork's new CPU gets a copy), with the call returning 0
    /// at <paramref name="resumeAt"/>, on <paramref name="stack"/> if non-zero, with the TLS given.
    /// </summary>
    void StartChild(GuestThread parent, GuestThread child, ulong resumeAt, ulong stack, ulong? tls);

    /// <summary>The ABI's signal frames (null: handlers are not run).</summary>
    ISignalFrames? SignalFrames => null;

    /// <summary>The auxiliary vector's AT_PLATFORM and AT_HWCAP.</summary>
    string Platform { get; }
    ulong HardwareCapabilities { get; }
}
