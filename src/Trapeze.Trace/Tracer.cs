using System.Runtime.ExceptionServices;
using Stopwatch = System.Diagnostics.Stopwatch;
using Trapeze.Kernel;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Trace;

/// <summary>What the tracer decided once for a syscall: whether it is traced, its name, and which of its texts can wait.</summary>
internal sealed class CallPlan
{
    public required string Name { get; init; }
    public SyscallDefinition? Definition { get; init; }
    public bool Traced { get; init; }

    /// <summary>The name strace prints: unknown calls as syscall_0x3e8.</summary>
    public required string DisplayName { get; init; }

    /// <summary>How many leading parameters are printed at entry.</summary>
    public int EntryCount { get; init; }
    public int ParameterCount { get; init; }

    /// <summary>The entry arguments come from registers alone: formatted later, by the formatting side.</summary>
    public bool EntryFromRegisters { get; init; }

    /// <summary>The same for the exit arguments and the result.</summary>
    public bool ExitFromRegisters { get; init; }

    /// <summary>Some argument is read and rewritten by the kernel (a socklen_t): its entry value is kept for the exit text.</summary>
    public bool KeepsEntryValues { get; init; }
}

/// <summary>A thread's call between its entry and exit records, on the formatting side.</summary>
internal sealed class InFlight(int threadId)
{
    public int ThreadId { get; } = threadId;
    public TraceEvent Event { get; } = new() { Name = "" };

    /// <summary>The call as the formatter reads it (kept here so it is not copied for every argument).</summary>
    public SyscallCall Call;
    public bool Active;

    /// <summary>The first parameter printed at exit (a parameter index: a hidden one before it prints no text).</summary>
    public int ExitFrom;
}

/// <summary>Exit arguments and result formatted on the dispatch path (they read guest memory or descriptors).</summary>
internal sealed record ExitText(List<string> Arguments, string Result);

/// <summary>
/// The kernel's tracer for `trapeze trace`. On the dispatch path it only fills a fixed-size record
/// into a ring (arguments that read guest memory or the descriptor table are formatted there and
/// then, as they would be gone later); the strace text, tables and JSON are made from the records
/// by a formatting thread, or at once when the trace interleaves with the guest's own output on a
/// terminal. One <see cref="TraceEvent"/> per guest thread carries a call from entry to exit, so a
/// call that blocks while other threads make calls gets strace's unfinished / resumed lines.
/// </summary>
public sealed class Tracer : ISyscallTracer, IDisposable
{
    // 4096 records of ~100 bytes: small enough to stay in cache between the two threads, large
    // enough to ride out the formatting thread's short sleeps (it wakes at 1/8 full).
    private const int RingCapacity = 1 << 12;
    private const int PlannedNumbers = 1024;

    private readonly TraceOptions options;
    // An array: foreach over an interface list would allocate an enumerator per call.
    private readonly ITraceSink[] sinks;
    private readonly bool needsText;
    private readonly bool needsWallClock;
    private readonly bool needsTicks;

    // Dispatch side: the formatter for texts that cannot wait, and the plans by syscall number.
    private readonly ArgumentFormatter eagerFormatter;
    private readonly CallPlan?[] plans = new CallPlan?[PlannedNumbers];

    private readonly TraceRing ring = new(RingCapacity);
    private readonly Thread? formattingThread;
    private volatile bool stopping;
    private ExceptionDispatchInfo? failure;

    // Formatting side only.
    private readonly ArgumentFormatter formatter;
    private readonly Dictionary<int, InFlight> inFlight = [];
    private InFlight? lastInFlight;
    private readonly RecordHandler handle;

    // Most results repeat (getpid's pid, write's count): the last text is kept instead of made again.
    private long lastResult = long.MinValue;
    private SyscallDefinition? lastResultDefinition;
    private string lastResultText = "";

    /// <summary><paramref name="formatInBackground"/>: format on a thread of its own (false: at once, e.g. when lines interleave with the guest's output).</summary>
    public Tracer(TraceOptions options, IReadOnlyList<ITraceSink> sinks, bool formatInBackground = false)
    {
        this.options = options;
        this.sinks = [.. sinks];
        formatter = new ArgumentFormatter(options);
        eagerFormatter = new ArgumentFormatter(options);
        // The -c table and histograms need names and times only, so they skip formatting (and its cost).
        needsText = sinks.Any(s => s is not (SummaryTable or LatencyHistogram));
        // The local wall clock costs a time-zone conversion per call; only -t/-tt/-ttt and JSON print it.
        needsWallClock = options.Timestamps != TimestampStyle.None || sinks.Any(s => s is JsonEventWriter);
        // Durations and relative times: -T, -r, and every sink but the strace text.
        needsTicks = options.ShowDuration || options.RelativeTimestamps || sinks.Any(s => s is not StraceWriter);
        handle = Handle;
        if (formatInBackground)
        {
            formattingThread = new Thread(FormatUntilStopped) { IsBackground = true, Name = "trapeze trace" };
            formattingThread.Start();
        }
    }

