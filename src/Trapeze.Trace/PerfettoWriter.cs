using System.Text.Json;

namespace Trapeze.Trace;

/// <summary>
/// --perfetto FILE: Chrome trace-event JSON ({"traceEvents": [...]}) that ui.perfetto.dev and
/// chrome://tracing open: one track per guest thread, one complete ("X") slice per syscall.
/// </summary>
public sealed class PerfettoWriter : ITraceSink
{
    private readonly Stream stream;
    private readonly Utf8JsonWriter writer;
    private readonly HashSet<(int, int)> namedThreads = [];
    private readonly long originTicks = System.Diagnostics.Stopwatch.GetTimestamp();
    private bool finished;

    public PerfettoWriter(Stream stream)
    {
        this.stream = stream;
        writer = new Utf8JsonWriter(stream);
        writer.WriteStartObject();
        writer.WriteString("displayTimeUnit", "ns");
        writer.WriteStartArray("traceEvents");
    }

    public void Exited(TraceEvent call)
    {
        NameThread(call.ProcessId, call.ThreadId);
        writer.WriteStartObject();
        writer.WriteString("name", call.Name);
        writer.WriteString("cat", "syscall");
        writer.WriteString("ph", "X");
        writer.WriteNumber("ts", Microseconds(call.StartTicks));
        writer.WriteNumber("dur", Math.Round(call.Duration.TotalMicroseconds, 3));
        writer.WriteNumber("pid", call.ProcessId);
        writer.WriteNumber("tid", call.ThreadId);
        writer.WriteStartObject("args");
        JsonEventWriter.WriteArgumentFields(writer, call);
        writer.WriteString("result", call.ResultText);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public void SignalDelivered(int processId, int threadId, string line, TraceTime at) => Instant(line, processId, threadId, "t", at);

    public void ProcessExited(int processId, string exitLine, TraceTime at) => Instant(exitLine, processId, processId, "p", at);

    /// <summary>An instant event ("i") on a thread's or the whole process's track.</summary>
    private void Instant(string name, int processId, int threadId, string scope, TraceTime at)
    {
        writer.WriteStartObject();
        writer.WriteString("name", name);
        writer.WriteString("ph", "i");
        writer.WriteString("s", scope);
        writer.WriteNumber("ts", Microseconds(at.Ticks));
        writer.WriteNumber("pid", processId);
        writer.WriteNumber("tid", threadId);
        writer.WriteEndObject();
    }

    private void NameThread(int processId, int threadId)
    {
        if (!namedThreads.Add((processId, threadId)))
            return;
        if (namedThreads.Count(t => t.Item1 == processId) == 1)
            Metadata("process_name", processId, processId, $"guest process {processId}");
        Metadata("thread_name", processId, threadId, $"guest thread {threadId}");
    }

    private void Metadata(string kind, int processId, int threadId, string name)
    {
        writer.WriteStartObject();
        writer.WriteString("name", kind);
        writer.WriteString("ph", "M");
        writer.WriteNumber("pid", processId);
        writer.WriteNumber("tid", threadId);
        writer.WriteStartObject("args");
        writer.WriteString("name", name);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private double Microseconds(long ticks)
        => Math.Round(System.Diagnostics.Stopwatch.GetElapsedTime(originTicks, ticks).TotalMicroseconds, 3);

    public void Finish()
    {
        if (finished)
            return;
        finished = true;
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        stream.Flush();
    }

    public void Dispose()
    {
        Finish();
        writer.Dispose();
        stream.Dispose();
    }
}
