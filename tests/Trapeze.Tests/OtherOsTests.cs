using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// FreeBSD and Darwin guests (tests/cases/other-os, built by its build.sh): no peer runs them on Linux,
/// so each program's stdout and exit status are checked against expected/NAME.stdout and NAME.status,
/// written from those systems' documentation.
/// </summary>
public sealed class OtherOsTests
{
    private static string Cases => Path.Combine(Runner.Root, "tests", "cases", "other-os");
    private static string Build => Path.Combine(Cases, "build");

    public static TheoryData<string> Programs()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(Cases, "expected"), "*.stdout").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileNameWithoutExtension(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public void MatchesTheDocumentation(string name)
    {
        var program = Path.Combine(Build, name);
        Assert.True(File.Exists(program), $"{program} is missing: run tests/cases/other-os/build.sh (./test does)");
        var expected = File.ReadAllText(Path.Combine(Cases, "expected", name + ".stdout"));
        var statusFile = Path.Combine(Cases, "expected", name + ".status");
        var status = File.Exists(statusFile) ? int.Parse(File.ReadAllText(statusFile).Trim(), System.Globalization.CultureInfo.InvariantCulture) : 0;
        var actual = Runner.Run(Runner.Trapeze, ["run", "--", program]);
        Assert.Equal(expected, actual.Stdout);
        Assert.Equal(status, actual.ExitCode);
    }

    [Fact]
    public void PersonalityOptionOverridesTheFile()
    {
        // Run as Linux, FreeBSD's write (4) is Linux x86-64's stat: the hello program prints nothing.
        var program = Path.Combine(Build, "freebsd-x86_64-hello");
        var asLinux = Runner.RunTrapeze("run", "--personality", "linux", "--", program);
        Assert.DoesNotContain("Hello, world!", asLinux.Stdout);
        var asFreeBsd = Runner.RunTrapeze("run", "--personality", "freebsd", "--", program);
        Assert.Equal("Hello, world!\n", asFreeBsd.Stdout);
    }

    /// <summary>A Mach-O program that calls into libSystem (not just naming it) needs dyld: one line, exit 126.</summary>
    [Fact]
    public void MachOThatNeedsDyldFailsWithOneLine()
    {
        var result = Runner.RunTrapeze("run", "--", Path.Combine(Build, "darwin-x86_64-needs-dyld"));
        Assert.Equal(126, result.ExitCode);
        Assert.Equal("", result.Stdout);
        var line = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.Contains("needs dyld to bind _write", line);
    }

    [Fact]
    public void SyscallTablesPerSystem()
    {
        var freebsd = Runner.RunTrapeze("syscalls", "--os", "freebsd");
        Assert.Contains("| 4 | write |", freebsd.Stdout);
        Assert.Contains("| 542 | pipe2 | Partial |", freebsd.Stdout);
        var darwin = Runner.RunTrapeze("syscalls", "--os", "darwin");
        Assert.Contains("| 42 | pipe | Full |", darwin.Stdout);
        Assert.Contains("| 16777216 | mach_trap | Unsupported |", darwin.Stdout);
    }

    [Fact]
    public void BsdTablesAreCurrent()
    {
        var result = Runner.Run(Path.Combine(Runner.Root, "tools", "generate-abi-bsd"), ["--check"]);
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
    }
}
