using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// FreeBSD, Darwin and SunOS 4 SPARC guests (tests/cases/other-os, built by its build.sh): no peer runs them on Linux,
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
    public void SunOsTableHasItsOwnNumbers()
    {
        var sunos = Runner.RunTrapeze("syscalls", "--os", "sunos4");
        Assert.Equal(0, sunos.ExitCode);
        Assert.Contains("# SunOS 4 SPARC syscalls", sunos.Stdout);
        Assert.Contains("| 4 | write |", sunos.Stdout);
        Assert.Contains("| 20 | getpid | Full |", sunos.Stdout);
        Assert.Contains("| 109 | sigblock | Full |", sunos.Stdout);
        Assert.Contains("| 108 | sigvec | Partial |", sunos.Stdout);
        Assert.Contains("| 139 | sigcleanup | Partial |", sunos.Stdout);
    }

    /// <summary>The tracer names SunOS's calls by SunOS's table: 5 is open and 136 mkdir (Linux x86-64: fstat and a reserved slot).</summary>
    [Fact]
    public void TraceNamesSunOsCalls()
    {
        var result = Runner.RunTrapeze("trace", "--", Path.Combine(Build, "sunos4-sparc-errno"));
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("open(\"/nonexistent/file\", O_RDONLY) = -1 ENOENT", Squeezed(result.Stderr));
        Assert.Contains("rmdir(\"/tmp/trapeze-sunos4-dir\") = -1 ENOTEMPTY", Squeezed(result.Stderr));
        Assert.Contains("execve(", result.Stderr);
    }

    /// <summary>A BSD guest's failed call shows the errno the guest got: FreeBSD's ENOTEMPTY is 66 and EAGAIN 35 (Linux: 39 and 11).</summary>
    [Fact]
    public void TraceShowsTheSystemsOwnErrno()
    {
        var result = Runner.RunTrapeze("trace", "--", Path.Combine(Build, "freebsd-x86_64-errno"));
        Assert.Equal(0, result.ExitCode);
        var trace = Squeezed(result.Stderr);
        Assert.Contains("rmdir(\"/tmp/trapeze-other-os-dir\") = -1 ENOTEMPTY (66: Directory not empty)", trace);
        Assert.Contains("= -1 EAGAIN (35: Resource temporarily unavailable)", trace);
        var sunos = Squeezed(Runner.RunTrapeze("trace", "--", Path.Combine(Build, "sunos4-sparc-errno")).Stderr);
        Assert.Contains("= -1 ENAMETOOLONG (63: File name too long)", sunos);
    }

    [Fact]
    public void KqueueIsInFreeBsdsTable()
    {
        var freebsd = Runner.RunTrapeze("syscalls", "--os", "freebsd").Stdout;
        Assert.Contains("| 362 | kqueue | Full |", freebsd);
        Assert.Contains("| 560 | kevent | Partial |", freebsd);
        Assert.Contains("| 551 | fstat | Full |", freebsd);
    }

    private static string Squeezed(string text) => System.Text.RegularExpressions.Regex.Replace(text, " +", " ");

    /// <summary>The a.out magic picks SunOS; run as Linux, a SPARC program is refused with one line.</summary>
    [Fact]
    public void SunOsPersonalityFromTheAOutMagic()
    {
        var program = Path.Combine(Build, "sunos4-sparc-hello");
        Assert.Equal("Hello world!\n", Runner.RunTrapeze("run", "--personality", "sunos4", "--", program).Stdout);
        var asLinux = Runner.RunTrapeze("run", "--personality", "linux", "--", program);
        Assert.Equal(126, asLinux.ExitCode);
        Assert.Contains("SunOS 4", Assert.Single(asLinux.Stderr.Trim().Split('\n')));
    }

    /// <summary>Malformed a.out files are ENOEXEC with one line: a header whose text runs past the file, and a dynamically linked one.</summary>
    [Theory]
    [InlineData(0x00, 0x10000, "truncated a.out")]
    [InlineData(0x80, 0x20, "needs SunOS's ld.so")]
    public void BadAOutIsRefusedWithOneLine(byte flags, uint text, string why)
    {
        var path = Path.Combine(Path.GetTempPath(), $"trapeze-bad-aout-{flags:x}");
        var header = new byte[64];
        header[0] = flags;
        header[1] = 3;
        header[2] = 0x01;
        header[3] = 0x0b;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), text);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(20), 0x2020);
        File.WriteAllBytes(path, header);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var result = Runner.RunTrapeze("run", "--", path);
            Assert.Equal(126, result.ExitCode);
            Assert.Contains(why, Assert.Single(result.Stderr.Trim().Split('\n')));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void BsdTablesAreCurrent()
    {
        var result = Runner.Run(Path.Combine(Runner.Root, "tools", "generate-abi-bsd"), ["--check"]);
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
    }
}
