using System.Text.Json;
using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>What a user sees from `trapeze` itself: errors, exit codes, options, the support table.</summary>
public sealed class CliTests
{
    private static string Case(string name) => Path.Combine(Runner.CasesBuild, name);

    [Fact]
    public void MissingProgramExits127WithAMessage()
    {
        var result = Runner.RunTrapeze("run", "/nonexistent/program");
        Assert.Equal(127, result.ExitCode);
        Assert.Equal("trapeze: /nonexistent/program: No such file or directory\n", result.Stderr);
    }

    [Fact]
    public void TextFileExits126()
    {
        var file = Path.Combine(Path.GetTempPath(), $"trapeze-text-{Guid.NewGuid():N}");
        File.WriteAllText(file, "just text\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var result = Runner.RunTrapeze("run", file);
            Assert.Equal(126, result.ExitCode);
            Assert.Contains("not an executable", result.Stderr);
            Assert.DoesNotContain("   at ", result.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void FileWithoutExecutePermissionExits126()
    {
        var result = Runner.RunTrapeze("run", "/etc/hostname");
        Assert.Equal(126, result.ExitCode);
        Assert.StartsWith("trapeze: /etc/hostname: ", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    [Theory]
    [InlineData(10, "truncated ELF header")]
    [InlineData(100, "truncated or malformed ELF program headers")]
    [InlineData(2000, "truncated ELF (segment")]
    public void TruncatedElfExits126(int length, string message)
    {
        var file = Path.Combine(Path.GetTempPath(), $"trapeze-truncated-{Guid.NewGuid():N}");
        File.WriteAllBytes(file, File.ReadAllBytes("/bin/true").AsSpan(0, length).ToArray());
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var result = Runner.RunTrapeze("run", file);
            Assert.Equal(126, result.ExitCode);
            Assert.Contains(message, result.Stderr);
            Assert.DoesNotContain("   at ", result.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ForeignArchitectureExits126()
    {
        var file = Path.Combine(Path.GetTempPath(), $"trapeze-arm-{Guid.NewGuid():N}");
        var bytes = File.ReadAllBytes("/bin/true");
        bytes[18] = 183; // e_machine = EM_AARCH64
        File.WriteAllBytes(file, bytes);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var result = Runner.RunTrapeze("run", file);
            Assert.Equal(126, result.ExitCode);
            Assert.Contains("AArch64", result.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void SegmentationFaultExits139WithAMessage()
    {
        var result = Runner.RunTrapeze("run", Case("segfault"));
        Assert.Equal(139, result.ExitCode);
        Assert.Matches(@"^trapeze: \S+segfault: Segmentation fault at 0x0 ", result.Stderr);
    }

    [Fact]
    public void ExitStatusIsTheLowByte()
    {
        Assert.Equal(0x2a, Runner.RunTrapeze("run", Case("exit_code")).ExitCode);
    }

    [Fact]
    public void GuestArgumentsMayLookLikeOptions()
    {
        var result = Runner.RunTrapeze("run", "/bin/echo", "-n", "--help", "x");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("--help x", result.Stdout);
    }

    [Fact]
    public void EnvironmentEditsAndArgv0()
    {
        var result = Runner.Run(Runner.Trapeze, ["run", "-E", "TRAPEZE_TEST=yes", "-U", "HOME", "--argv0", "renamed", "/usr/bin/env"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("TRAPEZE_TEST=yes\n", result.Stdout);
        Assert.DoesNotContain("\nHOME=", "\n" + result.Stdout);
    }

    [Fact]
    public void ReportUnsupportedNamesEachCallOnce()
    {
        var result = Runner.RunTrapeze("run", "--report-unsupported", Case("c_syscalls.glibc-static"));
        Assert.Equal(1, result.Stderr.Split('\n').Count(line => line.StartsWith("trapeze: unsupported syscall rseq")));
    }

    [Fact]
    public void ForkBombEndsUnderTheProcessLimit()
    {
        var result = Runner.RunTrapeze("run", "--max-processes", "50", Path.Combine(Runner.CasesBuild, "limits", "fork_bomb"));
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("fork refused with EAGAIN: yes\n", result.Stdout);
    }

    [Fact]
    public void ScriptsRunThroughTheirInterpreter()
    {
        var script = Path.Combine(Path.GetTempPath(), $"trapeze-script-{Guid.NewGuid():N}");
        File.WriteAllText(script, "#!/bin/sh -e\necho \"$0\" \"$@\"\nexit 7\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var result = Runner.RunTrapeze("run", script, "a", "b");
            Assert.Equal(7, result.ExitCode);
            Assert.Equal($"{script} a b\n", result.Stdout);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public void SyscallsPrintsTheSupportTable()
    {
        var result = Runner.RunTrapeze("syscalls");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("| Number | Name | Support | Note |", result.Stdout);
        Assert.Contains("| 0 | read | Full |", result.Stdout);
        Assert.Contains("| 334 | rseq | Unsupported |", result.Stdout);
        Assert.Matches(@"\| 57 \| fork \| Full \|", result.Stdout);
        Assert.Matches(@"\| 101 \| ptrace \| Unsupported \| not implemented: ENOSYS \|", result.Stdout);
    }

    [Fact]
    public void SyscallsJsonListsEveryNumber()
    {
        var result = Runner.RunTrapeze("syscalls", "--json");
        using var document = JsonDocument.Parse(result.Stdout);
        var rows = document.RootElement.EnumerateArray().ToList();
        Assert.True(rows.Count > 300);
        var write = rows.Single(row => row.GetProperty("name").GetString() == "write");
        Assert.Equal(1, write.GetProperty("number").GetInt32());
        Assert.Equal("full", write.GetProperty("support").GetString());
    }

    [Fact]
    public void UnknownOptionIsAnErrorNotACrash()
    {
        var result = Runner.RunTrapeze("run", "--no-such-option");
        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("   at ", result.Stderr);
    }
}
