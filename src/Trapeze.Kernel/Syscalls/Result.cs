using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// What a system call returns: a value, an <see cref="Errno"/>, or a control outcome for the run loop
/// (block, restart, exec done, thread gone). Personalities encode the first two for the guest.
/// </summary>
public readonly record struct Result
{
    private readonly long value;
    private readonly ControlOutcome? control;

    private Result(long value, ControlOutcome? control = null)
    {
        this.value = value;
        this.control = control;
    }

    public bool IsError => control is null && value < 0 && value >= -4095;
    public Errno Error => IsError ? (Errno)(-value) : Errno.None;

    /// <summary>The call finished with a value or an error the guest gets now.</summary>
    public bool IsFinished => control is null;

    /// <summary>What the run loop must do instead of returning a value; null for a finished call.</summary>
    public ControlOutcome? Control => control;

    /// <summary>The value as the Linux ABI puts it in the result register (-errno on failure); 0 for control outcomes.</summary>
    public long Raw => value;

    public static Result Success(long value) => new(value);
    public static Result Failure(Errno errno) => new(-(long)errno);

    /// <summary>The call cannot finish yet: the thread sleeps on <paramref name="wait"/> and the call is dispatched again when it wakes.</summary>
    public static Result Blocked(Wait wait) => new(0, wait);

    /// <summary>A signal interrupted the call; the signal code decides between EINTR and running it again.</summary>
    public static Result Interrupted(RestartRule rule) => new(0, new Restart(rule));

    /// <summary>execve found its program: the run loop replaces the old one; every register is new, nothing is returned.</summary>
    public static Result Exec(ExecRequest request) => new(0, request);

    /// <summary>rt_sigreturn: the run loop restores every register from the signal frame; <paramref name="restoredResult"/> is the RAX it holds (for the tracer).</summary>
    public static Result SignalReturn(long restoredResult, SignalFrameKind kind = SignalFrameKind.RealTime)
        => new(restoredResult, kind == SignalFrameKind.RealTime ? SignalReturnOutcome.RealTime : SignalReturnOutcome.Legacy);

    /// <summary>The calling thread is gone (exit, exit_group, a fatal signal): nothing to return to.</summary>
    public static Result ThreadGone { get; } = new(0, ControlOutcome.Gone);

    public static implicit operator Result(Errno errno) => Failure(errno);
    public static implicit operator Result(long value) => new(value);
    public static implicit operator Result(ulong value) => new((long)value);
    public static implicit operator Result(int value) => new(value);
    public static implicit operator Result(uint value) => new(value);

    public override string ToString() => control is not null ? control.ToString()! : IsError ? $"-1 {Error}" : value.ToString();
}

/// <summary>A system call's outcome other than a value: the run loop acts on it outside the CPU engine.</summary>
public class ControlOutcome
{
    private readonly string name;

    private protected ControlOutcome(string name) => this.name = name;
    internal static ControlOutcome Gone { get; } = new("thread gone");

    public override string ToString() => name;
}

/// <summary>How Linux treats a call a signal interrupted (its ERESTART* codes).</summary>
public enum RestartRule
{
    /// <summary>ERESTARTSYS: restarted when the handler has SA_RESTART or no handler ran, else EINTR.</summary>
    UnlessHandlerWithoutRestartFlag,
    /// <summary>ERESTARTNOHAND: restarted only when no handler ran (poll, select, pause).</summary>
    OnlyWithoutHandler,
    /// <summary>
    /// ERESTART_RESTARTBLOCK: EINTR when a handler runs, else the thread runs restart_syscall, which
    /// continues the call from <see cref="GuestThread.RestartBlock"/> (nanosleep towards its first deadline).
    /// </summary>
    RestartBlock,
    /// <summary>EINTR whatever happens (sigtimedwait, epoll_wait).</summary>
    Never,
}

internal sealed class SignalReturnOutcome : ControlOutcome
{
    private SignalReturnOutcome(SignalFrameKind kind) : base("signal return") => Kind = kind;
    public SignalFrameKind Kind { get; }
    public static SignalReturnOutcome RealTime { get; } = new(SignalFrameKind.RealTime);
    public static SignalReturnOutcome Legacy { get; } = new(SignalFrameKind.Legacy);
}

internal sealed class Restart(RestartRule rule) : ControlOutcome("interrupted")
{
    public RestartRule Rule { get; } = rule;
}

/// <summary>
/// What a blocked thread waits for: any of some wait queues, host descriptors becoming ready, or a
/// deadline on the monotonic clock. A signal or the end of the process wakes it too.
/// </summary>
public sealed class Wait : ControlOutcome
{
    public const long NoDeadline = long.MaxValue;

    public Wait(WaitQueue? queue = null, long deadline = NoDeadline)
        : base("blocked")
    {
        if (queue is not null)
            Queues.Add(queue);
        Deadline = deadline;
    }

    public List<WaitQueue> Queues { get; } = [];

    /// <summary>Host descriptors with the poll events awaited on each.</summary>
    public List<(int Descriptor, short Events)> HostDescriptors { get; } = [];

    /// <summary>Monotonic nanoseconds (<see cref="Kernel.Clock"/>), or <see cref="NoDeadline"/>.</summary>
    public long Deadline { get; set; }

    public Wait OnHost(int descriptor, short events)
    {
        HostDescriptors.Add((descriptor, events));
        return this;
    }
}
