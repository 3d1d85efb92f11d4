using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Loader;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel;

public sealed class KernelOptions
{
    /// <summary>Where Trapeze's own messages go (never the guest's stderr descriptor).</summary>
    public TextWriter Diagnostics { get; init; } = Console.Error;

    /// <summary>Name each unsupported syscall once on <see cref="Diagnostics"/>.</summary>
    public bool ReportUnsupported { get; init; }

    /// <summary>
    /// The first process's umask. Trapeze applies the guest's umask itself, so the host process
    /// should run with umask 0 (the CLI sets that) or files get both masks.
    /// </summary>
    public uint FileCreationMask { get; init; } = 0b000_010_010; // 022

    /// <summary>
    /// The first process's descriptors: guest number -> host descriptor (duplicated), as exec
    /// passes open descriptors on. By default, those the host process itself inherited, at their
    /// own numbers: every descriptor without close-on-exec (Trapeze and .NET open all of theirs
    /// close-on-exec), so `trapeze run prog 3&lt;file` gives the guest its descriptor 3.
    /// </summary>
    public IReadOnlyDictionary<int, int>? InheritedDescriptors { get; init; }

    /// <summary>Sees every syscall at the dispatch point (the tracer); <see cref="Kernel.Tracer"/> can change it later.</summary>
    public ISyscallTracer? Tracer { get; init; }

    /// <summary>The system every program is run as (--personality); null: what each file says.</summary>
    public ProgramOs? Personality { get; init; }

    /// <summary>Where guest code runs. The kernel never builds a CPU engine itself.</summary>
    public required IPlatform Platform { get; init; }

    /// <summary>Live guest processes at most (zombies included); fork beyond it fails with EAGAIN.</summary>
    public int MaximumProcesses { get; init; } = 1024;

    /// <summary>The first process's id; by default Trapeze's own, so the guest sees familiar numbers.</summary>
    public int? FirstProcessId { get; init; }

    /// <summary>Print a .NET stack trace with internal errors (--debug-internal).</summary>
    public bool DebugInternal { get; init; }

    /// <summary>The guest's file system: root directory, binds, read-only, working directory.</summary>
    public Vfs.FileSystemLayout Layout { get; init; } = new();

    /// <summary>--net: host sockets for AF_INET/AF_INET6, or loopback only inside Trapeze.</summary>
    public Net.NetworkMode Network { get; init; } = Net.NetworkMode.Host;

    /// <summary>
    /// --deterministic: a virtual clock moved by guest progress, random bytes from <see cref="Seed"/>,
    /// pids from 1000, scheduling by progress; the platform must count (<see cref="IPlatform.Counter"/>).
    /// </summary>
    public bool Deterministic { get; init; }

    /// <summary>The seed of a deterministic run's random bytes.</summary>
    public ulong Seed { get; init; }

    /// <summary>The node name uname gives the guest (an OCI container's hostname); by default the host's.</summary>
    public string? HostName { get; init; }

    /// <summary>
    /// --memory: every process's address space at most this many bytes (its RLIMIT_AS, soft and
    /// hard); mmap, brk and mremap past it fail with ENOMEM, and no guest can raise it, root included.
    /// </summary>
    public ulong? MemoryLimit { get; init; }

    /// <summary>--max-open-files: RLIMIT_NOFILE, soft and hard, that no guest can raise: open and dup past it fail with EMFILE.</summary>
    public int? MaximumOpenFiles { get; init; }
}


/// <summary>
/// One Trapeze kernel: its processes, scheduler and services. Nothing is global, so tests can run
/// many kernels side by side in one host process.
/// </summary>
public sealed class Kernel : IDisposable
{
    private readonly KernelOptions options;
    private readonly HashSet<string> reportedUnsupported = [];
    private readonly List<Process> processes = [];
    private readonly ManualResetEventSlim firstProcessEnded = new();
    private readonly CountdownEvent hostThreads = new(1);
    private Process? init;

    public Kernel(KernelOptions options)
    {
        this.options = options;
        Tracer = options.Tracer;
        if (options.Deterministic)
        {
            var counter = options.Platform.Counter ?? throw new ArgumentException("a deterministic run needs a platform that counts guest progress");
            Determinism = new DeterministicScheduling(counter);
            Clock = new VirtualClock(counter);
            Random = new SeededRandom(options.Seed);
            Scheduler.Deterministic = true;
            OutsideParentId = DeterministicFirstProcessId - 1;
        }
        else
        {
            OutsideParentId = (int)HostSyscall.Invoke(HostSyscall.Getppid);
        }
        Pids = new PidAllocator(options.FirstProcessId ?? (options.Deterministic ? DeterministicFirstProcessId : Environment.ProcessId));
        TimerService = new TimerService(this);
        Network = new Net.LocalNetwork { Mode = options.Network };
    }

