using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Tasks;

/// <summary>Working directory and umask: what CLONE_FS shares between processes.</summary>
public sealed class FileSystemContext
{
    /// <summary>The working directory: a host descriptor (for *at calls) and its path (for getcwd).</summary>
    public int WorkingDirectory { get; set; } = -1;
    public string WorkingDirectoryPath { get; set; } = "/";

    /// <summary>umask: permission bits cleared from files the guest creates (Trapeze applies it; the host's is 0).</summary>
    public uint FileCreationMask { get; set; }

    internal int Users { get; set; } = 1;

    public FileSystemContext Copy() => new()
    {
        WorkingDirectory = WorkingDirectory < 0 ? -1 : (int)Host.HostSyscall.Invoke(Host.HostSyscall.Fcntl, WorkingDirectory, (long)FcntlCommand.F_DUPFD_CLOEXEC, 3),
        WorkingDirectoryPath = WorkingDirectoryPath,
        FileCreationMask = FileCreationMask,
    };

    internal void Release()
    {
        if (--Users == 0 && WorkingDirectory >= 0)
            Host.HostSyscall.Invoke(Host.HostSyscall.Close, WorkingDirectory);
    }
}

/// <summary>Signal dispositions: what CLONE_SIGHAND shares.</summary>
public sealed class SignalActions
{
    public const int Count = 64;

    /// <summary>The raw struct sigaction per signal, as rt_sigaction stored it.</summary>
    public byte[][] Actions { get; } = Enumerable.Range(0, Count).Select(_ => new byte[32]).ToArray();

    /// <summary>Processes sharing these dispositions (CLONE_SIGHAND without CLONE_THREAD).</summary>
    internal int Users { get; set; } = 1;

    public SignalActions Copy()
    {
        var copy = new SignalActions();
        for (var i = 0; i < Count; i++)
            Actions[i].CopyTo(copy.Actions[i], 0);
        return copy;
    }
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

    /// <summary>Signals sent to the process, bit (n-1) for signal n; delivery is the signals code's job.</summary>
    public ulong PendingSignals { get; set; }

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

    public int WorkingDirectory
    {
        get => FileSystem.WorkingDirectory;
        internal set => FileSystem.WorkingDirectory = value;
    }

    public string WorkingDirectoryPath
    {
        get => FileSystem.WorkingDirectoryPath;
        internal set => FileSystem.WorkingDirectoryPath = value;
    }

    public uint FileCreationMask
    {
        get => FileSystem.FileCreationMask;
        set => FileSystem.FileCreationMask = value;
    }

    /// <summary>Program break: the heap starts at <see cref="BreakStart"/> and ends at <see cref="Break"/>.</summary>
    public ulong BreakStart { get; internal set; }
    public ulong Break { get; internal set; }

    public byte[][] SignalActions => Signals.Actions;

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

    internal GuestThread AddThread(int id)
    {
        var thread = new GuestThread(this, id);
        threads.Add(thread);
        return thread;
    }

    internal void CopyLimitsFrom(Process other)
    {
        ResourceLimits = new Dictionary<RlimitResource, ResourceLimit>(other.ResourceLimits);
        Files.Limit = other.Files.Limit;
    }

    /// <summary>Decides the end of the whole process: every thread stops at its next return to the kernel.</summary>
    public void Terminate(ExitStatus status)
    {
        Exit ??= status;
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
        Kernel.ReparentChildren(this);
        State = ProcessState.Zombie;
        Ended.Notify();
        Kernel.Tracer?.ProcessExited(this, Exit!);
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
