using System.Text.Json;

namespace Trapeze.Trace;

/// <summary>--json FILE: one JSON object a line per syscall and per process exit.</summary>
public sealed class JsonEventWriter(Stream stream) : ITraceSink
{
    private readonly Utf8JsonWriter writer = new(stream, new JsonWriterOptions { SkipValidation = true });
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    /// <summary>Each formatted argument as a field named after its parameter (argN for undeclared calls).</summary>
    internal static void WriteArgumentFields(System.Text.Json.Utf8JsonWriter writer, TraceEvent call)
    {
        for (var index = 0; index < call.Arguments.Count; index++)
        {
            var name = call.Definition is { } definition && index < definition.Parameters.Length
                ? definition.Parameters[index].Name : $"arg{index}";
            writer.WriteString(name, call.Arguments[index]);
        }
    }

    public void Exited(TraceEvent call)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "syscall");
        writer.WriteNumber("pid", call.ProcessId);
        writer.WriteNumber("tid", call.ThreadId);
        writer.WriteString("name", call.Name);
        writer.WriteNumber("number", call.Number);
        writer.WriteStartObject("args");
        WriteArgumentFields(writer, call);
        writer.WriteEndObject();
        if (call.NoReturn)
            writer.WriteNull("result");
        else
            writer.WriteNumber("result", call.Result.IsError ? -1 : call.Result.Raw);
        if (call.Failed)
            writer.WriteString("errno", call.Result.Error.ToString());
        else
            writer.WriteNull("errno");
        writer.WriteString("result_text", call.ResultText);
        writer.WriteString("start", call.Start);
        writer.WriteNumber("duration_us", Math.Round(call.Duration.TotalMicroseconds, 3));
        if (call.Blocked)
            writer.WriteBoolean("blocked", true);
        writer.WriteEndObject();
        EndLine();
    }

    public void SignalDelivered(int processId, int threadId, string line, TraceTime at)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "signal");
        writer.WriteNumber("pid", processId);
        writer.WriteNumber("tid", threadId);
        writer.WriteString("text", line);
        writer.WriteEndObject();
        EndLine();
    }

    public void ProcessExited(int processId, string exitLine, TraceTime at)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "exit");
        writer.WriteNumber("pid", processId);
        writer.WriteString("text", exitLine);
        writer.WriteEndObject();
        EndLine();
    }

    private void EndLine()
    {
        writer.Flush();
        writer.Reset();
        stream.Write(NewLine);
    }

    public void Finish() => stream.Flush();

    public void Dispose()
    {
        writer.Dispose();
        stream.Dispose();
    }
}