    /// <summary>Runs <paramref name="work"/> holding the run lock, from a host thread that is no guest thread (timers, host signals).</summary>
    public void RunAsKernel(Action work)
    {
        var baton = new Baton();
        Scheduler.AcquireForKernel(baton);
        try
        {
            work();
        }
        finally
        {
            Scheduler.ReleaseForKernel(baton);
        }
    }

    /// <summary>
    /// Until disposed, SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH sent to Trapeze become the guest's
    /// (<see cref="ForwardHostSignal"/>) instead of ending Trapeze.
    /// </summary>
    public IDisposable ForwardHostSignals()
    {
        var registrations = new List<System.Runtime.InteropServices.PosixSignalRegistration>();
        foreach (var (host, guest) in new[]
        {
            (System.Runtime.InteropServices.PosixSignal.SIGINT, Signal.SIGINT),
            (System.Runtime.InteropServices.PosixSignal.SIGTERM, Signal.SIGTERM),
            (System.Runtime.InteropServices.PosixSignal.SIGHUP, Signal.SIGHUP),
            (System.Runtime.InteropServices.PosixSignal.SIGQUIT, Signal.SIGQUIT),
            (System.Runtime.InteropServices.PosixSignal.SIGWINCH, Signal.SIGWINCH),
        })
        {
            registrations.Add(System.Runtime.InteropServices.PosixSignalRegistration.Create(host, context =>
            {
                context.Cancel = true;
                ThreadPool.UnsafeQueueUserWorkItem(_ => ForwardHostSignal(guest), null);
            }));
        }
        return new Registrations(registrations);
    }

    private sealed class Registrations(List<System.Runtime.InteropServices.PosixSignalRegistration> all) : IDisposable
    {
        public void Dispose()
        {
            foreach (var registration in all)
                registration.Dispose();
        }
    }

    /// <summary>A process ends: its timers stop.</summary>
    internal void CancelTimers(Process process)
    {
        process.RealTimer?.Arm(this, 0, 0);
        process.VirtualTimer?.Arm(this, 0, 0);
        process.ProfileTimer?.Arm(this, 0, 0);
        foreach (var timer in process.Timers.Values)
            timer.Arm(this, 0, 0);
        process.Timers.Clear();
    }

    /// <summary>
    /// A host signal sent to Trapeze (Ctrl-C, kill): the guest's own. Terminal signals go to the
    /// first process's process group, as the terminal sends them to its foreground group; SIGTERM
    /// to the first process.
    /// </summary>
    public void ForwardHostSignal(Signal signal)
    {
        RunAsKernel(() =>
        {
            HostSignalArrived?.Invoke(signal);
            DeliverHostSignal(signal);
        });
    }

    /// <summary>Told of each host signal forwarded to the guest, holding the run lock (a recording keeps them).</summary>
    public Action<Signal>? HostSignalArrived { get; set; }

    /// <summary><see cref="ForwardHostSignal"/>'s work, for a caller that holds the run lock (a replay sends recorded signals).</summary>
    public void DeliverHostSignal(Signal signal)
    {
        if (init is not { State: ProcessState.Running } first)
            return;
        var info = SignalInfo.FromUser(signal, SignalInformation.Kernel, 0, 0);
        if (signal == Signal.SIGTERM)
        {
            SignalDelivery.SendToProcess(first, SignalInfo.FromUser(signal, SignalInformation.User, OutsideParentId, Credentials.UserId));
            return;
        }
        foreach (var process in processes.ToArray())
        {
            if (process.State == ProcessState.Running && process.ProcessGroupId == first.ProcessGroupId)
                SignalDelivery.SendToProcess(process, info);
        }
    }

    /// <summary>A signal for the first process alone, as `kill` from outside a container sends it to the container's init.</summary>
    public void SignalFirstProcess(Signal signal)
    {
        RunAsKernel(() =>
        {
            if (init is { State: ProcessState.Running } first)
                SignalDelivery.SendToProcess(first, SignalInfo.FromUser(signal, SignalInformation.User, OutsideParentId, Credentials.UserId));
        });
    }

