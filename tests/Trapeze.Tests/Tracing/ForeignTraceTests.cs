using Trapeze.Tests.Support;

namespace Trapeze.Tests.Tracing;

/// <summary>
/// `trapeze trace` of 32-bit guests (tests/cases/foreign) against strace's decoding, line by line.
/// This machine's strace traces i386 programs natively. It has no ARM: an ARM build is compared with
/// strace of the i386 build of the same source (the same glibc, so the same calls), and the ARM-only
/// differences (set_tls, the loader's search of the sysroot) are the known-differences-arm block of
/// docs/TRACING.md.
/// </summary>
public sealed class ForeignTraceTests
{
    private static string Build => Path.Combine(Runner.Root, "tests", "cases", "foreign", "build");

    [Theory]
    [InlineData("basics.i386-static")]
    [InlineData("time_calendar.i386-dynamic")]
    [InlineData("basics.i386-dynamic")]
    [InlineData("time_calendar.i386-static")]
    public void I386MatchesStrace(string name)
    {
        var program = Path.Combine(Build, name);
        var native = Trace(output => Runner.Run("strace", ["-f", "-o", output, program]));
        var trapeze = Trace(output => Runner.Run(Runner.Trapeze, ["trace", "-f", "-o", output, "--", program]));
        AssertExplained(native, trapeze, KnownDifference.Load());
    }

    [Theory]
    [InlineData("basics.arm-static")]
    [InlineData("time_calendar.arm-static")]
    [InlineData("basics.arm-dynamic")]
    [InlineData("time_calendar.arm-dynamic")]
    public void ArmMatchesStraceOfTheI386Build(string name)
    {
        var i386 = Path.Combine(Build, name.Replace(".arm-", ".i386-", StringComparison.Ordinal));
        var program = Path.Combine(Build, name);
        var dynamic = name.EndsWith("-dynamic", StringComparison.Ordinal);
        var native = Trace(output => Runner.Run("strace", ["-f", "-o", output, i386]));
        var trapeze = Trace(output => Runner.Run(Runner.Trapeze, ["trace", "-f", "-o", output, "--sysroot", "/usr/arm-linux-gnueabihf", "--", program]))
            .Select(line => line.Replace(program, i386, StringComparison.Ordinal)).ToList();
        if (dynamic)
        {
            // ld.so's work (finding and mapping libraries) differs with the libraries' layout on each
            // architecture; the program's own calls start once the thread pointer is set.
            native = FromThreadPointer(native);
            trapeze = FromThreadPointer(trapeze);
        }
        AssertExplained(native, trapeze, [.. KnownDifference.Load(), .. KnownDifference.Load("known-differences-arm")]);
        Assert.Equal(native[^1], trapeze[^1]);
    }

    private static List<string> FromThreadPointer(List<string> lines)
    {
        var start = lines.FindIndex(line => line.StartsWith("PID set_tid_address(", StringComparison.Ordinal));
        Assert.True(start > 0, "no set_tid_address in the trace");
        return lines[start..];
    }

    private static void AssertExplained(List<string> native, List<string> trapeze, List<KnownDifference> rules)
    {
        var unexplained = new List<string>();
        foreach (var (line, isNative) in LineDiff.Differences(native, trapeze))
        {
            if (!rules.Exists(rule => rule.Explains(line, isNative)))
                unexplained.Add((isNative ? "strace only:  " : "trapeze only: ") + line);
        }
        Assert.True(unexplained.Count == 0, string.Join('\n', unexplained));
        Assert.True(native.Count > 10 && trapeze.Count > 10, "a trace too short to compare");
    }

    private static List<string> Trace(Func<string, RunResult> run)
    {
        var output = Path.Combine(Path.GetTempPath(), $"trapeze-trace-{Guid.NewGuid():N}.txt");
        try
        {
            run(output);
            return TraceNormaliser.Normalise(File.ReadAllText(output), "/nonexistent-scratch");
        }
        finally
        {
            File.Delete(output);
        }
    }
}