    // ---- the dispatch side ---------------------------------------------------------------------

    public void ThreadStarted(GuestThread thread) => Record(RecordKind.ThreadStarted, thread.Process.Id, thread.Id, null);

    /// <summary>A thread ended (the kernel's ThreadExited hook, where it has one).</summary>
    public void ThreadExited(GuestThread thread) => Record(RecordKind.ThreadExited, thread.Process.Id, thread.Id, null);

    public void ProcessStarted(Process process, string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        ThreadStarted(process.MainThread);
        if (!options.Filter.Traces("execve") || options.Filter.OnlyFailed)
            return;
        var quoted = string.Join(", ", arguments.Select(Limited));
        // The kernel put envp right after argv on the initial stack: argc, argv..., NULL, envp...
        // (SunOS on SPARC: above the 64-byte register save area at %sp.)
        var stack = process.Cpu.Architecture switch
        {
            Trapeze.Cpu.CpuArchitecture.Arm => process.Cpu.ReadRegister(Trapeze.Cpu.ArmRegister.Sp),
            Trapeze.Cpu.CpuArchitecture.Sparc => process.Cpu.ReadRegister(Trapeze.Cpu.SparcRegister.O6) + 64,
            _ => process.Cpu.ReadRegister(Trapeze.Cpu.X64Register.Rsp),
        };
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
        call.Arguments.AddRange([StringQuoter.Quote(Kernel.Memory.GuestText.Encode(path), options.HexStrings, false), "[" + quoted + "]", environmentText]);
        call.EntryCount = call.Arguments.Count;
        Record(RecordKind.Program, process.Id, process.MainThread.Id, call);
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
        var plan = PlanFor(call);
        if (!plan.Traced)
            return;
        List<string>? text = null;
        if (needsText && !plan.EntryFromRegisters)
        {
            text = [];
            eagerFormatter.Format(thread, call, 0, plan.EntryCount, null, text);
        }
        ref var record = ref ring.Claim();
        record.Kind = RecordKind.Enter;
        record.ProcessId = thread.Process.Id;
        record.ThreadId = thread.Id;
        record.Number = call.Number;
        record.Plan = plan;
        record.Arguments = call.Arguments;
        record.Time = Now();
        // A drained slot holds no text: writing null again would cost a GC write barrier.
        if (text is not null)
            record.Text = text;
        Publish();
        // Marks the call as traced for Exit, without allocating unless in-out arguments need their entry values.
        call.State = plan.KeepsEntryValues ? ArgumentFormatter.EntryValuesOf(thread, call, this) ?? (object)this : this;
    }

    public void Exit(GuestThread thread, ref SyscallCall call)
    {
        if (!ReferenceEquals(call.State, this) && !(call.State is EntryValues entry && ReferenceEquals(entry.Owner, this)))
            return;
        var noReturn = thread.Process.Exit is not null;
        ExitText? text = null;
        // A BSD-derived guest's error is named by its own system's errno, which only the thread's personality knows.
        if (needsText && PlanFor(call) is { } plan
            && (!plan.ExitFromRegisters || (call.Result.IsError && thread.Process.Personality is Trapeze.Kernel.Personalities.BsdPersonality)))
        {
            var arguments = new List<string>();
            eagerFormatter.Format(thread, call, plan.EntryCount, plan.ParameterCount, call.Result, arguments);
            text = new ExitText(arguments, noReturn ? "?" : eagerFormatter.Result(thread, call));
        }
        ref var record = ref ring.Claim();
        record.Kind = RecordKind.Exit;
        record.ProcessId = thread.Process.Id;
        record.ThreadId = thread.Id;
        record.Number = call.Number;
        record.Result = call.Result;
        record.Blocked = call.Blocked;
        record.NoReturn = noReturn;
        record.Time = Now();
        record.Text = text;
        Publish();
    }

    public void SignalDelivered(GuestThread thread, SignalInformation information)
    {
        if (!options.Filter.ShowsSignal((int)information.Signal))
            return;
        Record(RecordKind.Signal, thread.Process.Id, thread.Id, SignalFormatter.Line(information));
    }

