namespace Trapeze.Trace;

/// <summary>-t, -tt, -ttt: the absolute time printed before each line.</summary>
public enum TimestampStyle
{
    None,
    Seconds,
    Microseconds,
    Epoch,
}

/// <summary>-c, -C: print the summary table only, or as well as the trace.</summary>
public enum SummaryMode
{
    None,
    Only,
    Also,
}

/// <summary>-S: how the summary table is sorted.</summary>
public enum SummarySort
{
    Time,
    Calls,
    Errors,
    Name,
    Nothing,
}

/// <summary>What `trapeze trace` was asked for, with strace's meaning for each option.</summary>
public sealed record TraceOptions
{
    /// <summary>-f: follow children; with more than one task, lines get [pid N].</summary>
    public bool Follow { get; init; }

    /// <summary>-ff: one output file per process, FILE.pid (needs -o).</summary>
    public bool SeparateFiles { get; init; }

    /// <summary>-o FILE; null writes to stderr.</summary>
    public string? OutputPath { get; init; }

    /// <summary>-s N: the most bytes of a string printed.</summary>
    public int StringLimit { get; init; } = 32;

    public TraceFilter Filter { get; init; } = new();
    public SummaryMode Summary { get; init; }
    public SummarySort SummarySort { get; init; }
    public TimestampStyle Timestamps { get; init; }

    /// <summary>-r: time since the previous line.</summary>
    public bool RelativeTimestamps { get; init; }

    /// <summary>-T: time spent in each call.</summary>
    public bool ShowDuration { get; init; }

    /// <summary>-y: paths after descriptors.</summary>
    public bool DecodeDescriptors { get; init; }

    /// <summary>-v: structures in full, environment strings.</summary>
    public bool Verbose { get; init; }

    /// <summary>-x (1): non-printable strings in hex; -xx (2): every string in hex.</summary>
    public int HexStrings { get; init; }

    /// <summary>--json FILE: one JSON object a line per syscall, signal and exit.</summary>
    public string? JsonPath { get; init; }

    /// <summary>--perfetto FILE: Chrome trace-event JSON for ui.perfetto.dev.</summary>
    public string? PerfettoPath { get; init; }

    /// <summary>--histogram: latency histograms per syscall at the end.</summary>
    public bool Histogram { get; init; }
}
