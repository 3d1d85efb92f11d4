using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Tasks;

/// <summary>Root, working directory and umask: what CLONE_FS shares between processes.</summary>
public sealed class FileSystemContext
{
    /// <summary>The process's "/" (chroot changes it) and working directory, each a place in the mount namespace it holds.</summary>
    public Vfs.Location Root { get; private set; }
    public Vfs.Location WorkingDirectory { get; private set; }

    /// <summary>The host descriptor of the working directory when it is a host directory (the tracer shows it), else -1.</summary>
    public int WorkingDirectoryDescriptor => WorkingDirectory.Node is Vfs.HostNode host ? host.Descriptor : -1;

    /// <summary>The working directory as the process sees it (getcwd, /proc/PID/cwd).</summary>
    public byte[] WorkingDirectoryBytes => Vfs.PathWalker.Show(WorkingDirectory.Path, Root.Path);
    public string WorkingDirectoryPath => Memory.GuestText.Decode(WorkingDirectoryBytes);

    /// <summary>umask: permission bits cleared from files the guest creates (Trapeze applies it; the host's is 0).</summary>
    public uint FileCreationMask { get; set; }

    internal int Users { get; set; } = 1;

    public FileSystemContext(Vfs.Location root, Vfs.Location workingDirectory)
    {
        Root = root;
        WorkingDirectory = workingDirectory;
    }

    /// <summary>chdir: keeps its own copy of <paramref name="location"/>.</summary>
    public void ChangeDirectory(Vfs.Location location)
    {
        var old = WorkingDirectory;
        WorkingDirectory = location.Clone();
        old.Node.Dispose();
    }

    /// <summary>chroot: keeps its own copy of <paramref name="location"/>.</summary>
    public void ChangeRoot(Vfs.Location location)
    {
        var old = Root;
        Root = location.Clone();
        old.Node.Dispose();
    }

    public FileSystemContext Copy() => new(Root.Clone(), WorkingDirectory.Clone()) { FileCreationMask = FileCreationMask };

    internal void Release()
    {
        if (--Users != 0)
            return;
        Root.Node.Dispose();
        WorkingDirectory.Node.Dispose();
    }
}

/// <summary>A process's user and group ids: real, effective and saved, as setresuid(2) describes them.</summary>
public sealed class ProcessCredentials
{
    public uint RealUser, EffectiveUser, SavedUser, RealGroup, EffectiveGroup, SavedGroup;
    public uint[] Groups = [];

    public static ProcessCredentials From(KernelCredentials ids) => new()
    {
        RealUser = ids.UserId,
        EffectiveUser = ids.EffectiveUserId,
        SavedUser = ids.EffectiveUserId,
        RealGroup = ids.GroupId,
        EffectiveGroup = ids.EffectiveGroupId,
        SavedGroup = ids.EffectiveGroupId,
        Groups = ids.Groups,
    };

    public ProcessCredentials Copy() => (ProcessCredentials)MemberwiseClone();
}

/// <summary>Where a process is in its life: running, a zombie its parent has not reaped, or gone.</summary>
public enum ProcessState
{
    Running,
    Zombie,
    Reaped,
}

/// <summary>
/// A guest process (a thread group): an address space with its CPU, threads, file descriptors,
/// filesystem context and signal dispositions, each of which clone may share with another process.
/// </summary>
public sealed class Process
{
    private readonly List<GuestThread> threads = [];

    internal Process(Kernel kernel, int id, Process? parent, IPersonality personality, MemoryContext memory, FileTable files, FileSystemContext fileSystem, SignalActions signals)
    {
        Kernel = kernel;
        Id = id;
        Parent = parent;
        Personality = personality;
        MemoryContext = memory;
        Files = files;
        FileSystem = fileSystem;
        Signals = signals;
        if (parent is not null)
        {
            ProcessGroupId = parent.ProcessGroupId;
            SessionId = parent.SessionId;
            parent.Children.Add(this);
        }
    }

    public Kernel Kernel { get; }
    public int Id { get; }

    /// <summary>The parent; null for the first process, whose parent is outside Trapeze.</summary>
    public Process? Parent { get; private set; }
    public int ParentId => Parent?.Id ?? Kernel.OutsideParentId;
    public List<Process> Children { get; } = [];

    public int ProcessGroupId { get; set; }

    /// <summary>Who the process is; fork copies them.</summary>
    public ProcessCredentials Credentials { get; set; } = new();
    public int SessionId { get; set; }

