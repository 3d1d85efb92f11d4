using System.Text;

namespace Trapeze.Trace;

/// <summary>
/// strace's text: "name(args) = result" with the result at column 40, prefixes ([pid N], -t, -r),
/// -T durations, "&lt;unfinished ...&gt;" / "&lt;... name resumed&gt;" when tasks interleave, and the
/// +++ / --- lines. With -ff each process writes FILE.pid.
/// </summary>
public sealed class StraceWriter : ITraceSink
{
    /// <summary>strace pads the call so " = result" starts at this column.</summary>
    private const int ResultColumn = 40;

    /// <summary>
    /// One output file. The current line is built in <see cref="Line"/> and written whole at its
    /// end (one write a line), or at once where lines must show as they happen (flushEachLine).
    /// </summary>
    private sealed class Output(TextWriter writer)
    {
        public TextWriter Writer { get; } = writer;

        /// <summary>The thread whose call is printed up to its entry arguments, line still open.</summary>
        public int OpenThread { get; set; } = -1;

        /// <summary>The part of the current line not written yet.</summary>
        public StringBuilder Line { get; } = new();

        /// <summary>How much of the current line is already written.</summary>
        public int Written { get; set; }

        public int Column => Written + Line.Length;

        public void Emit()
        {
            Writer.Write(Line);
            Written += Line.Length;
            Line.Clear();
        }
    }

    private readonly TraceOptions options;
    private readonly Output? shared;
    private readonly Dictionary<int, Output> perProcess = [];
    /// <summary>Live tasks, thread id to process id: with more than one, -f lines get [pid N].</summary>
    private readonly Dictionary<int, int> liveThreads = [];
    private readonly bool deferLines;
    private long previousTicks;

    private readonly bool flushEachLine;

    /// <summary><paramref name="flushEachLine"/>: for a terminal or stderr, where the guest's own output interleaves.</summary>
    public StraceWriter(TraceOptions options, TextWriter? writer, bool flushEachLine = false)
    {
        this.options = options;
        this.flushEachLine = flushEachLine;
        if (!options.SeparateFiles)
            shared = new Output(writer ?? throw new ArgumentNullException(nameof(writer)));
        // With a status filter strace can only decide at exit, so whole lines are written then.
        deferLines = options.Filter.FiltersByStatus;
    }

    public void ThreadStarted(int processId, int threadId) => liveThreads[threadId] = processId;

    /// <summary>The thread of the last call entered, known to be in <see cref="liveThreads"/>.</summary>
    private int lastThread = -1;

    public void Entered(TraceEvent call)
    {
        // A hash update per call is measurable at millions of calls: skip it for the thread of the last one.
        if (call.ThreadId != lastThread)
        {
            liveThreads[call.ThreadId] = call.ProcessId;
            lastThread = call.ThreadId;
        }
        if (deferLines)
            return;
        var output = OutputFor(call.ProcessId);
        Interrupt(output, call.ThreadId);
        var line = output.Line;
        AppendPrefix(line, call.ThreadId, call.Start, call.StartTicks);
        line.Append(call.Name).Append('(');
        AppendArguments(line, call, 0, call.EntryCount);
        if (call.HasExitArguments && call.EntryCount > 0)
            line.Append(", ");
        output.OpenThread = call.ThreadId;
        // On a terminal the entry shows while the call runs (it may block).
        if (flushEachLine)
            output.Emit();
    }

    public void Exited(TraceEvent call)
    {
        var output = OutputFor(call.ProcessId);
        var line = output.Line;
        if (deferLines)
        {
            Interrupt(output, -1);
            AppendPrefix(line, call.ThreadId, call.Start, call.StartTicks);
            line.Append(call.Name).Append('(');
            AppendArguments(line, call, 0, call.Arguments.Count);
        }
        else if (output.OpenThread == call.ThreadId)
        {
            AppendArguments(line, call, call.EntryCount, call.Arguments.Count);
        }
        else
        {
            Interrupt(output, -1);
            AppendPrefix(line, call.ThreadId, call.End.Wall, call.End.Ticks);
            line.Append("<... ").Append(call.Name).Append(" resumed>");
            AppendArguments(line, call, call.EntryCount, call.Arguments.Count);
        }
        line.Append(')');
        if (output.Column < ResultColumn - 1)
            line.Append(' ', ResultColumn - 1 - output.Column);
        line.Append(" = ").Append(call.ResultText);
        if (options.ShowDuration && !call.NoReturn)
            line.Append(System.Globalization.CultureInfo.InvariantCulture, $" <{call.Duration.TotalSeconds:0.000000}>");
        EndLine(output);
    }

