using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>bench/run in its quickest mode still builds every workload and writes the table; no timing is checked.</summary>
public sealed class BenchmarkSmokeTests
{
    [Fact]
    public void QuickRunWritesTheTable()
    {
        var page = Path.Combine(Path.GetTempPath(), $"trapeze-bench-{Guid.NewGuid():N}.md");
        try
        {
            var result = Runner.Run(Path.Combine(Runner.Root, "bench", "run"), ["--quick", "--output", page], timeoutSeconds: 600);
            Assert.True(result.ExitCode == 0, result.Stderr);
            var text = File.ReadAllText(page);
            Assert.Contains("| Workload | native | trapeze run (Unicorn) | trapeze run --platform native |", text);
            Assert.Contains("## Machine", text);
            Assert.Contains("## Targets (issue 6)", text);
            foreach (var workload in Directory.GetFiles(Path.Combine(Runner.Root, "bench", "workloads")))
                Assert.Contains($"bench/run: {Path.GetFileNameWithoutExtension(workload)} ...", result.Stderr);
            Assert.DoesNotContain("failed", text);
        }
        finally
        {
            File.Delete(page);
        }
    }
}
