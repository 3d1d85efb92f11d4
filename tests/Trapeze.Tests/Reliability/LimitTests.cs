using System.Diagnostics;
using Trapeze.Tests.Support;

namespace Trapeze.Tests.Reliability;

/// <summary>
/// The limits a user sets on the command line hold against the guest: --memory, --max-open-files,
/// --max-processes, --timeout; and the guest's own RLIMIT_NPROC stops a fork bomb. The rlimit
/// calls themselves are compared with Linux by tests/cases/c/rlimits.c (DifferentialTests).
/// </summary>
public sealed class LimitTests
{
    private static string Limits(string name) => Path.Combine(Runner.CasesBuild, "limits", name);

    [Fact]
    public void MemoryCapsTheAddressSpace()
    {
        var result = Runner.RunTrapeze("run", "--memory", "256m", Limits("memory_cap"));
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            "RLIMIT_AS: 256 MiB, hard 256 MiB\n" +
            "mmap stopped below the cap: yes (Cannot allocate memory)\n" +
            "brk past the cap: refused\n" +
            "malloc of 512 MiB: NULL\n" +
            "raising RLIMIT_AS: Operation not permitted\n", result.Stdout);
    }

    [Fact]
    public void MaxOpenFilesIsEmfile()
    {
        var result = Runner.RunTrapeze("run", "--max-open-files", "20", Limits("open_files"));
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("last descriptor 19, then Too many open files\nraising RLIMIT_NOFILE: Operation not permitted\n", result.Stdout);
    }

    [Theory]
    [InlineData("--memory", "lots")]
    [InlineData("--memory", "0")]
    [InlineData("--max-open-files", "2")]
    [InlineData("--timeout", "-1")]
    public void BadLimitsAreUsageErrors(string option, string value)
    {
        var result = Runner.RunTrapeze("run", option, value, "/bin/true");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"trapeze: {option} {value}: expected", result.Stderr);
    }

    [Fact]
    public void TimeoutKillsTheWholeGuestAndExits124()
    {
        var clock = Stopwatch.StartNew();
        var result = Runner.Run(Runner.Trapeze, ["run", "--timeout", "1.5", Limits("forever")], timeoutSeconds: 30);
        Assert.Equal(124, result.ExitCode);
        Assert.Equal($"trapeze: {Limits("forever")}: timed out after 1.5 s (--timeout); every guest process was killed\n", result.Stderr);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 15);
    }

    [Fact]
    public void TimeoutLeavesAQuickProgramAlone()
    {
        var result = Runner.RunTrapeze("run", "--timeout", "30", "/bin/sh", "-c", "exit 3");
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public void ForkBombEndsAtRlimitNproc()
    {
        var clock = Stopwatch.StartNew();
        var result = Runner.Run(Runner.Trapeze, ["run", Limits("fork_bomb"), "nproc"], timeoutSeconds: 120);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("fork refused with EAGAIN: yes\n", result.Stdout);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }
}