    public void ProcessStopped(GuestThread thread, Trapeze.Kernel.Abi.Linux.Signal signal)
    {
        if (options.Filter.ShowsSignal((int)signal))
            Record(RecordKind.Signal, thread.Process.Id, thread.Id, $"--- stopped by {ArgumentFormatter.SignalName((int)signal)} ---");
    }

    public void ProcessExited(Process process, ExitStatus status)
    {
        // A fatal fault is a signal delivery too: strace shows its siginfo before "killed by".
        if (status.Signal is not null)
            SignalDelivered(process.MainThread, SignalInformation.ForExit(status));
        var exitLine = status.Signal is { } killer ? $"+++ killed by {killer} +++" : $"+++ exited with {status.Code} +++";
        Record(RecordKind.ProcessExited, process.Id, process.MainThread.Id, exitLine);
    }

    /// <summary>A rare event (not a syscall): always timed, as its line may print the time.</summary>
    private void Record(RecordKind kind, int processId, int threadId, object? text)
    {
        ref var record = ref ring.Claim();
        record.Kind = kind;
        record.ProcessId = processId;
        record.ThreadId = threadId;
        record.Time = TraceTime.Now();
        record.Text = text;
        Publish();
    }

    /// <summary>A record made elsewhere (tests drive the formatting side with events the kernel cannot make yet).</summary>
    internal void Deliver(in TraceRecord made)
    {
        ref var record = ref ring.Claim();
        record = made;
        Publish();
    }

    private void Publish()
    {
        ring.Publish();
        if (formattingThread is null)
            Drain();
    }

    /// <summary>A syscall's time, read only as far as some output shows it.</summary>
    private TraceTime Now() => needsWallClock || needsTicks
        ? new(needsWallClock ? DateTime.UtcNow.Ticks : 0, needsTicks ? Stopwatch.GetTimestamp() : 0)
        : default;

    /// <summary>The plan for a call, made once per syscall number (and remade if a number means another call).</summary>
    private CallPlan PlanFor(in SyscallCall call)
    {
        var cached = (uint)call.Number < PlannedNumbers ? plans[call.Number] : null;
        if (cached is not null && ReferenceEquals(cached.Definition, call.Definition) && ReferenceEquals(cached.Name, call.Name))
            return cached;
        var plan = MakePlan(call);
        if ((uint)call.Number < PlannedNumbers)
            plans[call.Number] = plan;
        return plan;
    }

    private CallPlan MakePlan(in SyscallCall call)
    {
        var definition = call.Definition;
        var entryCount = ArgumentFormatter.EntryCount(definition);
        var parameterCount = definition?.Parameters.Length ?? 6;
        var parameters = definition?.Parameters ?? [];
        return new CallPlan
        {
            Name = call.Name,
            Definition = definition,
            Traced = options.Filter.Traces(call.Name),
            DisplayName = definition is null && call.Name.StartsWith("syscall_", StringComparison.Ordinal) ? $"syscall_0x{call.Number:x}" : call.Name,
            EntryCount = entryCount,
            ParameterCount = parameterCount,
            EntryFromRegisters = parameters.Take(entryCount).All(formatter.FromRegisters),
            ExitFromRegisters = parameters.Skip(entryCount).All(formatter.FromRegisters) && formatter.ResultFromRegisters(definition),
            KeepsEntryValues = parameters.Any(p => p.Kind == ArgumentKind.SocketLength || (p.Kind == ArgumentKind.MessageHeader && p.Direction == Direction.Out)),
        };
    }

    // ---- the formatting side -------------------------------------------------------------------

    private void FormatUntilStopped()
    {
        while (true)
        {
            var stop = stopping;
            if (Drain() > 0)
                continue;
            if (stop)
                return;
            ring.Sleep();
        }
    }

    /// <summary>Formats every published record; after a failure, only empties the ring so the guest never waits.</summary>
    private int Drain()
    {
        try
        {
            return ring.Drain(failure is null ? handle : static (in TraceRecord _) => { });
        }
        catch (Exception error)
        {
            failure ??= ExceptionDispatchInfo.Capture(error);
            return 1;
        }
    }