    public IPersonality Personality { get; internal set; }
    public MemoryContext MemoryContext { get; private set; }
    public ICpu Cpu => MemoryContext.Cpu;
    public AddressSpace AddressSpace => MemoryContext.Space;
    public GuestMemory Memory => MemoryContext.Memory;
    public FileTable Files { get; private set; }
    public FileSystemContext FileSystem { get; private set; }
    public SignalActions Signals { get; private set; }

    public IReadOnlyList<GuestThread> Threads => threads;

    /// <summary>The thread whose id is the process id; after it exits, the oldest live thread stands in.</summary>
    public GuestThread MainThread => threads.Find(t => t.Id == Id) ?? (threads.Count > 0 ? threads[0] : lastThread!);

    private GuestThread? lastThread;

    /// <summary>The signal the parent gets when this process ends (SIGCHLD, or clone's exit signal).</summary>
    public int ExitSignal { get; init; } = (int)Signal.SIGCHLD;

    /// <summary>Signals sent to the process as a whole (any thread that does not block one takes it).</summary>
    public PendingSignals SharedPending { get; } = new();

    /// <summary>A stop signal stopped the process; SIGCONT or SIGKILL ends that.</summary>
    public bool Stopped { get; internal set; }

    /// <summary>Woken when a stopped process continues.</summary>
    public WaitQueue Continued { get; } = new();

    /// <summary>A stop (its signal) or a continue the parent has not collected with wait4 WUNTRACED / WCONTINUED yet.</summary>
    public int? StopToReport { get; internal set; }
    public bool ContinueToReport { get; internal set; }

    /// <summary>alarm and setitimer(ITIMER_REAL): one timer per process.</summary>
    internal PosixTimer? RealTimer { get; set; }

    /// <summary>setitimer's ITIMER_VIRTUAL and ITIMER_PROF.</summary>
    internal CpuTimer? VirtualTimer { get; set; }
    internal CpuTimer? ProfileTimer { get; set; }

    /// <summary>Watches RLIMIT_CPU once one is set.</summary>
    internal CpuLimit? CpuLimit { get; set; }

    // CPU time of the process's threads that have ended.
    private long endedTime;

    /// <summary>The CPU time (nanoseconds) the process's threads have used (<see cref="GuestThread.CpuTime"/>).</summary>
    internal long CpuTime()
    {
        var total = endedTime;
        foreach (var thread in threads)
            total += thread.CpuTime();
        return total;
    }

    /// <summary>timer_create's timers, by id.</summary>
    internal Dictionary<int, PosixTimer> Timers { get; } = [];

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

    /// <summary>The working directory's host descriptor (-1 when it is not a host directory).</summary>
    public int WorkingDirectory => FileSystem.WorkingDirectoryDescriptor;

    public string WorkingDirectoryPath => FileSystem.WorkingDirectoryPath;

    /// <summary>The program file (/proc/PID/exe), held open by the process.</summary>
    public Vfs.Location? Executable { get; internal set; }

    public uint FileCreationMask
    {
        get => FileSystem.FileCreationMask;
        set => FileSystem.FileCreationMask = value;
    }

    /// <summary>A replay going back to a checkpoint: the descriptor table, dispositions and break the process had then.</summary>
    internal void Rewind(FileTable files, SignalActions signals, ulong breakStart, ulong programBreak)
    {
        Files.Release();
        Files = files;
        Signals = signals;
        BreakStart = breakStart;
        Break = programBreak;
    }

    /// <summary>Program break: the heap starts at <see cref="BreakStart"/> and ends at <see cref="Break"/>.</summary>
    public ulong BreakStart { get; internal set; }
    public ulong Break { get; internal set; }

    public byte[][] SignalActions => Signals.Actions;

    /// <summary>Each signal generated for the process, before its disposition is looked at (kqueue's EVFILT_SIGNAL listens).</summary>
    public Action<int>? SignalSent { get; set; }

    public Dictionary<RlimitResource, ResourceLimit> ResourceLimits { get; private set; } = new()
    {
        [RlimitResource.RLIMIT_STACK] = new ResourceLimit { Current = 8 << 20, Maximum = ulong.MaxValue },
        [RlimitResource.RLIMIT_NOFILE] = new ResourceLimit { Current = 1024, Maximum = 1024 * 1024 },
        [RlimitResource.RLIMIT_CORE] = new ResourceLimit { Current = 0, Maximum = ulong.MaxValue },
    };

    /// <summary>How the process ended (set when the end is decided; <see cref="State"/> says when it happened).</summary>
    public ExitStatus? Exit { get; private set; }
    public ProcessState State { get; private set; }

    /// <summary>Woken when a child changes state (wait4, waitid).</summary>
    public WaitQueue ChildEvents { get; } = new();

    /// <summary>Woken when this vfork child execs or exits, which lets its parent go on.</summary>
    public WaitQueue VforkRelease { get; } = new();
    public bool ReleasedVforkParent { get; private set; }

