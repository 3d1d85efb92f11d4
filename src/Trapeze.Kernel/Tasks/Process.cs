using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// A guest process: one address space on one CPU, its threads, file descriptors, working
/// directory and signal dispositions.
/// </summary>
public sealed class Process : ICpuEvents, IDisposable
{
    private const int SignalCount = 64;

    internal Process(Kernel kernel, int id, int parentId, IPersonality personality, Func<ICpuEvents, ICpu> createCpu)
    {
        Kernel = kernel;
        Id = id;
        ParentId = parentId;
        Personality = personality;
        Cpu = createCpu(this);
        AddressSpace = new AddressSpace(Cpu);
        Memory = new GuestMemory(AddressSpace);
        MainThread = new GuestThread(this, id);
        CurrentThread = MainThread;
    }

    public Kernel Kernel { get; }
    public int Id { get; }
    public int ParentId { get; }
    public IPersonality Personality { get; }
    public ICpu Cpu { get; }
    public AddressSpace AddressSpace { get; }
    public GuestMemory Memory { get; }
    public FileTable Files { get; } = new();
    public GuestThread MainThread { get; }
    public GuestThread CurrentThread { get; private set; }

    /// <summary>The program's path as the guest named it, for /proc/self/exe.</summary>
    public string ExecutablePath { get; internal set; } = "";

    /// <summary>Where argv's and envp's strings lie in guest memory (/proc/PID/cmdline, environ).</summary>
    public (ulong Start, ulong End) Arguments { get; internal set; }
    public (ulong Start, ulong End) Environment { get; internal set; }

    /// <summary>The auxiliary vector the program started with, for /proc/PID/auxv.</summary>
    public byte[] AuxiliaryVector { get; internal set; } = [];

    /// <summary>The thread name prctl(PR_SET_NAME) sets: /proc/PID/comm, at most 15 bytes.</summary>
    public string Command { get; internal set; } = "";

    /// <summary>prctl state: PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS.</summary>
    public int ParentDeathSignal { get; internal set; }
    public bool Dumpable { get; internal set; } = true;
    public bool NoNewPrivileges { get; internal set; }

    /// <summary>The working directory: a host descriptor (for *at calls) and its path (for getcwd).</summary>
    public int WorkingDirectory { get; internal set; } = -1;
    public string WorkingDirectoryPath { get; internal set; } = "/";

    /// <summary>Program break: the heap starts at <see cref="BreakStart"/> and ends at <see cref="Break"/>.</summary>
    public ulong BreakStart { get; internal set; }

    /// <summary>umask: permission bits cleared from files the guest creates (Trapeze applies it; the host's is 0).</summary>
    public uint FileCreationMask { get; set; }
    public ulong Break { get; internal set; }

    /// <summary>The raw struct sigaction per signal, as rt_sigaction stored it (delivery is not implemented yet).</summary>
    public byte[][] SignalActions { get; } = Enumerable.Range(0, SignalCount).Select(_ => new byte[32]).ToArray();

    public Dictionary<RlimitResource, ResourceLimit> ResourceLimits { get; } = new()
    {
        [RlimitResource.RLIMIT_STACK] = new ResourceLimit { Current = 8 << 20, Maximum = ulong.MaxValue },
        [RlimitResource.RLIMIT_NOFILE] = new ResourceLimit { Current = 1024, Maximum = 1024 * 1024 },
        [RlimitResource.RLIMIT_CORE] = new ResourceLimit { Current = 0, Maximum = ulong.MaxValue },
    };

    public ExitStatus? Exit { get; private set; }

    /// <summary>Ends the process with <paramref name="status"/>; the CPU stops at the next instruction boundary.</summary>
    public void Terminate(ExitStatus status)
    {
        Exit ??= status;
        Cpu.RequestStop();
    }

    /// <summary>Runs the guest until the process exits.</summary>
    public ExitStatus Run()
    {
        while (Exit is null)
        {
            CpuStop stop;
            try
            {
                stop = Cpu.Run();
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // A handler threw: that is a Trapeze bug, never the guest's fault. Report and kill with SIGSYS.
                Kernel.Diagnostics.WriteLine($"trapeze: internal error: {exception}");
                Terminate(ExitStatus.Killed(Signal.SIGSYS, "internal error in Trapeze"));
                break;
            }
            switch (stop.Reason)
            {
                case CpuStopReason.Requested:
                    break;
                case CpuStopReason.MemoryFault:
                    var fault = ExitStatus.Killed(Signal.SIGSEGV, $"at 0x{stop.FaultAddress:x} ({(stop.FaultWasUnmapped ? "unmapped" : "protection")} {(stop.FaultWasWrite ? "write" : "access")}, pc 0x{Cpu.ReadRegister(X64Register.Rip):x})");
                    Terminate(fault with { FaultAddress = stop.FaultAddress, FaultUnmapped = stop.FaultWasUnmapped });
                    break;
                case CpuStopReason.InvalidInstruction:
                    Terminate(ExitStatus.Killed(Signal.SIGILL, $"at 0x{stop.FaultAddress:x}"));
                    break;
                default:
                    Terminate(ExitStatus.Killed(Signal.SIGSEGV, $"at 0x{stop.FaultAddress:x} (CPU exception)"));
                    break;
            }
        }
        return Exit!;
    }

    void ICpuEvents.OnSyscall(ICpu cpu, ulong nextInstruction) => Personality.OnSyscall(CurrentThread, cpu, nextInstruction);

    void ICpuEvents.OnInterrupt(ICpu cpu, int number)
    {
        var pc = cpu.ReadRegister(X64Register.Rip);
        // x86 exception vectors: #DE 0, #BP 3, #UD 6, #GP 13, #PF 14.
        var (signal, what) = number switch
        {
            0 => (Signal.SIGFPE, "divide error"),
            3 => (Signal.SIGTRAP, "breakpoint"),
            6 => (Signal.SIGILL, "invalid opcode"),
            _ => (Signal.SIGSEGV, $"interrupt {number}"),
        };
        Terminate(ExitStatus.Killed(signal, $"at 0x{pc:x} ({what})"));
    }

    public void Dispose()
    {
        Files.Dispose();
        if (WorkingDirectory >= 0)
            Host.HostSyscall.Invoke(Host.HostSyscall.Close, WorkingDirectory);
        AddressSpace.Dispose();
        Cpu.Dispose();
    }
}
