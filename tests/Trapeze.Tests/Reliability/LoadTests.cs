using System.Diagnostics;
using Trapeze.Tests.Support;
using Xunit.Abstractions;

namespace Trapeze.Tests.Reliability;

/// <summary>
/// Load and leaks: tests/cases/limits/load.c forks, opens descriptors, starts threads, builds a
/// process tree and makes system calls, in two rounds of phases, stopping at a checkpoint after
/// each. There the test reads Trapeze's own resident memory and host descriptors (/proc/PID of the
/// trapeze process): what the first round leaves (warm-up, pools) the second must not add to.
/// TRAPEZE_LOAD_SCALE=N multiplies the work (the suite runs 1).
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    private static int Scale => int.TryParse(Environment.GetEnvironmentVariable("TRAPEZE_LOAD_SCALE"), out var scale) && scale > 0 ? scale : 1;

    private readonly record struct Sample(string Checkpoint, long ResidentBytes, int Descriptors);

    [Fact]
    public void TrapezeHoldsNoMoreAfterTheGuestsWork()
    {
        var scale = Scale;
        // per round: forks one after another, descriptors open at once, threads alive at once, processes alive at once, system calls
        // Forks are few: after the threads phase each fork costs several times more. glibc keeps up to
        // 40 MiB of freed thread stacks mapped, each with its guard page, and a fork's cost grows with
        // the number of mappings (each is a new CPU-engine region in the child) and the touched pages.
        string[] work = [$"{100 * scale}", $"{10000 * scale}", $"{200 * scale}", $"{50 * scale}", $"{100000 * scale}"];
        var samples = RunWithCheckpoints(Path.Combine(Runner.CasesBuild, "limits", "load"), work, TimeSpan.FromSeconds(300 * scale));
        foreach (var sample in samples)
            output.WriteLine($"{sample.Checkpoint}: RSS {sample.ResidentBytes >> 20} MiB, {sample.Descriptors} host descriptors");

        string[] phases = ["forks", "files", "threads", "processes", "calls"];
        Assert.Equal(["start 0", .. phases.Select(p => $"{p} 1"), .. phases.Select(p => $"{p} 2")], samples.Select(s => s.Checkpoint));
        var start = samples[0];
        for (var index = 0; index < phases.Length; index++)
        {
            var (first, second) = (samples[1 + index], samples[1 + phases.Length + index]);
            // One host descriptor kept per fork, open, thread or process would be hundreds here.
            Assert.True(second.Descriptors <= first.Descriptors + 2 && second.Descriptors <= start.Descriptors + 16,
                $"after {second.Checkpoint}: {second.Descriptors} host descriptors ({first.Descriptors} after round 1, {start.Descriptors} at the start)");
        }
        // Each process keeps at least its stack and its CPU engine: 150 processes' worth kept would be more than this.
        var (endOfFirst, endOfSecond) = (samples[phases.Length], samples[^1]);
        Assert.True(endOfSecond.ResidentBytes - endOfFirst.ResidentBytes < 64L << 20,
            $"Trapeze grew by {(endOfSecond.ResidentBytes - endOfFirst.ResidentBytes) >> 20} MiB in the second round ({endOfFirst.ResidentBytes >> 20} MiB after the first)");
        Assert.True(endOfSecond.ResidentBytes - start.ResidentBytes < 512L << 20, $"Trapeze grew by {(endOfSecond.ResidentBytes - start.ResidentBytes) >> 20} MiB");
    }

    private static List<Sample> RunWithCheckpoints(string program, string[] arguments, TimeSpan limit)
    {
        var start = new ProcessStartInfo(Runner.Trapeze)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Runner.Root,
        };
        foreach (var argument in (string[])["run", program, .. arguments])
            start.ArgumentList.Add(argument);
        using var trapeze = Process.Start(start)!;
        var stderr = trapeze.StandardError.ReadToEndAsync();
        var samples = new List<Sample>();
        var clock = Stopwatch.StartNew();
        try
        {
            while (trapeze.StandardOutput.ReadLineAsync() is var reading && reading.Wait(limit - clock.Elapsed) && reading.Result is { } line)
            {
                if (!line.StartsWith("checkpoint ", StringComparison.Ordinal))
                {
                    Assert.Equal("done", line);
                    continue;
                }
                samples.Add(new Sample(line["checkpoint ".Length..], ResidentBytes(trapeze.Id), Directory.GetFiles($"/proc/{trapeze.Id}/fd").Length));
                trapeze.StandardInput.WriteLine();
                trapeze.StandardInput.Flush();
            }
            Assert.True(trapeze.WaitForExit(limit - clock.Elapsed), $"no end within {limit}");
            Assert.True(trapeze.ExitCode == 0, $"exit {trapeze.ExitCode}: {stderr.Result}");
        }
        finally
        {
            if (!trapeze.HasExited)
                trapeze.Kill(entireProcessTree: true);
        }
        return samples;
    }

    private static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        throw new InvalidOperationException($"no VmRSS for {pid}");
    }
}
