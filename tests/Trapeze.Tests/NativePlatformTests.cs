using Trapeze.Cpu.Native;
using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// The native platform (`--platform native`): guest code on the host CPU in a child process under
/// seccomp. Its differential cases are <see cref="NativeDifferentialTests"/>; these check choosing
/// it, what happens where the host refuses it, stops of guest code that never calls the kernel,
/// and that guest threads really run at once.
/// </summary>
public sealed class NativePlatformTests
{
    private const int SIGINT = 2;

    /// <summary>This host (x86-64 Linux, seccomp allowed) runs the native platform.</summary>
    [Fact]
    public void IsAvailableHere()
    {
        var platform = NativePlatform.Probe(out var reason);
        Assert.True(platform is not null, $"the native platform is not available: {reason}");
    }

    [Fact]
    public void RunsAStaticHelloAndSaysSoWhenVerbose()
    {
        var result = Runner.RunTrapeze("run", "--platform", "native", "--verbose", Path.Combine(Runner.CasesBuild, "c_syscalls.glibc-static"));
        Assert.Contains("platform native", result.Stderr);
        var native = Runner.Run(Path.Combine(Runner.CasesBuild, "c_syscalls.glibc-static"), []);
        Assert.Equal(native.Stdout, result.Stdout);
    }

    [Fact]
    public void MissingStubIsAReasonNotACrash()
    {
        Assert.Null(NativePlatform.Probe(out var reason, "/nonexistent/trapeze-native-stub"));
        Assert.Contains("missing", reason);
    }

    /// <summary>
    /// Where the host refuses seccomp filters (here: trapeze runs under a filter that fails
    /// seccomp() with EPERM), `--platform native` says why and stops; `auto` falls back to Unicorn.
    /// </summary>
    [Fact]
    public void WithoutSeccompNativeRefusesAndAutoFallsBack()
    {
        var jail = BuildNoSeccompHelper();
        var program = Path.Combine(Runner.CasesBuild, "c_syscalls.glibc-static");
        var refused = Runner.Run(jail, [Runner.Trapeze, "run", "--platform", "native", program]);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--platform native is not available here", refused.Stderr);
        Assert.Contains("seccomp", refused.Stderr);

        var fallback = Runner.Run(jail, [Runner.Trapeze, "run", "--platform", "auto", "--verbose", program]);
        Assert.Contains("platform unicorn (native is not available", fallback.Stderr);
        Assert.Equal(Runner.Run(program, []).Stdout, fallback.Stdout);
    }

    /// <summary>A guest that spins without a system call still ends at Ctrl-C (the stop signal reaches its host thread).</summary>
    [Fact]
    public void InterruptEndsASpinningGuest()
    {
        var (code, stdout, _, seconds) = HostSignalTests.RunAndSignal(["/bin/bash", "-c", "echo ready; while :; do :; done"], SIGINT, waitFor: "ready\n", options: ["--platform", "native"]);
        Assert.Equal(130, code);
        Assert.Equal("ready\n", stdout);
        Assert.True(seconds < 30, $"trapeze took {seconds:F1} s to end after SIGINT");
    }

    [Fact]
    public void InterruptReachesASpinningGuestsHandler()
    {
        var (code, stdout, _, _) = HostSignalTests.RunAndSignal(
            ["/bin/bash", "-c", "trap 'echo caught; exit 7' INT; echo ready; while :; do :; done"], SIGINT, waitFor: "ready\n", options: ["--platform", "native"]);
        Assert.Equal("ready\ncaught\n", stdout);
        Assert.Equal(7, code);
    }

    /// <summary>A small program that runs its arguments under a seccomp filter making seccomp() and prctl(PR_SET_SECCOMP) fail with EPERM.</summary>
    private static string BuildNoSeccompHelper()
    {
        var directory = Directory.CreateTempSubdirectory("trapeze-noseccomp-").FullName;
        var source = Path.Combine(directory, "noseccomp.c");
        var binary = Path.Combine(directory, "noseccomp");
        File.WriteAllText(source, """
            #include <linux/filter.h>
            #include <linux/seccomp.h>
            #include <stddef.h>
            #include <sys/prctl.h>
            #include <sys/syscall.h>
            #include <unistd.h>
            int main(int argc, char **argv) {
                struct sock_filter code[] = {
                    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 1),
                    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
                    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                };
                struct sock_fprog program = { sizeof code / sizeof code[0], code };
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program))
                    return 99;
                execv(argv[1], argv + 1);
                return 98;
            }
            """);
        var built = Runner.Run("gcc", ["-O2", "-o", binary, source]);
        Assert.True(built.ExitCode == 0, built.Stderr);
        return binary;
    }
}
