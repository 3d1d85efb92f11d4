using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// One system call as the tracer sees it at the dispatch point. Enter hooks may change
/// <see cref="Arguments"/> or block the call by setting <see cref="Blocked"/> and <see cref="Result"/>;
/// exit hooks may change <see cref="Result"/>.
/// </summary>
public struct SyscallCall
{
    public string Name;
    public int Number;
    public SyscallDefinition? Definition;
    public SyscallArguments Arguments;
    public Result Result;

    /// <summary>Set by an enter hook: the handler does not run and the guest gets <see cref="Result"/>.</summary>
    public bool Blocked;

    /// <summary>Free for the tracer: e.g. the text of the arguments printed at entry.</summary>
    public object? State;
}

/// <summary>
/// Sees every system call at the single dispatch point, and the lifetime of every process:
/// the strace-like tracer, counters, filters and scripts (<see cref="Kernel.Tracer"/>).
/// </summary>
public interface ISyscallTracer
{
    /// <summary>A process was created from a program (strace prints it as the execve line).</summary>
    void ProcessStarted(Process process, string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment) { }

    /// <summary>A thread was created (clone): from now on strace's -f prefixes lines with [pid N].</summary>
    void ThreadStarted(GuestThread thread) { }

    /// <summary>A thread ended (exit, or with its process).</summary>
    void ThreadExited(GuestThread thread) { }

    void Enter(GuestThread thread, ref SyscallCall call);

    void Exit(GuestThread thread, ref SyscallCall call);

    /// <summary>A signal is delivered to a thread (strace's "--- SIGCHLD {...} ---" line).</summary>
    void SignalDelivered(GuestThread thread, SignalInformation information) { }

    /// <summary>A process ended: exited, or killed by a signal (a fatal fault comes with its siginfo).</summary>
    void ProcessExited(Process process, ExitStatus status) { }

    /// <summary>A stop signal stopped the thread's process (strace's "--- stopped by SIGSTOP ---").</summary>
    void ProcessStopped(GuestThread thread, Abi.Linux.Signal signal) { }
}

/// <summary>Hooks as delegates, for scripts: <c>kernel.Tracer = new SyscallHooks { OnEnter = ... }</c>.</summary>
public sealed class SyscallHooks : ISyscallTracer
{
    public delegate void Hook(GuestThread thread, ref SyscallCall call);

    public Hook? OnEnter { get; init; }
    public Hook? OnExit { get; init; }
    public Action<Process, ExitStatus>? OnProcessExited { get; init; }

    /// <summary>Another tracer that sees each call after these hooks, e.g. the text tracer.</summary>
    public ISyscallTracer? Next { get; init; }

    public void ProcessStarted(Process process, string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
        => Next?.ProcessStarted(process, path, arguments, environment);

    public void ThreadStarted(GuestThread thread) => Next?.ThreadStarted(thread);

    public void ThreadExited(GuestThread thread) => Next?.ThreadExited(thread);

    public void Enter(GuestThread thread, ref SyscallCall call)
    {
        OnEnter?.Invoke(thread, ref call);
        Next?.Enter(thread, ref call);
    }

    public void Exit(GuestThread thread, ref SyscallCall call)
    {
        OnExit?.Invoke(thread, ref call);
        Next?.Exit(thread, ref call);
    }

    public void SignalDelivered(GuestThread thread, SignalInformation information) => Next?.SignalDelivered(thread, information);

    public void ProcessStopped(GuestThread thread, Abi.Linux.Signal signal) => Next?.ProcessStopped(thread, signal);

    public void ProcessExited(Process process, ExitStatus status)
    {
        OnProcessExited?.Invoke(process, status);
        Next?.ProcessExited(process, status);
    }
}
