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
        Assert.Equal("partial", write.GetProperty("support").GetString()); // pipes: see its note
        var read = rows.Single(row => row.GetProperty("name").GetString() == "read");
        Assert.Equal("full", read.GetProperty("support").GetString());
    }

    [Fact]
    public void UnknownOptionIsAnErrorNotACrash()
    {
        var result = Runner.RunTrapeze("run", "--no-such-option");
        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    [Theory]
    [InlineData("run", "--bogus", "--argv0")]
    [InlineData("run", "--argv", "--argv0")]
    [InlineData("run", "--report-unsuported", "--report-unsupported")]
    [InlineData("trace", "--jsn", "--json")]
    public void UnknownOptionIsNamedWithTheClosestKnownOne(string command, string option, string suggestion)
    {
        var result = Runner.RunTrapeze(command, option, "/bin/true");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"trapeze {command}: unknown option {option} (did you mean {suggestion}?); see trapeze {command} --help\n", result.Stderr);
    }

    [Fact]
    public void OptionsWithInlineValuesAreKnown()
    {
        var result = Runner.RunTrapeze("run", "--argv0=renamed", "-E", "TRAPEZE_X=1", "/bin/sh", "-c", "echo $0 $TRAPEZE_X");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("renamed 1\n", result.Stdout);
    }

    [Fact]
    public void RunHelpShowsValueNames()
    {
        var result = Runner.RunTrapeze("run", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("-E <VAR=VALUE>", result.Stdout);
        Assert.Contains("-U <VAR>", result.Stdout);
        Assert.Contains("--argv0 <NAME>", result.Stdout);
        Assert.Contains("--memory <BYTES>", result.Stdout);
        Assert.Contains("--max-open-files <N>", result.Stdout);
        Assert.Contains("--timeout <SECONDS>", result.Stdout);
    }

    [Fact]
    public void GuestGetsTheEnvironmentInTheOrderGiven()
    {
        // env -i hands Trapeze exactly these variables in this order, as a shell would; -E replaces in place, appends new ones.
        string[] variables = ["ZULU=1", "ALPHA=2", "MIKE=3", "BRAVO=4", "YANKEE=5", "CHARLIE=6"];
        var native = Runner.Run("/usr/bin/env", ["-i", .. variables, "/usr/bin/env"]);
        var emulated = Runner.Run("/usr/bin/env", ["-i", .. variables, Runner.Trapeze, "run", "/usr/bin/env"]);
        Assert.Equal(string.Join("", variables.Select(v => v + "\n")), native.Stdout);
        Assert.Equal(native.Stdout, emulated.Stdout);
        var edited = Runner.Run("/usr/bin/env", ["-i", .. variables, Runner.Trapeze, "run", "-E", "MIKE=9", "-E", "NEW=7", "-U", "ALPHA", "/usr/bin/env"]);
        Assert.Equal("ZULU=1\nMIKE=9\nBRAVO=4\nYANKEE=5\nCHARLIE=6\nNEW=7\n", edited.Stdout);
    }
}