    public void SignalDelivered(int processId, int threadId, string text, TraceTime at)
    {
        var output = OutputFor(processId);
        Interrupt(output, -1);
        AppendPrefix(output.Line, threadId, at.Wall, at.Ticks);
        output.Line.Append(text);
        EndLine(output);
    }

    public void ProcessExited(int processId, string exitLine, TraceTime at)
    {
        var output = OutputFor(processId);
        Interrupt(output, -1);
        AppendPrefix(output.Line, processId, at.Wall, at.Ticks);
        output.Line.Append(exitLine);
        EndLine(output);
        foreach (var (thread, owner) in liveThreads)
        {
            if (owner == processId)
                liveThreads.Remove(thread);
        }
        lastThread = -1;
    }

    /// <summary>A thread ended: it no longer counts for the [pid N] prefixes.</summary>
    public void ThreadExited(int processId, int threadId)
    {
        liveThreads.Remove(threadId);
        lastThread = -1;
    }

    private static void AppendArguments(StringBuilder line, TraceEvent call, int from, int to)
    {
        for (var index = from; index < to; index++)
        {
            if (index > from)
                line.Append(", ");
            line.Append(call.Arguments[index]);
        }
    }

    /// <summary>Another task's line is open: strace closes it with "&lt;unfinished ...&gt;".</summary>
    private void Interrupt(Output output, int threadId)
    {
        if (output.OpenThread < 0 || output.OpenThread == threadId)
            return;
        output.Line.Append(" <unfinished ...>");
        EndLine(output);
    }

    private void AppendPrefix(StringBuilder line, int threadId, DateTimeOffset now, long ticks)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        // strace -f: into a file every line starts with the pid; on a terminal only once there are several tasks.
        if (options.Follow && !options.SeparateFiles && options.OutputPath is not null)
            line.Append(invariant, $"{threadId,-5} ");
        else if (options.Follow && !options.SeparateFiles && liveThreads.Count > 1)
            line.Append(invariant, $"[pid {threadId,5}] ");
        switch (options.Timestamps)
        {
            case TimestampStyle.Seconds:
                line.Append(now.ToLocalTime().ToString("HH:mm:ss ", invariant));
                break;
            case TimestampStyle.Microseconds:
                line.Append(now.ToLocalTime().ToString("HH:mm:ss.ffffff ", invariant));
                break;
            case TimestampStyle.Epoch:
                var microseconds = now.ToUnixTimeMilliseconds() * 1000 + now.Ticks / 10 % 1000;
                line.Append(invariant, $"{microseconds / 1_000_000}.{microseconds % 1_000_000:D6} ");
                break;
        }
        if (options.RelativeTimestamps)
        {
            var elapsed = previousTicks == 0 ? TimeSpan.Zero : System.Diagnostics.Stopwatch.GetElapsedTime(previousTicks, ticks);
            previousTicks = ticks;
            var micro = (long)(elapsed.Ticks / 10);
            line.Append(invariant, $"{micro / 1_000_000,6}.{micro % 1_000_000:D6} ");
        }
    }

    private Output OutputFor(int processId)
    {
        if (shared is not null)
            return shared;
        if (!perProcess.TryGetValue(processId, out var output))
        {
            var writer = new StreamWriter($"{options.OutputPath}.{processId}", append: false, Encoding.UTF8) { AutoFlush = false };
            perProcess[processId] = output = new Output(writer);
        }
        return output;
    }

    private void EndLine(Output output)
    {
        output.Line.Append('\n');
        output.Emit();
        if (flushEachLine)
            output.Writer.Flush();
        output.OpenThread = -1;
        output.Written = 0;
    }

    /// <summary>Writes a line still open (a call the program ended in), and flushes.</summary>
    public void Finish()
    {
        foreach (var output in perProcess.Values.Append(shared))
        {
            if (output is null)
                continue;
            output.Emit();
            output.Writer.Flush();
        }
    }

    public void Dispose()
    {
        foreach (var output in perProcess.Values)
            output.Writer.Dispose();
    }
}
