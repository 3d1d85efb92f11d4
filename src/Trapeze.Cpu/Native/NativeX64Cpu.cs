using System.Runtime.InteropServices;

using Trapeze.Cpu.Unicorn;

namespace Trapeze.Cpu.Native;

/// <summary>
/// An x86-64 CPU that is the host's own: guest code runs in a child process (Native/stub) whose
/// every system call, fault and stop comes back here over the shared control region. One child per
/// address space; guest threads are host threads of that child and run at once, each waited for by
/// its own Trapeze host thread, which leaves the kernel (<see cref="ICpuEvents.LeaveKernel"/>) while
/// guest code runs.
/// </summary>
public sealed unsafe class NativeX64Cpu : ICpu
{
    private const int WaitSliceMilliseconds = 200;

    private readonly ICpuEvents events;
    private readonly int controlDescriptor;
    private readonly byte* control;
    private readonly NativeThread?[] threads = new NativeThread?[NativeControl.MaximumThreads];
    private readonly Lock commandGate = new();
    private NativeThread current;
    private int nextSlot;
    private volatile bool dead;
    private bool disposed;

    /// <summary>The child's process id.</summary>
    public int ProcessId { get; }

    private NativeX64Cpu(ICpuEvents events, int controlDescriptor, byte* control, int processId)
    {
        this.events = events;
        this.controlDescriptor = controlDescriptor;
        this.control = control;
        ProcessId = processId;
        current = NewThread() ?? throw new CpuException("no thread slot");
        current.Reset();
    }

    /// <summary>Starts a child for a new address space; null with the reason when the host does not allow it.</summary>
    internal static NativeX64Cpu? Start(ICpuEvents events, string stub, out string? error)
    {
        error = null;
        var descriptor = NativeHost.CreateMemoryFile("trapeze-control", NativeControl.Length);
        if (descriptor < 0)
        {
            error = $"memfd_create: errno {-descriptor}";
            return null;
        }
        var mapped = NativeHost.Invoke(NativeHost.Mmap, 0, (long)NativeControl.Length, NativeHost.ProtectionReadWrite, NativeHost.MapShared, descriptor, 0);
        if (mapped < 0 && mapped > -4096)
        {
            NativeHost.Invoke(NativeHost.Close, descriptor);
            error = $"mmap of the control region: errno {-mapped}";
            return null;
        }
        var control = (byte*)mapped;
        var pid = NativeHost.Spawn(stub, descriptor);
        if (pid < 0)
        {
            Release(control, descriptor);
            error = $"cannot start {stub}: errno {-pid}";
            return null;
        }
        var ready = (uint*)(control + NativeControl.Ready);
        var started = Environment.TickCount64;
        while (Volatile.Read(ref *ready) == 0)
        {
            if (NativeHost.HasExited(pid) || Environment.TickCount64 - started > 10_000)
                break;
            NativeHost.Wait(ready, 0, 50);
        }
        if (Volatile.Read(ref *ready) != 1)
        {
            var result = *(long*)(control + NativeControl.Result);
            error = *ready == 2 ? $"the host refuses a seccomp filter (errno {-result})" : "the native stub did not start";
            NativeHost.Reap(pid);
            Release(control, descriptor);
            return null;
        }
        return new NativeX64Cpu(events, descriptor, control, pid);
    }

    private static void Release(byte* control, int descriptor)
    {
        NativeHost.Invoke(NativeHost.Munmap, (long)control, (long)NativeControl.Length);
        NativeHost.Invoke(NativeHost.Close, descriptor);
    }

    /// <summary>
    /// The child is gone, but other host threads may still hold its threads (a stop from a timer, a
    /// thread an exec let go that is still waiting): its control pages become zeroed private ones,
    /// which say "not running" to every late reader, and never a fault in Trapeze.
    /// </summary>
    private static void Retire(byte* control, int descriptor)
    {
        const long MapPrivateAnonymousFixed = 0x02 | 0x20 | 0x10 | 0x4000;
        NativeHost.Invoke(NativeHost.Mmap, (long)control, (long)NativeControl.Length, NativeHost.ProtectionReadWrite, MapPrivateAnonymousFixed, -1, 0);
        NativeHost.Invoke(NativeHost.Close, descriptor);
    }

    public CpuArchitecture Architecture => CpuArchitecture.X86_64;

    public bool MapsByDescriptor => true;

    public bool IsHostCpu => true;

    public bool RunsThreadsInParallel => true;

    public (ulong Start, ulong End)? ReservedRange => (NativeControl.ReservedStart, NativeControl.ReservedEnd);

    public ICpuThread LoadedThread => current;

