using Trapeze.Cpu.Unicorn;

namespace Trapeze.Cpu.Native;

/// <summary>
/// The native platform: x86-64 guest code runs on the host CPU in a child process under a seccomp
/// filter (Native/stub). Other architectures have no CPU here.
/// </summary>
public sealed class NativePlatform : IPlatform
{
    private NativePlatform(string stub) => Stub = stub;

    public string Name => "native";

    /// <summary>The child's program, next to Trapeze's own.</summary>
    public string Stub { get; }

    /// <summary>The stub built with Trapeze (Trapeze.Cpu.csproj).</summary>
    public static string DefaultStub => Path.Combine(AppContext.BaseDirectory, "trapeze-native-stub");

    /// <summary>
    /// The platform when this host can run it (an x86-64 Linux host, the stub present, a seccomp
    /// filter allowed, the reserved addresses free); null and why not otherwise. It starts one child to find out.
    /// </summary>
    public static NativePlatform? Probe(out string? reason, string? stub = null)
    {
        stub ??= DefaultStub;
        reason = null;
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            reason = "the host is not x86-64 Linux";
            return null;
        }
        if (!File.Exists(stub))
        {
            reason = $"{stub} is missing (it is built with Trapeze)";
            return null;
        }
        using var cpu = NativeX64Cpu.Start(new NoEvents(), stub, out reason);
        return cpu is null ? null : new NativePlatform(stub);
    }

    public ICpu CreateCpu(ICpuEvents events, CpuArchitecture architecture = CpuArchitecture.X86_64)
    {
        if (architecture != CpuArchitecture.X86_64)
            throw new CpuException($"the native platform runs x86-64 code only, not {architecture}");
        return NativeX64Cpu.Start(events, Stub, out var error) ?? throw new CpuException($"the native platform cannot start a process: {error}");
    }

    public bool Runs(CpuArchitecture architecture) => architecture == CpuArchitecture.X86_64;

    private sealed class NoEvents : ICpuEvents
    {
        public void OnSyscall(ICpu cpu, ulong nextInstruction) { }
    }
}
