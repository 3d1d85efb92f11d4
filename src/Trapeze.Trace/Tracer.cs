using Stopwatch = System.Diagnostics.Stopwatch;
using Trapeze.Kernel;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Trace;

/// <summary>
/// The kernel's tracer for `trapeze trace`: filters calls, formats their arguments at entry and
/// exit, times them, and hands each event to the sinks.
/// </summary>
public sealed class Tracer : ISyscallTracer, IDisposable
{
    private readonly TraceOptions options;
    private readonly ArgumentFormatter formatter;
    private readonly IReadOnlyList<ITraceSink> sinks;
    private readonly bool needsText;
    private readonly bool needsWallClock;

    public Tracer(TraceOptions options, IReadOnlyList<ITraceSink> sinks)
    {
        this.options = options;
        this.sinks = sinks;
        formatter = new ArgumentFormatter(options);
        // The -c table and histograms need names and times only, so they skip formatting (and its cost).
        needsText = sinks.Any(s => s is not (SummaryTable or LatencyHistogram));
        // The local wall clock costs a time-zone conversion per call; only -t/-tt/-ttt and JSON print it.
        needsWallClock = options.Timestamps != TimestampStyle.None || sinks.Any(s => s is JsonEventWriter);
    }

    public void ThreadStarted(GuestThread thread)
    {
        foreach (var sink in sinks)
            sink.ThreadStarted(thread.Process.Id, thread.Id);
    }

    public void ProcessStarted(Process process, string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        ThreadStarted(process.MainThread);
        if (!options.Filter.Traces("execve") || options.Filter.OnlyFailed)
            return;
        var quoted = string.Join(", ", arguments.Select(Limited));
        // The kernel put envp right after argv on the initial stack: argc, argv..., NULL, envp...
        var stack = process.Cpu.Architecture == Trapeze.Cpu.CpuArchitecture.Arm
            ? process.Cpu.ReadRegister(Trapeze.Cpu.ArmRegister.Sp)
            : process.Cpu.ReadRegister(Trapeze.Cpu.X64Register.Rsp);
        var word = (ulong)process.Personality.Structures.Model.WordSize;
        var environmentText = options.Verbose
            ? "[" + string.Join(", ", environment.Select(Limited)) + "]"
            : $"0x{stack + word * ((ulong)arguments.Count + 2):x} /* {environment.Count} vars */";
        var call = new TraceEvent
        {
            ProcessId = process.Id,
            ThreadId = process.MainThread.Id,
            Name = "execve",
            Number = 59,
            Start = DateTimeOffset.Now,
            StartTicks = Stopwatch.GetTimestamp(),
            ResultText = "0",
        };
        call.Arguments.AddRange([StringQuoter.Quote(System.Text.Encoding.UTF8.GetBytes(path), options.HexStrings, false), "[" + quoted + "]", environmentText]);
        call.EntryCount = call.Arguments.Count;
        foreach (var sink in sinks)
        {
            sink.Entered(call);
            sink.Exited(call);
        }
    }

    /// <summary>A string from the loader, cut at -s like strace cuts argv.</summary>
    private string Limited(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var shown = Math.Min(bytes.Length, options.StringLimit);
        return StringQuoter.Quote(bytes.AsSpan(0, shown), options.HexStrings, truncated: shown < bytes.Length);
    }

    public void Enter(GuestThread thread, ref SyscallCall call)
    {
        if (!options.Filter.Traces(call.Name))
            return;
        var traced = new TraceEvent
        {
            ProcessId = thread.Process.Id,
            ThreadId = thread.Id,
            Name = call.Definition is null && call.Name.StartsWith("syscall_", StringComparison.Ordinal) ? $"syscall_0x{call.Number:x}" : call.Name,
            Number = call.Number,
            Definition = call.Definition,
            Start = needsWallClock ? DateTimeOffset.Now : default,
            StartTicks = Stopwatch.GetTimestamp(),
        };
        if (needsText)
        {
            var entryCount = ArgumentFormatter.EntryCount(call.Definition);
            traced.HasExitArguments = entryCount < (call.Definition?.Parameters.Length ?? 6);
            formatter.Format(thread, call, 0, entryCount, null, traced.Arguments);
            traced.EntryCount = traced.Arguments.Count;
            foreach (var sink in sinks)
                sink.Entered(traced);
        }
        call.State = traced;
    }

    public void Exit(GuestThread thread, ref SyscallCall call)
    {
        if (call.State is not TraceEvent traced)
            return;
        traced.Duration = Stopwatch.GetElapsedTime(traced.StartTicks);
        traced.Result = call.Result;
        traced.Blocked = call.Blocked;
        traced.NoReturn = thread.Process.Exit is not null;
        if (needsText)
        {
            var total = call.Definition?.Parameters.Length ?? 6;
            formatter.Format(thread, call, traced.EntryCount, total, call.Result, traced.Arguments);
            traced.ResultText = traced.NoReturn ? "?" : formatter.Result(thread, call);
        }
        if (options.Filter.OnlyFailed && !traced.Failed || options.Filter.OnlySuccessful && traced.Failed)
            return;
        foreach (var sink in sinks)
            sink.Exited(traced);
    }

    public void SignalDelivered(GuestThread thread, SignalInformation information)
    {
        if (!options.Filter.ShowsSignal((int)information.Signal))
            return;
        var line = SignalFormatter.Line(information);
        foreach (var sink in sinks)
            sink.SignalDelivered(thread.Process.Id, thread.Id, line);
    }

    public void ProcessExited(Process process, ExitStatus status)
    {
        // A fatal fault is a signal delivery too: strace shows its siginfo before "killed by".
        if (status.Signal is not null)
            SignalDelivered(process.MainThread, SignalInformation.ForExit(status));
        var exitLine = status.Signal is { } killer ? $"+++ killed by {killer} +++" : $"+++ exited with {status.Code} +++";
        foreach (var sink in sinks)
            sink.ProcessExited(process.Id, exitLine);
    }

    public void Finish()
    {
        foreach (var sink in sinks)
            sink.Finish();
    }

    public void Dispose()
    {
        foreach (var sink in sinks)
            sink.Dispose();
    }
}