    /// <summary>The process ran execve since it was created (setpgid then refuses its parent).</summary>
    public bool Execed { get; private set; }

    /// <summary>Woken when the process ends (pidfd readers, the kernel waiting for the first process).</summary>
    public WaitQueue Ended { get; } = new();

    /// <summary>A signal became pending for the process or one of its threads (signalfd readers wait here).</summary>
    public WaitQueue SignalsQueued { get; } = new();

    internal GuestThread AddThread(int id)
    {
        var thread = new GuestThread(this, id);
        threads.Add(thread);
        return thread;
    }

    /// <summary>The soft limit of <paramref name="resource"/> (RLIM_INFINITY, ulong.MaxValue, when none is set).</summary>
    public ulong LimitOf(RlimitResource resource)
        => ResourceLimits.TryGetValue(resource, out var limit) ? limit.Current : ulong.MaxValue;

    internal void CopyLimitsFrom(Process other)
    {
        ResourceLimits = new Dictionary<RlimitResource, ResourceLimit>(other.ResourceLimits);
        Files.Limit = other.Files.Limit;
        CpuLimit.Watch(this); // the child's own CPU time starts at 0
    }

    /// <summary>Decides the end of the whole process: every thread stops at its next return to the kernel.</summary>
    public void Terminate(ExitStatus status)
    {
        Exit ??= status;
        Stopped = false;
        Continued.Notify();
        Kernel.CancelTimers(this);
        foreach (var thread in threads)
            thread.Kill();
    }

    /// <summary>execve's point of no return: other threads go, shared pieces become the process's own.</summary>
    internal void BeginExec(GuestThread survivor, MemoryContext memory)
    {
        foreach (var thread in threads.ToArray())
        {
            if (thread == survivor)
                continue;
            thread.ClearChildTid = default; // it dies with the old image: nothing to write into the new one
            thread.Kill();
            threads.Remove(thread);
        }
        survivor.Id = Id;
        Execed = true;
        if (memory != MemoryContext)
        {
            MemoryContext.Unload(survivor);
            MemoryContext.Release();
            MemoryContext = memory;
        }
        if (Files.Users > 1)
        {
            var own = Files.Copy();
            Files.Release();
            Files = own;
        }
        Files.CloseOnExec();
        if (FileSystem.Users > 1)
        {
            FileSystem.Users--;
            FileSystem = FileSystem.Copy();
        }
        ReleaseVforkParent();
    }

    /// <summary>exec: dispositions this process shared with another become its own.</summary>
    internal void UnshareSignals()
    {
        if (Signals.Users <= 1)
            return;
        Signals.Users--;
        Signals = Signals.Copy();
    }

    internal void ReleaseVforkParent()
    {
        if (ReleasedVforkParent)
            return;
        ReleasedVforkParent = true;
        VforkRelease.Notify();
    }

    /// <summary>A thread's host thread is done with it: the last one out turns the process into a zombie.</summary>
    internal void ThreadExited(GuestThread thread)
    {
        MemoryContext.Unload(thread);
        Kernel.ThreadEnded();
        if (!threads.Remove(thread))
            return; // an exec had already let it go
        endedTime += thread.CpuTime();
        if (!thread.ClearChildTid.IsNull && Memory.Write(thread.ClearChildTid, 0) == Errno.None)
            Kernel.Futexes.Wake(this, thread.ClearChildTid, 1, uint.MaxValue);
        Kernel.Futexes.ReleaseRobustList(thread);
        Kernel.Tracer?.ThreadExited(thread);
        if (threads.Count > 0)
            return;
        lastThread = thread;
        Exit ??= ExitStatus.Exited(0);
        Finish();
    }

    private void Finish()
    {
        ReleaseVforkParent();
        Files.Release();
        FileSystem.Release();
        MemoryContext.Release();
        // A zombie has no /proc/PID/exe: the program's file (a host descriptor) goes with the memory.
        Executable?.Node.Dispose();
        Executable = null;
        Kernel.ReparentChildren(this);
        State = ProcessState.Zombie;
        Ended.Notify();
        Kernel.Tracer?.ProcessExited(this, Exit!);
        Kernel.Supervisor?.ProcessExited(this, Exit!);
        Kernel.ProcessEnded(this);
    }

    /// <summary>wait4 took the zombie: it is gone from the kernel.</summary>
    internal void Reap()
    {
        State = ProcessState.Reaped;
        Parent?.Children.Remove(this);
        Kernel.Forget(this);
    }

    internal void SetParent(Process parent)
    {
        Parent = parent;
        parent.Children.Add(this);
    }
}
