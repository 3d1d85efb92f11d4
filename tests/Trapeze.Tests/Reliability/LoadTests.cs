using System.Diagnostics;
using Trapeze.Tests.Support;
using Xunit.Abstractions;

namespace Trapeze.Tests.Reliability;

/// <summary>
/// Load and leaks: tests/cases/limits/load.c forks, opens, starts threads, builds a process tree
/// and makes system calls in phases, stopping at a checkpoint after each. Between checkpoints the
/// test reads Trapeze's own resident memory and host descriptors (/proc/PID of the trapeze process):
/// after all the guest's work they must be back near where they started. TRAPEZE_LOAD_SCALE=N
/// multiplies the work (the suite runs 1).
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    private static int Scale => int.TryParse(Environment.GetEnvironmentVariable("TRAPEZE_LOAD_SCALE"), out var scale) && scale > 0 ? scale : 1;

    private readonly record struct Sample(string Checkpoint, long ResidentBytes, int Descriptors);

    [Fact]
    public void TrapezeHoldsNoMoreAfterTheGuestsWork()
    {
        var scale = Scale;
        // forks, descriptors, threads, processes alive at once, system calls
        string[] work = [$"{1000 * scale}", $"{10000 * scale}", $"{200 * scale}", $"{100 * scale}", $"{200000 * scale}"];
        var samples = RunWithCheckpoints(Path.Combine(Runner.CasesBuild, "limits", "load"), work, TimeSpan.FromSeconds(300 * scale));
        foreach (var sample in samples)
            output.WriteLine($"{sample.Checkpoint}: RSS {sample.ResidentBytes >> 20} MiB, {sample.Descriptors} host descriptors");

        Assert.Equal(["start", "forks", "files", "threads", "processes", "calls"], samples.Select(s => s.Checkpoint));
        var start = samples[0];
        foreach (var sample in samples.Skip(1))
        {
            // Every guest descriptor, pipe, process and thread is gone at each checkpoint: a leak of one
            // host descriptor per fork, open or thread would be thousands here.
            Assert.True(sample.Descriptors <= start.Descriptors + 4, $"after {sample.Checkpoint}: {sample.Descriptors} host descriptors, {start.Descriptors} at the start");
        }
        // A thousand processes' address spaces (each at least its stack) or CPU engines kept would be gigabytes.
        var grown = samples[^1].ResidentBytes - start.ResidentBytes;
        Assert.True(grown < 160L << 20, $"Trapeze grew by {grown >> 20} MiB over the guest's work");
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
            while (trapeze.StandardOutput.ReadLineAsync().AsTask() is var reading && reading.Wait(limit - clock.Elapsed) && reading.Result is { } line)
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