    public KernelOptions Options => options;
    public TextWriter Diagnostics => options.Diagnostics;
    public IPlatform Platform => options.Platform;

    /// <summary>
    /// Hooks at the dispatch point for every syscall of every process of this kernel; null (the
    /// default) costs one check per syscall. See <see cref="SyscallHooks"/> for scripting.
    /// </summary>
    public ISyscallTracer? Tracer { get; set; }

    /// <summary>May stop guest threads at ptrace's points (a debugger stub); null costs one check at each.</summary>
    public ISupervisor? Supervisor { get; set; }
    public LinuxX64Personality LinuxX64 { get; } = new();
    public LinuxI386Personality LinuxI386 => linuxI386 ??= new();
    public LinuxArmPersonality LinuxArm => linuxArm ??= new();

    private LinuxI386Personality? linuxI386;
    private LinuxArmPersonality? linuxArm;

    /// <summary>The Linux personality for programs of <paramref name="architecture"/> (from the ELF header).</summary>
    public IPersonality PersonalityFor(CpuArchitecture architecture) => architecture switch
    {
        CpuArchitecture.I386 => LinuxI386,
        CpuArchitecture.Arm => LinuxArm,
        _ => LinuxX64,
    };

    private readonly Dictionary<(ProgramOs, CpuArchitecture), IPersonality> otherSystems = [];

    /// <summary>
    /// The personality for a program: its system (the file's marks, or <see cref="KernelOptions.Personality"/>)
    /// and CPU; ENOEXEC for a pair Trapeze has no personality for.
    /// </summary>
    public LoadFailure? PersonalityFor(ElfImage image, string path, out IPersonality? personality)
    {
        personality = null;
        var os = options.Personality ?? ProgramOsDetector.Detect(image.MachOData ?? image.File.Head(ProgramOsDetector.HeadSize));
        if (os == ProgramOs.Linux && image.Architecture == CpuArchitecture.Sparc)
            return new LoadFailure(Errno.ENOEXEC, $"{LoadFailure.Printable(path)}: Trapeze runs SPARC programs as SunOS 4's only");
        if (os == ProgramOs.Linux)
        {
            personality = PersonalityFor(image.Architecture);
            return null;
        }
        if (otherSystems.TryGetValue((os, image.Architecture), out var known))
        {
            personality = known;
            return null;
        }
        BsdAbi? abi = os switch
        {
            ProgramOs.FreeBsd => BsdAbi.FreeBsd,
            ProgramOs.Darwin => BsdAbi.Darwin,
            _ => null,
        };
        personality = (abi, image.Architecture) switch
        {
            ({ } bsd, CpuArchitecture.X86_64) => new BsdX64Personality(bsd),
            ({ } bsd, CpuArchitecture.I386) => new BsdI386Personality(bsd),
            _ when os == ProgramOs.SunOs4 && image.Architecture == CpuArchitecture.Sparc => new SunOsSparcPersonality(),
            _ => null,
        };
        if (personality is null)
            return new LoadFailure(Errno.ENOEXEC, $"{LoadFailure.Printable(path)}: {image.Architecture} programs for {os} are not supported");
        otherSystems[(os, image.Architecture)] = personality;
        return null;
    }

    public Scheduler Scheduler { get; } = new();
    public TimerService TimerService { get; }
    public FutexTable Futexes { get; } = new();

    /// <summary>fcntl and flock locks between guest processes.</summary>
    public Files.FileLocks Locks { get; } = new();
    public SystemVIpc SystemV { get; } = new();

    /// <summary>POSIX message queues by name (the bytes after mq_open's leading slash, as Latin-1 text).</summary>
    public Dictionary<string, Files.PosixMessageQueue> MessageQueues { get; } = [];
    public KernelClock Clock { get; init; } = new();
    public KernelRandom Random { get; init; } = new();
    public KernelCredentials Credentials { get; init; } = new();
    public PidAllocator Pids { get; }

    /// <summary>Local sockets' names (AF_UNIX paths and abstract names, --net none's loopback ports).</summary>
    public Net.LocalNetwork Network { get; }

    /// <summary>inotify's watches and the events file operations raise on them.</summary>
    public Vfs.FileNotifications Notifications { get; } = new();

    /// <summary>The mount namespace every process of this kernel shares.</summary>
    public Vfs.KernelFileSystems FileSystems { get; } = new();

