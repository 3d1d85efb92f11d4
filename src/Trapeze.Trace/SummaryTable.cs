

namespace Trapeze.Trace;

/// <summary>-c / -C: calls, errors and time per syscall, in strace's table layout.</summary>
public sealed class SummaryTable(TraceOptions options, TextWriter writer) : ITraceSink
{
    private sealed class Row
    {
        public int Number;
        public long Calls;
        public long Errors;
        public long Ticks;
    }

    private readonly Dictionary<string, Row> rows = [];

    public void Exited(TraceEvent call)
    {
        if (!rows.TryGetValue(call.Name, out var row))
            rows[call.Name] = row = new Row { Number = call.Number };
        row.Calls++;
        if (call.Failed)
            row.Errors++;
        row.Ticks += call.Duration.Ticks;
    }

    public void Finish()
    {
        writer.Write(Render());
        writer.Flush();
    }

    public string Render()
    {
        // The name column is as wide as the longest name plus one, and at least 16.
        var width = Math.Max(16, rows.Count == 0 ? 0 : rows.Keys.Max(k => k.Length) + 1);
        var separator = "------ ----------- ----------- --------- --------- " + new string('-', width);
        var totalTicks = rows.Values.Sum(r => r.Ticks);
        var ordered = options.SummarySort switch
        {
            SummarySort.Calls => rows.OrderByDescending(r => r.Value.Calls).ThenBy(r => r.Value.Number),
            SummarySort.Errors => rows.OrderByDescending(r => r.Value.Errors).ThenBy(r => r.Value.Number),
            SummarySort.Name => rows.OrderBy(r => r.Key, StringComparer.Ordinal),
            SummarySort.Nothing => rows.OrderBy(_ => 0),
            _ => rows.OrderByDescending(r => r.Value.Ticks).ThenBy(r => r.Value.Number),
        };
        var text = new System.Text.StringBuilder();
        text.Append("% time     seconds  usecs/call     calls    errors syscall\n");
        text.Append(separator).Append('\n');
        foreach (var (name, row) in ordered)
            text.Append(Line(totalTicks == 0 ? 0 : 100.0 * row.Ticks / totalTicks, row.Ticks, row.Calls, row.Errors, name));
        text.Append(separator).Append('\n');
        text.Append(Line(100, totalTicks, rows.Values.Sum(r => r.Calls), rows.Values.Sum(r => r.Errors), "total"));
        return text.ToString();
    }

    private static string Line(double percent, long ticks, long calls, long errors, string name)
    {
        var seconds = (double)ticks / TimeSpan.TicksPerSecond;
        var microsecondsPerCall = calls == 0 ? 0 : ticks / 10 / calls;
        var errorText = errors == 0 ? "" : errors.ToString();
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{percent,6:0.00} {seconds,11:0.000000} {microsecondsPerCall,11} {calls,9} {errorText,9} {name}\n");
    }

    public void Dispose() { }

}
