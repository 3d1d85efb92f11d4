using Trapeze.Kernel.Syscalls;

namespace Trapeze.Trace;

/// <summary>
/// A moment as the trace prints it: the wall clock (for -t/-tt/-ttt and JSON) and a Stopwatch
/// timestamp (for -r, -T, -c, Perfetto). Either is 0 when no output asked for it.
/// </summary>
public readonly record struct TraceTime(long UtcTicks, long Ticks)
{
    public static TraceTime Now() => new(DateTime.UtcNow.Ticks, System.Diagnostics.Stopwatch.GetTimestamp());

    /// <summary>Local time, as DateTimeOffset.Now would have given it then.</summary>
    public DateTimeOffset Wall => UtcTicks == 0 ? default : new DateTimeOffset(UtcTicks, TimeSpan.Zero).ToLocalTime();
}

/// <summary>
/// One traced system call: filled in at entry, completed at exit. Sinks must not keep it: the
/// tracer reuses one per thread.
/// </summary>
public sealed class TraceEvent
{
    public int ProcessId { get; set; }
    public int ThreadId { get; set; }
    public required string Name { get; set; }
    public int Number { get; set; }

    /// <summary>The declaration, for argument names; null for calls Trapeze does not implement.</summary>
    public SyscallDefinition? Definition { get; set; }

    /// <summary>Wall-clock time of entry.</summary>
    public DateTimeOffset Start { get; set; }

    /// <summary>Stopwatch timestamp of entry.</summary>
    public long StartTicks { get; set; }

    /// <summary>The time of exit, for a "&lt;... name resumed&gt;" line's prefix.</summary>
    public TraceTime End { get; set; }

    /// <summary>Every argument as strace prints it (entry arguments read at entry, the rest at exit).</summary>
    public List<string> Arguments { get; } = [];

    /// <summary>Some arguments are printed only at exit (the kernel writes them).</summary>
    public bool HasExitArguments { get; set; }

    /// <summary>How many of <see cref="Arguments"/> were printed at entry.</summary>
    public int EntryCount { get; set; }

    public Result Result { get; set; }
    public string ResultText { get; set; } = "";
    public TimeSpan Duration { get; set; }

    /// <summary>The process ended inside the call (exit, exit_group): strace prints "= ?".</summary>
    public bool NoReturn { get; set; }

    /// <summary>An enter hook blocked the call.</summary>
    public bool Blocked { get; set; }

    public bool Failed => !NoReturn && Result.IsError;
}

/// <summary>Where traced events go: the strace text, the -c table, JSON, Perfetto, histograms.</summary>
public interface ITraceSink : IDisposable
{
    /// <summary>A task exists (a process's main thread, or a clone): it counts for [pid N] prefixes.</summary>
    void ThreadStarted(int processId, int threadId) { }

    /// <summary>A task ended: it no longer counts for [pid N] prefixes.</summary>
    void ThreadExited(int processId, int threadId) { }
    void Entered(TraceEvent call) { }
    void Exited(TraceEvent call);
    /// <summary>A "--- SIG... {...} ---" line for a thread, delivered at <paramref name="at"/>.</summary>
    void SignalDelivered(int processId, int threadId, string line, TraceTime at) { }

    void ProcessExited(int processId, string exitLine, TraceTime at) { }

    /// <summary>The program ended: write tables, close files.</summary>
    void Finish() { }
}
