using System.Text.RegularExpressions;

namespace Trapeze.Tests.Tracing;

/// <summary>
/// Makes strace's and Trapeze's traces of the same program comparable by removing only what must
/// differ between two runs: pids, addresses, padding that depends on them, the scratch directory.
/// docs/TRACING.md lists the same rules.
/// </summary>
public static partial class TraceNormaliser
{
    public static List<string> Normalise(string trace, string scratch)
    {
        var lines = new List<string>();
        foreach (var raw in trace.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var line = LeadingPid().Replace(raw, "PID ");
            line = Address().Replace(line, "ADDR");
            line = PidResult().Replace(line, "$1 = PID");
            line = SignalledPid().Replace(line, "$1(PID,");
            line = SignalledThread().Replace(line, "$1(PID, PID,");
            line = SenderPid().Replace(line, "si_pid=PID");
            line = Padding().Replace(line, ") = ");
            line = Port().Replace(line, "htons(PORT)");
            lines.Add(line.Replace(scratch, "$TMP"));
        }
        return lines;
    }

    [GeneratedRegex(@"^\d+ +")]
    private static partial Regex LeadingPid();

    [GeneratedRegex(@"0x[0-9a-f]{5,}")]
    private static partial Regex Address();

    [GeneratedRegex(@"^(PID (?:getpid|gettid|getppid|set_tid_address)\(.*\))\s+= \d+$")]
    private static partial Regex PidResult();

    /// <summary>The process (or group) a signal is sent to: a pid of this run. 0, 1 and -1 mean the same in every run.</summary>
    [GeneratedRegex(@"^(PID (?:kill|tkill|rt_sigqueueinfo))\(-?(?:[2-9]|[1-9]\d+),")]
    private static partial Regex SignalledPid();

    [GeneratedRegex(@"^(PID (?:tgkill|rt_tgsigqueueinfo))\(\d+, \d+,")]
    private static partial Regex SignalledThread();

    /// <summary>The sender's pid in a siginfo.</summary>
    [GeneratedRegex(@"si_pid=\d+")]
    private static partial Regex SenderPid();

    [GeneratedRegex(@"\)\s+= ")]
    private static partial Regex Padding();

    /// <summary>A port the kernel chose (bind to port 0); port 0 itself stays.</summary>
    [GeneratedRegex(@"htons\([1-9]\d*\)")]
    private static partial Regex Port();
}

/// <summary>One rule of the known-differences block in docs/TRACING.md.</summary>
public sealed record KnownDifference(string Side, Regex Pattern, string Reason)
{
    /// <param name="block">The fenced block's name: known-differences, or a variant such as known-differences-arm.</param>
    public static List<KnownDifference> Load(string block = "known-differences")
    {
        var text = File.ReadAllText(Path.Combine(Support.Runner.Root, "docs", "TRACING.md"));
        var start = text.IndexOf($"```{block}\n", StringComparison.Ordinal);
        if (start < 0)
            throw new InvalidOperationException($"docs/TRACING.md has no {block} block");
        start = text.IndexOf('\n', start) + 1;
        var end = text.IndexOf("```", start, StringComparison.Ordinal);
        var rules = new List<KnownDifference>();
        foreach (var line in text[start..end].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(" | ", 3);
            rules.Add(new KnownDifference(parts[0].Trim(), new Regex(parts[1].Trim()), parts[2].Trim()));
        }
        return rules;
    }

    public bool Explains(string line, bool native)
        => (Side == "both" || Side == (native ? "native" : "trapeze")) && Pattern.IsMatch(line);
}