    private NativeThread? NewThread()
    {
        for (var tried = 0; tried < threads.Length; tried++)
        {
            // Round robin: a slot just given back may still hold its old thread's last instructions.
            var index = (nextSlot + tried) % threads.Length;
            if (threads[index] is { Ended: false })
                continue;
            nextSlot = index + 1;
            var thread = new NativeThread(this, index, control + NativeControl.SlotSize * (ulong)(index + 1));
            threads[index] = thread;
            return thread;
        }
        return null;
    }

    public ulong ReadRegister(X64Register register)
    {
        var thread = current;
        return register switch
        {
            X64Register.FsBase => *(ulong*)(thread.Slot + NativeControl.FsBase),
            X64Register.GsBase => *(ulong*)(thread.Slot + NativeControl.GsBase),
            X64Register.Mxcsr => *(uint*)(thread.Fxsave + 24),
            X64Register.X87Control => *(ushort*)thread.Fxsave,
            _ => thread.Gregs[NativeControl.GregIndex(register)],
        };
    }

    public void WriteRegister(X64Register register, ulong value)
    {
        var thread = current;
        switch (register)
        {
            case X64Register.FsBase:
                *(ulong*)(thread.Slot + NativeControl.FsBase) = value;
                thread.MarkDirty(NativeControl.DirtyFs);
                break;
            case X64Register.GsBase:
                *(ulong*)(thread.Slot + NativeControl.GsBase) = value;
                thread.MarkDirty(NativeControl.DirtyGs);
                break;
            case X64Register.Mxcsr:
                *(uint*)(thread.Fxsave + 24) = (uint)value;
                thread.MarkDirty(NativeControl.DirtyFloatingPoint);
                break;
            case X64Register.X87Control:
                *(ushort*)thread.Fxsave = (ushort)value;
                thread.MarkDirty(NativeControl.DirtyFloatingPoint);
                break;
            default:
                thread.Gregs[NativeControl.GregIndex(register)] = value;
                break;
        }
    }

    public void SaveFloatingPoint(Span<byte> fxsave) => new ReadOnlySpan<byte>(current.Fxsave, 512).CopyTo(fxsave);

    public void RestoreFloatingPoint(ReadOnlySpan<byte> fxsave)
    {
        fxsave[..512].CopyTo(new Span<byte>(current.Fxsave, 512));
        current.MarkDirty(NativeControl.DirtyFloatingPoint);
    }

    public ICpuContext SaveContext(ICpuContext? into = null) => current.Context ??= new NativeContext(this, current);

    public ICpuContext CopyContext()
    {
        var thread = NewThread() ?? throw new CpuException($"more than {NativeControl.MaximumThreads} threads in one native process");
        thread.CopyFrom(current);
        return thread.Context = new NativeContext(this, thread);
    }

    public void RestoreContext(ICpuContext context) => current = ((NativeContext)context).Thread;

    /// <summary>A thread's context is disposed: its host thread in the child exits, and its slot is free.</summary>
    internal void EndThread(NativeThread thread)
    {
        if (thread.Ended)
            return;
        thread.Ended = true;
        thread.Context = null;
        if (thread.Started && !dead && Volatile.Read(ref *thread.State) == NativeControl.StateEvent)
            Answer(thread, NativeControl.AnswerExit);
    }

    internal void SignalStop(NativeThread thread)
    {
        if (!dead)
            NativeHost.Invoke(NativeHost.Tgkill, ProcessId, thread.HostTid, NativeControl.StopSignal);
    }

    public void MapMemory(ulong guestAddress, ulong length, MemoryProtection protection, nint hostMemory)
        => throw new CpuException("the native platform maps guest memory only from descriptors");

    public void MapMemory(ulong guestAddress, ulong length, MemoryProtection protection, nint hostMemory, HostPages pages)
        => Command(NativeControl.CommandMap, "mmap", guestAddress, length, (ulong)protection, (ulong)pages.Descriptor, (ulong)pages.Offset, pages.Writable ? 1UL : 0);

    public void UnmapMemory(ulong guestAddress, ulong length) => Command(NativeControl.CommandUnmap, "munmap", guestAddress, length);

    public void ProtectMemory(ulong guestAddress, ulong length, MemoryProtection protection)
        => Command(NativeControl.CommandProtect, "mprotect", guestAddress, length, (ulong)protection);

    /// <summary>Has the child's manager thread do one thing; its result, or -errno.</summary>
    private long Command(uint command, string what, params ReadOnlySpan<ulong> arguments)
    {
        if (dead)
            return -3; // ESRCH
        long result;
        lock (commandGate)
        {
            var state = (uint*)control;
            for (var i = 0; i < arguments.Length; i++)
                ((ulong*)(control + NativeControl.Arguments))[i] = arguments[i];
            *(uint*)(control + NativeControl.Command) = command;
            Volatile.Write(ref *state, 1);
            NativeHost.Wake(state);
            if (!AwaitState(state, 2))
                return -3;
            result = *(long*)(control + NativeControl.Result);
            Volatile.Write(ref *state, 0);
        }
        if (result < 0 && command != NativeControl.CommandThread)
            throw new CpuException($"the native child's {what} failed: errno {-result}");
        return result;
    }

