using Trapeze.Kernel.Syscalls;

namespace Trapeze.Trace;

/// <summary>One traced system call: filled in at entry, completed at exit.</summary>
public sealed class TraceEvent
{
    public int ProcessId { get; init; }
    public int ThreadId { get; init; }
    public required string Name { get; init; }
    public int Number { get; init; }

    /// <summary>The declaration, for argument names; null for calls Trapeze does not implement.</summary>
    public SyscallDefinition? Definition { get; init; }

    /// <summary>Wall-clock time of entry.</summary>
    public DateTimeOffset Start { get; init; }

    /// <summary>Stopwatch timestamp of entry.</summary>
    public long StartTicks { get; init; }

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
    void Entered(TraceEvent call) { }
    void Exited(TraceEvent call);
    /// <summary>A "--- SIG... {...} ---" line for a thread.</summary>
    void SignalDelivered(int processId, int threadId, string line) { }

    void ProcessExited(int processId, string exitLine) { }

    /// <summary>The program ended: write tables, close files.</summary>
    void Finish() { }
}