    /// <summary>The first process's parent as the guest sees it: Trapeze's own parent.</summary>
    public int OutsideParentId { get; }

    /// <summary>The first process's id in a deterministic run.</summary>
    public const int DeterministicFirstProcessId = 1000;

    /// <summary>Scheduling by guest progress (--deterministic); null in an ordinary run.</summary>
    public DeterministicScheduling? Determinism { get; }

    /// <summary>The guest processes this kernel runs, zombies included (what /proc lists).</summary>
    public IReadOnlyList<Process> Processes => processes;

    /// <summary>The first process: orphans become its children.</summary>
    public Process? Init => init;

    public Process? FindProcess(int id) => processes.Find(process => process.Id == id && process.State == ProcessState.Running);

    public GuestThread? FindThread(int id)
    {
        foreach (var process in processes)
        {
            foreach (var thread in process.Threads)
            {
                if (thread.Id == id)
                    return thread;
            }
        }
        return null;
    }

    /// <summary>Runs a program and every process it starts; returns how the first one ended.</summary>
    public ExitStatus Run(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
        => Run(Start(path, arguments, environment));

    /// <summary>Runs the first process <see cref="Start"/> made (an OCI container is started apart from being created).</summary>
    public ExitStatus Run(Process process)
    {
        // The first thread runs on this host thread: no thread start on the way to the guest.
        process.MainThread.Main();
        firstProcessEnded.Wait();
        hostThreads.Signal();
        // Every other process was killed when the first ended; give their threads time to leave.
        hostThreads.Wait(TimeSpan.FromSeconds(5));
        return process.Exit!;
    }

    /// <summary>
    /// Creates the first process running <paramref name="path"/>, stopped at its first instruction;
    /// an <see cref="ExecutableException"/> (with the errno execve would give) when it cannot start.
    /// </summary>
    public Process Start(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        if (FileSystems.Table.RootMount is null && FileSystems.Setup(options.Layout, out var layoutError) is var setupError and not Errno.None)
            throw new ExecutableException(new LoadFailure(setupError, layoutError));
        var fileSystem = FileSystems.InitialContext(options.Layout, options.FileCreationMask);
        if (ProgramFile.Find((string name, out Vfs.ProgramData? data) => Vfs.KernelFileSystems.ReadProgram(null, fileSystem, name, out data, FileSystems.Sysroot),
            path, arguments, environment, out var program) is { } failure)
        {
            fileSystem.Release();
            throw new ExecutableException(failure);
        }
        if (PersonalityFor(program!.Image, path, out var personality) is { } unsupported)
        {
            program.Abandon();
            fileSystem.Release();
            throw new ExecutableException(unsupported);
        }
        var memory = new MemoryContext(Platform, personality!.Architecture);
        var process = new Process(this, Pids.Allocate(), null, personality, memory, new FileTable(), fileSystem, new SignalActions());
        process.Credentials = ProcessCredentials.From(Credentials);
        process.ProcessGroupId = options.Deterministic ? process.Id : (int)HostSyscall.Invoke(HostSyscall.Getpgid, 0);
        process.SessionId = options.Deterministic ? process.Id : (int)HostSyscall.Invoke(HostSyscall.Getsid, 0);
        process.AddThread(process.Id);
        ApplyLimitOptions(process);
        processes.Add(process);
        init = process;
        LoadFailure? startFailure;
        using (program)
            startFailure = ProgramStart.Load(process, program!, environment);
        if (startFailure is not null)
        {
            program.Location?.Node.Dispose();
            memory.Dispose();
            processes.Remove(process);
            throw new ExecutableException(startFailure.Value);
        }
        try
        {
            InheritFiles(process, options.InheritedDescriptors ?? InheritableHostDescriptors());
            Tracer?.ProcessStarted(process, path, arguments, environment);
            return process;
        }
        catch
        {
            memory.Dispose();
            processes.Remove(process);
            throw;
        }
    }

    /// <summary>The first process's limits from --memory and --max-open-files: soft and hard alike.</summary>
    private void ApplyLimitOptions(Process process)
    {
        if (options.MemoryLimit is { } memory)
            process.ResourceLimits[RlimitResource.RLIMIT_AS] = new ResourceLimit { Current = memory, Maximum = memory };
        if (options.MaximumOpenFiles is { } files)
        {
            process.ResourceLimits[RlimitResource.RLIMIT_NOFILE] = new ResourceLimit { Current = (ulong)files, Maximum = (ulong)files };
            process.Files.Limit = files;
        }
    }

    /// <summary>The most a guest may raise <paramref name="resource"/>'s hard limit to, privileged or not: what the options fixed.</summary>
    internal ulong CeilingOf(RlimitResource resource) => resource switch
    {
        RlimitResource.RLIMIT_AS when options.MemoryLimit is { } memory => memory,
        RlimitResource.RLIMIT_NOFILE when options.MaximumOpenFiles is { } files => (ulong)files,
        _ => ulong.MaxValue,
    };

    /// <summary>
    /// RLIMIT_NPROC as fork and clone check it: the tasks (threads) of the caller's real user,
    /// zombies included, against the caller's limit; root is exempt, as CAP_SYS_RESOURCE is on Linux.
    /// </summary>
    internal bool AtTaskLimit(Process caller)
    {
        var credentials = caller.Credentials;
        var limit = caller.LimitOf(RlimitResource.RLIMIT_NPROC);
        if (limit == ulong.MaxValue || credentials.RealUser == 0 || credentials.EffectiveUser == 0)
            return false;
        ulong tasks = 0;
        foreach (var process in processes)
        {
            if (process.State != ProcessState.Reaped && process.Credentials.RealUser == credentials.RealUser)
                tasks += (ulong)Math.Max(1, process.Threads.Count);
        }
        return tasks >= limit;
    }

    /// <summary>
    /// Ends every guest process at once (--timeout): as SIGKILL, so nothing in the guest can delay it.
    /// </summary>
    public void KillAll()
    {
        RunAsKernel(() =>
        {
            foreach (var process in processes.ToArray())
            {
                if (process.State == ProcessState.Running)
                    process.Terminate(ExitStatus.Killed(Signal.SIGKILL));
            }
        });
    }

    /// <summary>
    /// A new process for fork or clone without CLONE_THREAD; null with EAGAIN past the process limit.
    /// The pieces are the parent's own or copies, as the clone flags chose.
    /// </summary>
    internal Process? CreateProcess(Process parent, MemoryContext memory, FileTable files, FileSystemContext fileSystem, SignalActions signals, int exitSignal)
    {
        if (processes.Count >= options.MaximumProcesses)
            return null;
        var child = new Process(this, Pids.Allocate(), parent, parent.Personality, memory, files, fileSystem, signals) { ExitSignal = exitSignal };
        child.CopyLimitsFrom(parent);
        child.Credentials = parent.Credentials.Copy();
        child.ExecutablePath = parent.ExecutablePath;
        child.Executable = parent.Executable?.Clone();
        child.Command = parent.Command;
        child.Arguments = parent.Arguments;
        child.Environment = parent.Environment;
        child.AuxiliaryVector = parent.AuxiliaryVector;
        child.BreakStart = parent.BreakStart;
        child.Break = parent.Break;
        child.Dumpable = parent.Dumpable;
        child.NoNewPrivileges = parent.NoNewPrivileges;
        processes.Add(child);
        return child;
    }

    /// <summary>Starts a new guest thread's host thread; it waits for the run lock like any other.</summary>
    internal void StartThread(GuestThread thread)
    {
        LiveThreads++;
        // The creator's CPU goes back to its run loop, which makes its stops precise from now on.
        Scheduler.Running?.Process.Cpu.RequestStop();
        hostThreads.AddCount();
        // A deterministic run queues the new thread now, in the kernel's order, not when its host thread starts.
        if (Determinism is not null)
            Scheduler.Reserve(thread);
        Tracer?.ThreadStarted(thread);
        thread.Start();
    }

    internal void HostThreadEnded() => hostThreads.Signal();

    /// <summary>Guest threads alive in every process: with more than one, threads can be preempted.</summary>
    public int LiveThreads { get; private set; } = 1;

    internal void ThreadEnded() => LiveThreads--;

    /// <summary>Orphans go to the first process (unless it is the one ending).</summary>
    internal void ReparentChildren(Process process)
    {
        foreach (var child in process.Children.ToArray())
        {
            process.Children.Remove(child);
            if (init is not null && process != init)
            {
                child.SetParent(init);
                if (child.State == ProcessState.Zombie)
                    init.ChildEvents.Notify();
            }
        }
    }

    /// <summary>A process became a zombie: its parent hears of it; the first process ending ends everything.</summary>
    internal void ProcessEnded(Process process)
    {
        Pids.Free(process.Id);
        SystemV.ProcessEnded(process);
        if (process == init)
        {
            foreach (var other in processes)
            {
                if (other != process && other.State == ProcessState.Running)
                    other.Terminate(ExitStatus.Killed(Signal.SIGKILL));
            }
            firstProcessEnded.Set();
            return;
        }
        if (process.Parent is { } parent)
        {
            SignalDelivery.ChildEnded(process, parent);
            if (process.ExitSignal == (int)Signal.SIGCHLD && SignalDelivery.ParentReapsAutomatically(parent))
                process.Reap();
            parent.ChildEvents.Notify();
        }
    }

    internal void Forget(Process process) => processes.Remove(process);

    private ulong lastInode = 0x10000;

    /// <summary>An inode number for a file Trapeze makes up (a pipe): unique in this kernel.</summary>
    public ulong NewInode() => ++lastInode;

    /// <summary>A CPU event that is not a system call: a fault becomes the guest's signal, with Linux's siginfo.</summary>
    internal void OnCpuEvent(GuestThread thread, CpuEvent cpuEvent)
    {
        var pc = cpuEvent.ProgramCounter;
        var pastEndOfFile = cpuEvent is { Kind: CpuEventKind.MemoryFault, Unmapped: false }
            ? thread.Process.AddressSpace.FaultPastEndOfFile(cpuEvent.Address, cpuEvent.Write) : FileFault.None;
        SignalInfo info = cpuEvent.Kind switch
        {
            CpuEventKind.MemoryFault when pastEndOfFile == FileFault.PastEnd => new SignalInfo
            {
                Signal = (int)Signal.SIGBUS,
                Code = 2, // BUS_ADRERR
                Address = cpuEvent.Address,
                TrapNumber = 14,
                ErrorCode = (cpuEvent.Write ? 2UL : 0) | 4,
                Detail = $"at 0x{cpuEvent.Address:x} (past the end of the mapped file, pc 0x{pc:x})",
            },
            CpuEventKind.MemoryFault => new SignalInfo
            {
                Signal = (int)Signal.SIGSEGV,
                Code = cpuEvent.Unmapped ? 1 : 2, // SEGV_MAPERR, SEGV_ACCERR
                Address = cpuEvent.Address,
                TrapNumber = 14,
                ErrorCode = (cpuEvent.Unmapped ? 0UL : 1) | (cpuEvent.Write ? 2UL : 0) | 4,
                Detail = $"at 0x{cpuEvent.Address:x} ({(cpuEvent.Unmapped ? "unmapped" : "protection")} {(cpuEvent.Write ? "write" : "access")}, pc 0x{pc:x})",
            },
            CpuEventKind.InvalidInstruction => new SignalInfo { Signal = (int)Signal.SIGILL, Code = 2, Address = pc, TrapNumber = 6, Detail = $"at 0x{pc:x}" },
            CpuEventKind.Breakpoint or CpuEventKind.Watchpoint => new SignalInfo { Signal = (int)Signal.SIGTRAP, Code = 4, TrapNumber = 1, Detail = $"at 0x{pc:x} (debug trap)" },
            CpuEventKind.GeneralProtection => new SignalInfo { Signal = (int)Signal.SIGSEGV, Code = SignalInformation.Kernel, Address = 0, TrapNumber = 13, Detail = $"at 0x{pc:x} (general protection)" },
            _ => cpuEvent.Number switch
            {
                // x86 exception vectors: #DE 0, #BP 3, #UD 6.
                0 => new SignalInfo { Signal = (int)Signal.SIGFPE, Code = 1, Address = pc, TrapNumber = 0, Detail = $"at 0x{pc:x} (divide error)" },
                3 => new SignalInfo { Signal = (int)Signal.SIGTRAP, Code = SignalInformation.Kernel, TrapNumber = 3, Detail = $"at 0x{pc:x} (breakpoint)" },
                6 => new SignalInfo { Signal = (int)Signal.SIGILL, Code = 2, Address = pc, TrapNumber = 6, Detail = $"at 0x{pc:x} (invalid opcode)" },
                var number => new SignalInfo { Signal = (int)Signal.SIGSEGV, Code = SignalInformation.Kernel, Address = 0, TrapNumber = 13, Detail = $"at 0x{pc:x} (interrupt {number})" },
            },
        };
        // The handler's frame saves the faulting instruction (after int3, as the CPU leaves it);
        // a page the file has grown over is simply touched again.
        if (thread.Process.Personality.SignalFrames is { } frames)
            frames.SetProgramCounter(thread.Process.Cpu, pc);
        else if (thread.Process.Cpu.Architecture == CpuArchitecture.Sparc)
            thread.Process.Cpu.WriteRegister(SparcRegister.Pc, pc);
        else
            thread.Process.Cpu.WriteRegister(X64Register.Rip, pc);
        if (pastEndOfFile != FileFault.Grown)
            SignalDelivery.Force(thread, info);
    }

    /// <summary>
    /// An exception escaped kernel code: a Trapeze bug, never the guest's fault. The user gets one
    /// line, the process SIGSYS.
    /// </summary>
    internal void ReportInternalError(GuestThread thread, string where, Exception exception)
    {
        Diagnostics.WriteLine(InternalErrorLine(where, exception));
        if (options.DebugInternal)
            Diagnostics.WriteLine(exception.ToString());
        thread.Process.Terminate(ExitStatus.Killed(Signal.SIGSYS, $"(internal error in {where})"));
    }

    /// <summary>The one line a user sees of an internal error (the command line's too, for one outside any guest).</summary>
    public static string InternalErrorLine(string? where, Exception exception)
    {
        var what = exception is OutOfMemoryException ? "out of memory" : exception.Message;
        return $"trapeze: internal error{(where is null ? "" : " in " + where)}: {exception.GetType().Name}: {what}; please report";
    }

    internal void ReportUnsupported(string name, string reason)
    {
        if (options.ReportUnsupported && reportedUnsupported.Add(name))
            Diagnostics.WriteLine($"trapeze: unsupported syscall {name}{(reason.Length > 0 ? ": " + reason : "")}");
    }

    public void Dispose()
    {
        TimerService.Dispose();
        Scheduler.Dispose();
    }

    /// <summary>
    /// The host process's descriptors that are not close-on-exec, each at its own number.
    /// Listed with getdents64 directly: this runs at every start, and .NET's directory
    /// enumeration costs milliseconds of JIT there.
    /// </summary>
    private static unsafe Dictionary<int, int> InheritableHostDescriptors()
    {
        const long CloseOnExec = 1; // FD_CLOEXEC
        var inherited = new Dictionary<int, int>();
        var path = HostStrings.Pin("/proc/self/fd", out var handle);
        var directory = HostSyscall.Invoke(HostSyscall.Openat, HostPath.CurrentDirectory, path, (long)(OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC));
        handle.Free();
        if (directory < 0)
            return new Dictionary<int, int> { [0] = 0, [1] = 1, [2] = 2 };
        var buffer = stackalloc byte[4096];
        long length;
        while ((length = HostSyscall.Invoke(HostSyscall.Getdents64, directory, (long)buffer, 4096)) > 0)
        {
            for (var offset = 0; offset < length; offset += *(ushort*)(buffer + offset + 16))
            {
                // linux_dirent64: d_ino, d_off, d_reclen, d_type, then the NUL-terminated name.
                var name = buffer + offset + 19;
                var fd = 0;
                var digits = 0;
                for (; name[digits] is >= (byte)'0' and <= (byte)'9'; digits++)
                    fd = fd * 10 + (name[digits] - '0');
                if (digits == 0 || name[digits] != 0 || fd == directory)
                    continue;
                var flags = HostSyscall.Invoke(HostSyscall.Fcntl, fd, (long)FcntlCommand.F_GETFD);
                if (flags >= 0 && (flags & CloseOnExec) == 0)
                    inherited[fd] = fd;
            }
        }
        HostSyscall.Invoke(HostSyscall.Close, directory);
        return inherited;
    }

    /// <summary>The guest's descriptors are its own duplicates of the host's, so closing them leaves Trapeze's intact.</summary>
    private static void InheritFiles(Process process, IReadOnlyDictionary<int, int> descriptors)
    {
        foreach (var (guestFd, hostFd) in descriptors)
        {
            var copy = HostSyscall.Invoke(HostSyscall.Fcntl, hostFd, (long)FcntlCommand.F_DUPFD_CLOEXEC, 3);
            if (copy < 0)
                continue;
            var file = HostFile.Inherited((int)copy, $"/dev/fd/{guestFd}");
            if (process.Files.Replace(guestFd, file, closeOnExec: false).IsError)
                file.Release(); // beyond the guest's descriptor limit: it does not get this one
        }
    }
}
