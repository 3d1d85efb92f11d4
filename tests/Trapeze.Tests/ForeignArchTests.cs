using Trapeze.Kernel.Abi;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// i386 and ARM guests (tests/cases/foreign, built by its build.sh): this machine's kernel runs
/// neither, so each program's expected output is qemu-i386's or qemu-arm's, except where qemu is wrong.
/// </summary>
public sealed class ForeignArchTests
{
    private static string Build => Path.Combine(Runner.Root, "tests", "cases", "foreign", "build");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        if (!Directory.Exists(Build))
            throw new InvalidOperationException("tests/cases/foreign/build is missing: run tests/cases/foreign/build.sh (./test does)");
        foreach (var file in Directory.GetFiles(Build).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            if (File.Exists(file) && !name.EndsWith(".so.1", StringComparison.Ordinal) && !QemuIsWrong.ContainsKey(name))
                data.Add(name);
        }
        return data;
    }

    /// <summary>Programs qemu-user runs wrongly, with what Linux prints and exits with.</summary>
    private static readonly Dictionary<string, (string Stdout, int ExitCode)> QemuIsWrong = new()
    {
        // qemu-i386 maps no i386 vDSO, so ld.so cannot find linux-gate.so.1.
        ["i386-hello_vdso"] = ("Hello, world!\n", 0),
        // x86-64 code using int 0x80 (the compat entry): qemu-x86_64 has no i386 entry, and this
        // machine's kernel has no IA32 emulation to compare with natively.
        ["x86_64-int80_from_64"] = ("compat int 0x80\n", 7),
        // qemu-arm's execve of /proc/self/exe runs the host's loader on an ARM file (no binfmt_misc
        // here), so the child exits 127; Linux runs the program again, as the i386 builds show natively.
        ["processes_exec.arm-static"] = (ExecOutput, 0),
        ["processes_exec.arm-dynamic"] = (ExecOutput, 0),
    };

    private const string ExecOutput = "exec'd with 3 args: again 5 env set\nchild exit 5\nvfork exit 9\nexecve missing -1\n";

    /// <summary>Where the dynamic ARM programs find ld-linux-armhf.so.3 and libc (libc6-armhf-cross).</summary>
    private const string ArmSysroot = "/usr/arm-linux-gnueabihf";

    /// <summary>The run of a program under Trapeze: dynamic ARM programs get the sysroot, as qemu-arm gets -L.</summary>
    private static RunResult RunTrapeze(string name)
        => name.EndsWith(".arm-dynamic", StringComparison.Ordinal)
            ? Runner.Run(Runner.Trapeze, ["run", "--sysroot", ArmSysroot, "--", Path.Combine(Build, name)])
            : Runner.Run(Runner.Trapeze, ["run", "--", Path.Combine(Build, name)]);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesQemu(string name)
    {
        var program = Path.Combine(Build, name);
        var qemu = name.StartsWith("arm-", StringComparison.Ordinal) || name.Contains(".arm-", StringComparison.Ordinal) ? "qemu-arm" : "qemu-i386";
        var expected = name.EndsWith(".arm-dynamic", StringComparison.Ordinal) ? Runner.Run(qemu, ["-L", ArmSysroot, program]) : Runner.Run(qemu, [program]);
        var actual = RunTrapeze(name);
        Assert.Equal(expected.Stdout, actual.Stdout);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
    }

    [Theory]
    [InlineData("i386-hello_vdso")]
    [InlineData("x86_64-int80_from_64")]
    [InlineData("processes_exec.arm-static")]
    [InlineData("processes_exec.arm-dynamic")]
    public void RunsWhereQemuDoesNot(string name)
    {
        var (stdout, exitCode) = QemuIsWrong[name];
        var actual = RunTrapeze(name);
        Assert.Equal(stdout, actual.Stdout);
        Assert.Equal(exitCode, actual.ExitCode);
    }

    /// <summary>Reference 02's i386 (int 0x80, static and through ld-linux.so.2), i386 vDSO and ARM examples.</summary>
    [Theory]
    [InlineData("i386-hello")]
    [InlineData("i386-hello-dynamic")]
    [InlineData("i386-hello_vdso")]
    [InlineData("arm-hello")]
    public void ReferenceHelloWorld(string name)
    {
        var result = Runner.Run(Runner.Trapeze, ["run", Path.Combine(Build, name)]);
        Assert.Equal("Hello, world!\n", result.Stdout);
        Assert.Equal(0, result.ExitCode);
    }

    public static TheoryData<string, string> BusyboxCases() => new()
    {
        { "i386", "sh -c 'echo a b | wc -w'" },
        { "armhf", "sh -c 'echo a b | wc -w'" },
        { "i386", "ls" },
        { "armhf", "ls" },
        { "i386", "sed" },
        { "armhf", "sed" },
        { "i386", "awk" },
        { "armhf", "awk" },
    };

    /// <summary>Debian's busybox-static for i386 and armhf, against the host's own busybox (the same version).</summary>
    [Theory]
    [MemberData(nameof(BusyboxCases))]
    public void DebianBusybox(string arch, string what)
    {
        var busybox = Path.Combine(Build, $"busybox-{arch}", "bin", "busybox");
        var words = Path.Combine(Runner.Root, "tests", "cases", "data", "words.txt");
        string[] arguments = what switch
        {
            "ls" => ["ls", Path.Combine(Runner.Root, "tests", "cases")],
            "sed" => ["sed", "-n", "s/a/A/gp", words],
            "awk" => ["awk", "{ n += NF } END { print NR, n }", words],
            _ => ["sh", "-c", "echo a b | wc -w"],
        };
        var native = Runner.Run("/bin/busybox", arguments);
        var emulated = Runner.Run(Runner.Trapeze, ["run", busybox, .. arguments]);
        Assert.Equal(native.Stdout, emulated.Stdout);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
        Assert.NotEmpty(native.Stdout);
    }

    [Fact]
    public void SyscallTablesPerArchitecture()
    {
        var i386 = Runner.RunTrapeze("syscalls", "--arch", "i386");
        Assert.Contains("| 192 | mmap2 | Partial |", i386.Stdout);
        Assert.Contains("| 243 | set_thread_area | Partial |", i386.Stdout);
        var arm = Runner.RunTrapeze("syscalls", "--arch", "arm");
        Assert.Contains("| 983045 | set_tls | Full |", arm.Stdout);
        Assert.Contains("| 197 | fstat64 | Full |", arm.Stdout);
    }

    [Fact]
    public void ThirtyTwoBitTablesAreCurrent()
    {
        var result = Runner.Run(Path.Combine(Runner.Root, "tools", "generate-abi-32"), ["--check"]);
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
    }

    /// <summary>struct stat64 from one declaration: 96 bytes on i386 (long long aligned to 4), 104 on ARM EABI.</summary>
    [Fact]
    public void Stat64LayoutFollowsEachDataModel()
    {
        var i386 = new LinuxStructures(DataModel.I386);
        var arm = new LinuxStructures(DataModel.ArmEabi);
        Assert.Equal(96, i386.StatSize);
        Assert.Equal(104, arm.StatSize);
        Assert.Equal(8, i386.IoVectorSize);
        Assert.Equal(16, new LinuxStructures(DataModel.Lp64).IoVectorSize);
    }
}
