using Trapeze.Cpu;
using Trapeze.Kernel;
using Trapeze.Kernel.Loader;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;
using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>The vDSO Trapeze builds: a valid shared object for binutils, and clock reads through it reach Trapeze.</summary>
public sealed class VdsoTests
{
    private static readonly string[] Exported = ["__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu", "__vdso_clock_getres"];

    [Fact]
    public void ReadelfSeesVersionedFunctions()
    {
        var file = Path.Combine(Path.GetTempPath(), $"trapeze-vdso-{Guid.NewGuid():N}.so");
        File.WriteAllBytes(file, Vdso.Build());
        try
        {
            var symbols = Runner.Run("readelf", ["--dyn-syms", "-W", file]);
            Assert.Equal(0, symbols.ExitCode);
            Assert.Equal("", symbols.Stderr);
            foreach (var name in Exported)
                Assert.Matches($@"FUNC\s+GLOBAL\s+DEFAULT\s+\d+ {name}@@LINUX_2\.6\n", symbols.Stdout);
            var dynamic = Runner.Run("readelf", ["--dynamic", "-W", file]);
            Assert.Contains("Library soname: [linux-vdso.so.1]", dynamic.Stdout);
            var code = Runner.Run("objdump", ["-d", file]);
            Assert.Matches(@"<__vdso_clock_gettime@@LINUX_2\.6>:\n.*mov\s+\$0xe4,%eax\n.*syscall\n.*ret", code.Stdout);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("vdso.glibc-dynamic")]
    [InlineData("vdso.glibc-static")]
    [InlineData("vdso.musl-static")]
    [InlineData("vdso.musl-dynamic")]
    public void ClockReadsThroughTheVdsoReachTrapeze(string program)
    {
        var observer = new ClockCallSites();
        using var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
        var descriptor = (int)devNull.DangerousGetHandle();
        using var kernel = new global::Trapeze.Kernel.Kernel(new KernelOptions { Platform = new Trapeze.Cpu.Unicorn.UnicornPlatform(), Tracer = observer, InheritedDescriptors = new Dictionary<int, int> { [0] = descriptor, [1] = descriptor, [2] = descriptor } });
        var status = kernel.Run(Path.Combine(Runner.CasesBuild, program), [program], ["LC_ALL=C"]);

        Assert.Equal(ExitStatus.Exited(0), status);
        // The program reads CLOCK_MONOTONIC through __vdso_clock_gettime directly and through
        // libc's clock_gettime (which glibc and musl route to the vDSO), and once by syscall().
        Assert.True(observer.FromVdso["clock_gettime"] >= 2, $"clock_gettime from the vDSO: {observer.FromVdso["clock_gettime"]}");
        Assert.True(observer.Elsewhere["clock_gettime"] >= 1);
        foreach (var call in new[] { "gettimeofday", "time", "getcpu", "clock_getres" })
            Assert.True(observer.FromVdso[call] >= 1, $"{call} was not served through the vDSO");
    }

    /// <summary>Counts clock calls by whether the syscall instruction lies in the [vdso] mapping.</summary>
    private sealed class ClockCallSites : ISyscallTracer
    {
        public Dictionary<string, int> FromVdso { get; } = new() { ["clock_gettime"] = 0, ["gettimeofday"] = 0, ["time"] = 0, ["getcpu"] = 0, ["clock_getres"] = 0 };
        public Dictionary<string, int> Elsewhere { get; } = new() { ["clock_gettime"] = 0 };

        public void Enter(GuestThread thread, ref SyscallCall call)
        {
            if (!FromVdso.ContainsKey(call.Name))
                return;
            var process = thread.Process;
            // The syscall hook runs with RIP still on the syscall instruction.
            var site = process.AddressSpace.Find(process.Cpu.ReadRegister(X64Register.Rip));
            if (site?.Name == Vdso.MappingName)
                FromVdso[call.Name]++;
            else if (Elsewhere.ContainsKey(call.Name))
                Elsewhere[call.Name]++;
        }

        public void Exit(GuestThread thread, ref SyscallCall call)
        {
        }
    }
}