    /// <summary>Waits for *<paramref name="word"/> to become <paramref name="value"/>; false when the child died.</summary>
    private bool AwaitState(uint* word, uint value)
    {
        for (var spin = 0; spin < 16; spin++)
        {
            if (Volatile.Read(ref *word) == value)
                return true;
            Thread.SpinWait(20);
        }
        while (true)
        {
            var seen = Volatile.Read(ref *word);
            if (seen == value)
                return true;
            NativeHost.Wait(word, seen, WaitSliceMilliseconds);
            if (Volatile.Read(ref *word) != value && NativeHost.HasExited(ProcessId))
            {
                dead = true;
                return false;
            }
        }
    }

    private void Answer(NativeThread thread, uint answer)
    {
        *(uint*)(thread.Slot + NativeControl.Answer) = answer;
        Volatile.Write(ref *thread.State, NativeControl.StateAnswer);
        NativeHost.Wake(thread.State);
    }

    public void RequestPreciseFaults() { }

    public void EnablePreciseStops() { }

    public void FlushTranslations() { }

    public void RequestStop() => current.RequestStop();

    public CpuEvent Run()
    {
        var thread = current;
        while (true)
        {
            if (dead)
                return Died(thread);
            if (!thread.Started && !Start(thread))
                return Died(thread);
            thread.Running = true;
            Interlocked.MemoryBarrier();
            if (thread.TakeStop())
            {
                thread.Running = false;
                return new CpuEvent(CpuEventKind.Stopped, thread.Gregs[NativeControl.Rip]);
            }
            var token = events.LeaveKernel();
            Answer(thread, NativeControl.AnswerResume);
            var alive = AwaitState(thread.State, NativeControl.StateEvent);
            thread.Running = false;
            events.EnterKernel(token);
            current = thread;
            if (!alive)
                return Died(thread);
            switch (thread.Event)
            {
                case NativeControl.EventSyscall:
                    events.OnSyscall(this, thread.Gregs[NativeControl.Rip]);
                    continue;
                case NativeControl.EventStop:
                    if (thread.TakeStop())
                        return new CpuEvent(CpuEventKind.Stopped, thread.Gregs[NativeControl.Rip]);
                    continue;
                case NativeControl.EventFault:
                    return Fault(thread);
                default:
                    continue;
            }
        }
    }

    /// <summary>A new thread's host thread: the manager clones it, it stops itself, and its registers wait in the slot.</summary>
    private bool Start(NativeThread thread)
    {
        *(int*)(thread.Slot + NativeControl.Starting) = 0;
        Volatile.Write(ref *thread.State, NativeControl.StateIdle);
        if (Command(NativeControl.CommandThread, "clone", (ulong)thread.Index) < 0)
            return false;
        if (!AwaitState(thread.State, NativeControl.StateEvent))
            return false;
        thread.Started = true;
        return true;
    }

    /// <summary>The child is gone (killed from outside, or it crashed): the guest sees a general protection fault.</summary>
    private static CpuEvent Died(NativeThread thread) => new(CpuEventKind.GeneralProtection, thread.Gregs[NativeControl.Rip]);

    private static CpuEvent Fault(NativeThread thread)
    {
        const int SegmentationFault = 11, BusError = 7, FloatingPoint = 8, IllegalInstruction = 4, Trap = 5;
        const int MapError = 1, Kernel = 0x80;
        var pc = thread.Gregs[NativeControl.Rip];
        var address = *(ulong*)(thread.Slot + NativeControl.Address);
        var code = *(int*)(thread.Slot + NativeControl.Code);
        var write = (thread.Gregs[NativeControl.Error] & 2) != 0;
        return *(int*)(thread.Slot + NativeControl.Signal) switch
        {
            SegmentationFault when code == Kernel => new CpuEvent(CpuEventKind.GeneralProtection, pc),
            SegmentationFault => new CpuEvent(CpuEventKind.MemoryFault, pc, address, Write: write, Unmapped: code == MapError),
            BusError => new CpuEvent(CpuEventKind.MemoryFault, pc, address, Write: write),
            FloatingPoint => new CpuEvent(CpuEventKind.Interrupt, pc, Number: 0),
            IllegalInstruction => new CpuEvent(CpuEventKind.InvalidInstruction, pc),
            Trap => new CpuEvent(CpuEventKind.Interrupt, pc, Number: 3),
            _ => new CpuEvent(CpuEventKind.GeneralProtection, pc),
        };
    }

    public void Dispose()
    {
        if (dead && disposed)
            return;
        disposed = true;
        dead = true;
        NativeHost.Reap(ProcessId);
        Retire(control, controlDescriptor);
        GC.SuppressFinalize(this);
    }
}
