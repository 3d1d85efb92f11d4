using System.Collections.Concurrent;
using Trapeze.Tests.Support;
using Xunit.Abstractions;

namespace Trapeze.Tests.Fuzz;

/// <summary>
/// Fuzzing, reproducible from a seed. The suite runs a few hundred cases; `tests/fuzz/run --count N
/// --seed S` runs more through the same tests (TRAPEZE_FUZZ_COUNT, TRAPEZE_FUZZ_SEED). Each run
/// writes its counts to out/fuzz/. A failure names the seed and case: rerun it with those.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Seeds = ["hello", "printf.static", "printf.dynamic"];

    private static int Count(int fallback) => int.TryParse(Environment.GetEnvironmentVariable("TRAPEZE_FUZZ_COUNT"), out var count) ? count : fallback;
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("TRAPEZE_FUZZ_SEED"), out var seed) ? seed : 1;

    private enum Outcome { Rejected, Signal, Ran, Crash, Hang, UnclearMessage }

    /// <summary>
    /// Every mutant ends in a clear one-line rejection with 126/127, a guest signal, or a normal
    /// run; never a .NET stack trace, an internal error, or a hang of Trapeze.
    /// </summary>
    [Fact]
    public void ElfMutantsEndCleanly()
    {
        var count = Count(300);
        var seed = Seed;
        var originals = Seeds.Select(name => File.ReadAllBytes(Path.Combine(Runner.CasesBuild, name))).ToArray();
        var counts = new ConcurrentDictionary<Outcome, int>();
        var failures = new ConcurrentBag<string>();
        var directory = Directory.CreateTempSubdirectory("trapeze-fuzz-elf-").FullName;
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, index =>
            {
                var random = new Random(seed * 1_000_003 + index);
                var source = random.Next(originals.Length);
                var mutant = ElfMutator.Mutate(originals[source], random);
                var (outcome, detail) = RunMutant(mutant, Path.Combine(directory, $"m{index}"));
                counts.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                if (outcome is Outcome.Crash or Outcome.Hang or Outcome.UnclearMessage)
                    failures.Add($"seed {seed} case {index} ({Seeds[source]}: {mutant.Description}): {outcome}: {detail}");
            });
        }
        finally
        {
            RemoveScratch(directory);
        }
        var summary = $"ELF mutants: seed {seed}, {count} mutants: " + string.Join(", ", Enum.GetValues<Outcome>().Select(o => $"{o} {counts.GetValueOrDefault(o)}"));
        Report("elf", summary, failures);
        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(20)));
    }

    private static (Outcome, string) RunMutant(Mutant mutant, string scratch)
    {
        Directory.CreateDirectory(scratch);
        var program = Path.Combine(scratch, "program");
        File.WriteAllBytes(program, mutant.Bytes);
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        RunResult result;
        try
        {
            result = Runner.Run(Runner.Trapeze, ["run", program], workingDirectory: scratch, timeoutSeconds: 15);
        }
        catch (TimeoutException)
        {
            return (Outcome.Hang, "no end within 15 s");
        }
        var stderr = result.Stderr;
        if (stderr.Contains("Unhandled exception") || stderr.Contains("   at Trapeze.") || stderr.Contains("internal error"))
            return (Outcome.Crash, FirstLines(stderr));
        var lines = stderr.TrimEnd('\n').Split('\n');
        switch (result.ExitCode)
        {
            case 126 or 127 when stderr.StartsWith("trapeze: ", StringComparison.Ordinal):
                var clean = lines.Length == 1 && lines[0].StartsWith("trapeze: ", StringComparison.Ordinal)
                    && !stderr.Contains("Exception") && !stderr.Contains("Could not find file") && !stderr.Contains("Access to the path")
                    && !stderr.Contains("gigabytes") && !stderr.Any(c => char.IsControl(c) && c != '\n');
                return clean ? (Outcome.Rejected, "") : (Outcome.UnclearMessage, FirstLines(stderr));
            case > 128 and < 160:
                return lines[^1].StartsWith("trapeze: ", StringComparison.Ordinal) ? (Outcome.Signal, "") : (Outcome.UnclearMessage, FirstLines(stderr));
            default:
                return (Outcome.Ran, ""); // the guest's own exit, 126 and 127 too (ld.so exits 127 on its errors)
        }
    }

    /// <summary>
    /// The syscall fuzzer guest (tests/cases/c/fuzz_syscalls.c) prints the same errno for every
    /// call natively and under Trapeze. DifferentialTests runs seed 1 in all four builds; this
    /// runs more seeds of the static glibc build.
    /// </summary>
    [Fact]
    public void SyscallFuzzerMatchesNative()
    {
        const int CallsPerRun = 500;
        var calls = Count(1000);
        var program = Path.Combine(Runner.CasesBuild, "fuzz_syscalls.glibc-static");
        var failures = new ConcurrentBag<string>();
        var runs = (calls + CallsPerRun - 1) / CallsPerRun;
        var compared = 0;
        Parallel.For(0, runs, new ParallelOptions { MaxDegreeOfParallelism = 2 }, run =>
        {
            var seed = (Seed * 10_000 + run + 2).ToString();
            var length = Math.Min(CallsPerRun, calls - run * CallsPerRun).ToString();
            var native = InScratch(scratch => Runner.Run(program, [scratch, seed, length]));
            var emulated = InScratch(scratch => Runner.Run(Runner.Trapeze, ["run", program, scratch, seed, length]));
            var nativeLines = native.Stdout.Split('\n');
            var emulatedLines = emulated.Stdout.Split('\n');
            Interlocked.Add(ref compared, nativeLines.Length - 1);
            var first = Enumerable.Range(0, Math.Max(nativeLines.Length, emulatedLines.Length))
                .FirstOrDefault(i => i >= nativeLines.Length || i >= emulatedLines.Length || nativeLines[i] != emulatedLines[i], -1);
            if (first >= 0 || native.ExitCode != emulated.ExitCode)
                failures.Add($"seed {seed}: line {first}: native '{nativeLines.ElementAtOrDefault(first)}', trapeze '{emulatedLines.ElementAtOrDefault(first)}' (exit {native.ExitCode} / {emulated.ExitCode}){FirstLines(emulated.Stderr)}");
        });
        Report("syscalls", $"Syscall fuzzer: seed {Seed}, {runs} runs, {compared} calls compared, {failures.Count} runs differ", failures);
        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(20)));
    }

    private static RunResult InScratch(Func<string, RunResult> run)
    {
        var scratch = Directory.CreateTempSubdirectory("trapeze-fuzz-sys-").FullName;
        try
        {
            return run(scratch);
        }
        finally
        {
            RemoveScratch(scratch);
        }
    }

    /// <summary>
    /// rm -rf: a mutant that runs may create files whose names are not UTF-8, which .NET cannot
    /// name back to delete (that lost the counts of a 20,000-mutant run).
    /// </summary>
    private static void RemoveScratch(string directory) => Runner.Run("rm", ["-rf", "--", directory]);

    private void Report(string name, string summary, IEnumerable<string> failures)
    {
        output.WriteLine(summary);
        var directory = Path.Combine(Runner.Root, "out", "fuzz");
        Directory.CreateDirectory(directory);
        File.WriteAllLines(Path.Combine(directory, $"{name}.txt"), [summary, .. failures]);
    }

    private static string FirstLines(string text)
    {
        var lines = text.Split('\n').Take(3);
        return " " + string.Join(" | ", lines).Replace("\u001b", "\\x1b");
    }
}