    private void Handle(in TraceRecord record)
    {
        switch (record.Kind)
        {
            case RecordKind.Enter:
                Entered(record);
                break;
            case RecordKind.Exit:
                Exited(record);
                break;
            case RecordKind.ThreadStarted:
                foreach (var sink in sinks)
                    sink.ThreadStarted(record.ProcessId, record.ThreadId);
                break;
            case RecordKind.ThreadExited:
                inFlight.Remove(record.ThreadId);
                lastInFlight = null;
                foreach (var sink in sinks)
                    sink.ThreadExited(record.ProcessId, record.ThreadId);
                break;
            case RecordKind.Signal:
                foreach (var sink in sinks)
                    sink.SignalDelivered(record.ProcessId, record.ThreadId, (string)record.Text!, record.Time);
                break;
            case RecordKind.ProcessExited:
                foreach (var sink in sinks)
                    sink.ProcessExited(record.ProcessId, (string)record.Text!, record.Time);
                break;
            case RecordKind.Program:
                var program = (TraceEvent)record.Text!;
                foreach (var sink in sinks)
                {
                    sink.Entered(program);
                    sink.Exited(program);
                }
                break;
        }
    }

    private InFlight InFlightFor(int threadId)
    {
        if (lastInFlight?.ThreadId == threadId)
            return lastInFlight;
        if (!inFlight.TryGetValue(threadId, out var state))
            inFlight[threadId] = state = new InFlight(threadId);
        return lastInFlight = state;
    }

    private void Entered(in TraceRecord record)
    {
        var plan = record.Plan!;
        var state = InFlightFor(record.ThreadId);
        state.Active = true;
        state.Call.Name = plan.DisplayName;
        state.Call.Number = record.Number;
        state.Call.Definition = plan.Definition;
        state.Call.Arguments = record.Arguments;
        state.Call.Result = default;
        state.ExitFrom = plan.EntryCount;
        var traced = state.Event;
        traced.ProcessId = record.ProcessId;
        traced.ThreadId = record.ThreadId;
        traced.Name = plan.DisplayName;
        traced.Number = record.Number;
        traced.Definition = plan.Definition;
        traced.Start = record.Time.Wall;
        traced.StartTicks = record.Time.Ticks;
        traced.Arguments.Clear();
        traced.HasExitArguments = plan.EntryCount < plan.ParameterCount;
        traced.EntryCount = 0;
        traced.Result = default;
        traced.ResultText = "";
        traced.Duration = default;
        traced.NoReturn = false;
        traced.Blocked = false;
        traced.End = default;
        if (!needsText)
            return;
        if (record.Text is List<string> text)
            traced.Arguments.AddRange(text);
        else if (plan.EntryCount > 0)
            formatter.Format(null, state.Call, 0, plan.EntryCount, null, traced.Arguments);
        traced.EntryCount = traced.Arguments.Count;
        foreach (var sink in sinks)
            sink.Entered(traced);
    }

    private void Exited(in TraceRecord record)
    {
        var state = InFlightFor(record.ThreadId);
        if (!state.Active)
            return;
        state.Active = false;
        state.Call.Result = record.Result;
        var traced = state.Event;
        traced.Duration = record.Time.Ticks == 0 ? default : Stopwatch.GetElapsedTime(traced.StartTicks, record.Time.Ticks);
        traced.Result = record.Result;
        traced.Blocked = record.Blocked;
        traced.NoReturn = record.NoReturn;
        traced.End = record.Time;
        if (needsText)
        {
            if (record.Text is ExitText text)
            {
                traced.Arguments.AddRange(text.Arguments);
                traced.ResultText = text.Result;
            }
            else
            {
                var total = state.Call.Definition?.Parameters.Length ?? 6;
                if (state.ExitFrom < total)
                    formatter.Format(null, state.Call, state.ExitFrom, total, record.Result, traced.Arguments);
                traced.ResultText = traced.NoReturn ? "?" : ResultText(state.Call);
            }
        }
        if (options.Filter.OnlyFailed && !traced.Failed || options.Filter.OnlySuccessful && traced.Failed)
            return;
        foreach (var sink in sinks)
            sink.Exited(traced);
    }

    private string ResultText(in SyscallCall call)
    {
        if (call.Result.Raw == lastResult && ReferenceEquals(call.Definition, lastResultDefinition))
            return lastResultText;
        lastResultText = formatter.Result(null, call);
        lastResult = call.Result.Raw;
        lastResultDefinition = call.Definition;
        return lastResultText;
    }

    /// <summary>Formats what is left, then lets each sink finish (tables, file ends). Throws what writing the trace failed with.</summary>
    public void Finish()
    {
        if (formattingThread is not null)
        {
            stopping = true;
            formattingThread.Join();
        }
        Drain();
        failure?.Throw();
        foreach (var sink in sinks)
            sink.Finish();
    }

    public void Dispose()
    {
        foreach (var sink in sinks)
            sink.Dispose();
    }
}
