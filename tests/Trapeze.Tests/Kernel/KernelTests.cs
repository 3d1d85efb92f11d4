using Trapeze.Kernel;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Tasks;
using Trapeze.Tests.Support;

namespace Trapeze.Tests.Kernel;

/// <summary>Kernels are plain objects: several can live and run in one host process.</summary>
public sealed class KernelTests
{
    private static string Case(string name) => Path.Combine(Runner.CasesBuild, name);

    [Fact]
    public void TwoKernelsRunSideBySide()
    {
        using var first = new Trapeze.Kernel.Kernel(new KernelOptions { Platform = new Trapeze.Cpu.Unicorn.UnicornPlatform(), Diagnostics = TextWriter.Null });
        using var second = new Trapeze.Kernel.Kernel(new KernelOptions { Platform = new Trapeze.Cpu.Unicorn.UnicornPlatform(), Diagnostics = TextWriter.Null });
        var exitCode = first.Run(Case("exit_code"), ["exit_code"], []);
        var segfault = second.Run(Case("segfault"), ["segfault"], []);

        Assert.Equal(ExitStatus.Exited(0x2a), exitCode);
        Assert.Equal(Signal.SIGSEGV, segfault.Signal);
        Assert.Equal(139, segfault.Code);
    }

    [Fact]
    public void ObserverSeesEverySyscallAtTheDispatchPoint()
    {
        var observer = new CountingObserver();
        using var kernel = new Trapeze.Kernel.Kernel(new KernelOptions { Platform = new Trapeze.Cpu.Unicorn.UnicornPlatform(), Diagnostics = TextWriter.Null, Tracer = observer });
        var status = kernel.Run(Case("error_exit"), ["error_exit"], []);

        Assert.Equal(2, status.Code);
        Assert.Equal(["open", "exit"], observer.Entered);
        Assert.Equal(Errno.ENOENT, observer.Results[0].Error);
    }

    private sealed class CountingObserver : ISyscallTracer
    {
        public List<string> Entered { get; } = [];
        public List<Trapeze.Kernel.Syscalls.Result> Results { get; } = [];

        public void Enter(GuestThread thread, ref SyscallCall call) => Entered.Add(call.Name);

        public void Exit(GuestThread thread, ref SyscallCall call) => Results.Add(call.Result);
    }
}
