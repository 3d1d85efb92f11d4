using System.Text;

namespace Trapeze.Trace;

/// <summary>
/// --histogram: per syscall, count and min/avg/max latency, and a log2 histogram of latencies
/// in microseconds (as perf trace -s and bpftrace's hist() show them).
/// </summary>
public sealed class LatencyHistogram(TextWriter writer) : ITraceSink
{
    private sealed class Series
    {
        public long Calls;
        public double Total, Minimum = double.MaxValue, Maximum;
        public long[] Buckets = new long[40];
    }

    private readonly SortedDictionary<string, Series> series = new(StringComparer.Ordinal);

    public void Exited(TraceEvent call)
    {
        if (!series.TryGetValue(call.Name, out var entry))
            series[call.Name] = entry = new Series();
        var microseconds = call.Duration.TotalMicroseconds;
        entry.Calls++;
        entry.Total += microseconds;
        entry.Minimum = Math.Min(entry.Minimum, microseconds);
        entry.Maximum = Math.Max(entry.Maximum, microseconds);
        var bucket = microseconds < 1 ? 0 : Math.Min(39, 1 + (int)Math.Log2(microseconds));
        entry.Buckets[bucket]++;
    }

    public void Finish()
    {
        writer.Write(Render());
        writer.Flush();
    }

    public string Render()
    {
        var text = new StringBuilder();
        foreach (var (name, entry) in series.OrderByDescending(s => s.Value.Total))
        {
            text.Append(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{name}: {entry.Calls} calls, total {entry.Total / 1000:0.000} ms, min {entry.Minimum:0.000} us, avg {entry.Total / entry.Calls:0.000} us, max {entry.Maximum:0.000} us\n"));
            var largest = entry.Buckets.Max();
            for (var bucket = 0; bucket < entry.Buckets.Length; bucket++)
            {
                if (entry.Buckets[bucket] == 0)
                    continue;
                var (low, high) = bucket == 0 ? (0L, 1L) : (1L << (bucket - 1), 1L << bucket);
                var bar = new string('@', (int)Math.Ceiling(40.0 * entry.Buckets[bucket] / largest));
                text.Append($"  [{low}, {high}) us".PadRight(24)).Append($"{entry.Buckets[bucket],9} |{bar.PadRight(40)}|\n");
            }
        }
        return text.ToString();
    }

    public void Dispose() { }
}
