using Trapeze.Cpu;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// An observer that may stop guest threads at the points ptrace stops a Linux task: before it runs
/// guest code, at a breakpoint or watchpoint, when a signal is about to be delivered, at syscall
/// entry and exit, at clone and exec (<see cref="Kernel.Supervisor"/>; a debugger stub is one). Each
/// call comes from the thread's own host thread holding the run lock, outside the CPU engine
/// (except <see cref="StopAtSyscall"/>), so a supervisor that blocks there stops every guest thread.
/// </summary>
public interface ISupervisor
{
    /// <summary>The thread is about to run guest code, its registers on its CPU (and signals delivered).</summary>
    void BeforeRun(GuestThread thread);

    /// <summary>A run ended (<paramref name="cpuEvent"/>); true when the supervisor took it (a breakpoint, a step), false to let it become the guest's signal.</summary>
    bool AfterRun(GuestThread thread, CpuEvent cpuEvent);

    /// <summary>A signal is about to be delivered: the one to deliver instead (the same, another, or null for none).</summary>
    SignalInfo? SignalArrived(GuestThread thread, SignalInfo info);

    /// <summary>
    /// Inside the engine, as a call enters (<paramref name="entry"/>) or finishes: true stops the
    /// thread there. A stopped entry runs the syscall instruction again when the thread resumes, so
    /// the supervisor sees the same call once more and lets it pass.
    /// </summary>
    bool StopAtSyscall(GuestThread thread, int number, bool entry);

    /// <summary>clone made <paramref name="child"/> (in a new process unless it is a thread), before it first runs.</summary>
    void ThreadCreated(GuestThread creator, GuestThread child, bool vfork);

    /// <summary>execve put a new program in place; the thread has not run any of it yet.</summary>
    void Executed(GuestThread thread);

    /// <summary>A process ended (every thread is gone).</summary>
    void ProcessExited(Process process, ExitStatus status);
}
