using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>Terminal ioctls reach the host's tty: run natively and under Trapeze inside script(1)'s pseudo-terminal.</summary>
public sealed class TerminalTests
{
    [Theory]
    [InlineData("c_tty.glibc-static")]
    [InlineData("c_tty.musl-static")]
    [InlineData("c_tty.glibc-dynamic")]
    public void TtyIoctlsMatchNative(string name)
    {
        var program = Path.Combine(Runner.CasesBuild, name);
        var native = Runner.Run("script", ["-qec", program, "/dev/null"]);
        var emulated = Runner.Run("script", ["-qec", $"{Runner.Trapeze} run {program}", "/dev/null"]);

        Assert.Contains("isatty(1)=1 tcgetattr=0 winsize=0", native.Stdout);
        Assert.Equal(native.Stdout, emulated.Stdout);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
    }
}
