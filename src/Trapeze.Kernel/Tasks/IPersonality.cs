using Trapeze.Cpu;
using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// An operating system's ABI on one CPU: where the syscall number and arguments are, how results
/// and errors go back. It owns nothing else.
/// </summary>
public interface IPersonality
{
    string Name { get; }

    /// <summary>The syscalls this personality has, by number, with their declarations where Trapeze has one.</summary>
    IReadOnlyList<(string Name, int Number, SyscallDefinition? Definition)> Table { get; }

    /// <summary>A system call, inside the CPU engine: calls that finish here never leave it.</summary>
    void OnSyscall(GuestThread thread, ICpu cpu, ulong nextInstruction);

    /// <summary>A blocked call's thread woke: dispatch it again, from the run loop, with the thread on the CPU.</summary>
    void Resume(GuestThread thread, ICpu cpu, BlockedSyscall call);
}
