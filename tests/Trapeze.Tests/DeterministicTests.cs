using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// `trapeze run --deterministic`: a multithreaded program printing clocks, random bytes, pids, tids and
/// a counter its threads race on gives byte-identical output run after run.
/// </summary>
public sealed class DeterministicTests
{
    private static string Case(string name) => Path.Combine(Runner.CasesBuild, "deterministic", name);

    [Theory]
    [InlineData("clockwork.static")]
    [InlineData("clockwork.dynamic")]
    public void TwoRunsPrintTheSame(string program)
    {
        var first = Runner.RunTrapeze("run", "--deterministic", Case(program));
        var second = Runner.RunTrapeze("run", "--deterministic", Case(program));
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(first.Stdout, second.Stdout);
        Assert.StartsWith("pid 1000, parent 999, time 946684800, realtime 946684800.", first.Stdout);
        Assert.Matches(@"after usleep\(25000\): monotonic 1000\.02\d+\n", first.Stdout);
        Assert.Contains("uptime 1000.0", first.Stdout);
        Assert.Matches(@"/dev/urandom [0-9a-f]{8}\n", first.Stdout);
        for (var i = 0; i < 4; i++)
            Assert.Contains($"thread {i}: tid {1001 + i}, monotonic 1000.", first.Stdout);
        // The threads race: updates are lost, the same ones every time.
        Assert.Matches(@"counter \d+ of 1200000\n$", first.Stdout);
        Assert.DoesNotContain("counter 1200000 of", first.Stdout);
    }

    // Progress is counted only once something reads the clock (a run that never does pays nothing
    // for counting): the first reading is the epoch exactly, and work after it moves the clocks.
    [Theory]
    [InlineData("progress.static")]
    [InlineData("progress.dynamic")]
    public void TheClockCountsProgressFromItsFirstReading(string program)
    {
        var run = Runner.RunTrapeze("run", "--deterministic", Case(program));
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("first monotonic 1000.000000000\nthe work between moved the clock: yes\nand the CPU time: yes\n", run.Stdout);
        Assert.Equal(run.Stdout, Runner.RunTrapeze("run", "--deterministic", Case(program)).Stdout);
    }

    [Fact]
    public void TheSeedChoosesTheRandomBytes()
    {
        var zero = Runner.RunTrapeze("run", "--deterministic", Case("clockwork.static"));
        var seven = Runner.RunTrapeze("run", "--deterministic", "--seed", "7", Case("clockwork.static"));
        string RandomLine(string output) => output.Split('\n')[1];
        Assert.StartsWith("getrandom ", RandomLine(zero.Stdout));
        Assert.NotEqual(RandomLine(zero.Stdout), RandomLine(seven.Stdout));
        Assert.Equal(seven.Stdout, Runner.RunTrapeze("run", "--deterministic", "--seed", "7", Case("clockwork.static")).Stdout);
    }
}
