using Trapeze.Cpu;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// One address space and the CPU that runs it (Linux's mm): shared by the threads of a process and
/// by a CLONE_VM child. Its threads take turns on the CPU; the one loaded there receives its events.
/// </summary>
public sealed class MemoryContext : ICpuEvents, IDisposable
{

    public MemoryContext(IPlatform platform, CpuArchitecture architecture = CpuArchitecture.X86_64)
    {
        Cpu = platform.CreateCpu(this, architecture);
        Space = new AddressSpace(Cpu);
        Memory = new GuestMemory(Space) { BigEndian = architecture == CpuArchitecture.Sparc };
    }

    public ICpu Cpu { get; }
    public AddressSpace Space { get; }
    public GuestMemory Memory { get; }

    /// <summary>The thread whose registers are on the CPU now.</summary>
    public GuestThread? Loaded { get; private set; }

    /// <summary>Processes using this address space (CLONE_VM shares it).</summary>
    public int Users { get; private set; } = 1;

    /// <summary>exec into a fresh address space: the thread's old registers mean nothing here.</summary>
    internal void Adopt(GuestThread thread)
    {
        thread.CpuThread = null; // before its context goes: the time its guest code used is read there
        thread.Context?.Dispose();
        thread.Context = null;
        Loaded = thread;
    }

    /// <summary>Puts <paramref name="thread"/>'s registers on the CPU, saving those of the thread there before.</summary>
    public void Load(GuestThread thread)
    {
        if (Loaded == thread)
            return;
        if (Loaded is { } previous)
            previous.Context = Cpu.SaveContext(previous.Context);
        if (thread.Context is { } context)
            Cpu.RestoreContext(context);
        if (thread.TlsDescriptors is { } descriptors)
            Syscalls.ThreadArea.LoadAll(Cpu, descriptors);
        Loaded = thread;
        thread.CpuThread = Cpu.LoadedThread;
        thread.ApplyStartRegisters();
    }

    /// <summary>The thread leaves this CPU for good (exit, or exec into a new address space): its context goes.</summary>
    public void Unload(GuestThread thread)
    {
        if (Loaded == thread)
        {
            // A CPU whose threads have a host thread each ends this one with its context.
            if (Cpu.RunsThreadsInParallel)
                thread.Context = Cpu.SaveContext(thread.Context);
            Loaded = null;
        }
        thread.CpuThread = null; // before its context goes: the time its guest code used is read there
        thread.Context?.Dispose();
        thread.Context = null;
    }

    /// <summary>A copy for a forked child: private pages copied, shared ones shared; null when the host has no memory.</summary>
    public MemoryContext? Fork(IPlatform platform)
    {
        var child = new MemoryContext(platform, Cpu.Architecture);
        if (Space.CopyInto(child.Space))
            return child;
        child.Dispose();
        return null;
    }

    internal MemoryContext AddUser()
    {
        Users++;
        return this;
    }

    /// <summary>One user less; the last one frees the memory and the CPU.</summary>
    internal void Release()
    {
        if (--Users == 0)
            Dispose();
    }

    void ICpuEvents.OnSyscall(ICpu cpu, ulong nextInstruction)
    {
        var thread = Loaded!;
        if (thread.MayServeOutsideKernel && thread.Process.Personality.ServedOutsideKernel(thread, cpu, nextInstruction))
            return;
        var tookLock = thread.TakeLockBack();
        thread.Process.Personality.OnSyscall(thread, cpu, nextInstruction);
        if (tookLock)
            thread.LetGoOfLockAgain();
    }

    /// <summary>A parallel CPU runs guest code: the thread lets go of the run lock meanwhile.</summary>
    object? ICpuEvents.LeaveKernel()
    {
        var thread = Loaded!;
        thread.Kernel.Scheduler.Release(thread);
        return thread;
    }

    void ICpuEvents.EnterKernel(object? token)
    {
        var thread = (GuestThread)token!;
        thread.Kernel.Scheduler.Acquire(thread);
        Load(thread);
    }

    bool ICpuEvents.OnInterrupt(ICpu cpu, int number)
    {
        var thread = Loaded!;
        var tookLock = thread.TakeLockBack();
        var handled = thread.Process.Personality.OnInterrupt(thread, cpu, number);
        if (tookLock && handled)
            thread.LetGoOfLockAgain();
        return handled;
    }

    public void Dispose()
    {
        Space.Dispose();
        Cpu.Dispose();
    }
}
