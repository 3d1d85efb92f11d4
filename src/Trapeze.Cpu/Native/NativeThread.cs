namespace Trapeze.Cpu.Native;

/// <summary>
/// One guest thread of the child: its slot in the control region, where its registers live while
/// it is in Trapeze (the child's signal handler copies them out of and back into its frame).
/// </summary>
internal sealed unsafe class NativeThread(NativeX64Cpu cpu, int index, byte* slot) : ICpuThread
{
    private int stopRequested;

    public int Index { get; } = index;
    public byte* Slot { get; } = slot;

    /// <summary>The child has a host thread for it (before that, its registers wait in the slot).</summary>
    public bool Started { get; set; }

    /// <summary>The one context that names this thread (the kernel keeps it while the thread is off the CPU).</summary>
    public NativeContext? Context { get; set; }

    /// <summary>Its context ended it: the slot may be given out again.</summary>
    public bool Ended { get; set; }

    public ulong* Gregs => (ulong*)(Slot + NativeControl.Gregs);
    public byte* Fxsave => Slot + NativeControl.Fxsave;
    public uint* State => (uint*)(Slot + NativeControl.State);
    public uint Event => *(uint*)(Slot + NativeControl.Event);
    public int HostTid => *(int*)(Slot + NativeControl.Tid);

    public void MarkDirty(uint part) => *(uint*)(Slot + NativeControl.Dirty) |= part;

    /// <summary>Running guest code: a stop must interrupt it with a host signal.</summary>
    public bool Running
    {
        get => Volatile.Read(ref *(int*)(Slot + NativeControl.Running)) != 0;
        set => Volatile.Write(ref *(int*)(Slot + NativeControl.Running), value ? 1 : 0);
    }

    /// <summary>
    /// From any host thread: the next return to Trapeze ends the run. A thread running guest code is
    /// interrupted by the stop signal; one inside Trapeze sees the flag after its event.
    /// </summary>
    public void RequestStop()
    {
        Volatile.Write(ref stopRequested, 1);
        Interlocked.MemoryBarrier();
        if (Started && Running)
            cpu.SignalStop(this);
    }

    /// <summary>
    /// Its host thread's CPU time in the child, which clock_gettime cannot read from another process:
    /// schedstat's time on CPU, in nanoseconds. The child runs only guest code, so that time counts as
    /// user time too; stat's utime would be exact about the split but moves in steps of 10 ms, enough to
    /// make a 50 ms ITIMER_VIRTUAL lose a fifth of itself while the guest sleeps. 0 before it starts and
    /// once it is gone.
    /// </summary>
    public long CpuTime()
    {
        if (!Started || Ended)
            return 0;
        try
        {
            return long.Parse(File.ReadAllText($"/proc/{cpu.ProcessId}/task/{HostTid}/schedstat").Split(' ')[0]);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return 0;
        }
    }

    /// <summary>True (once) when a stop was asked.</summary>
    public bool TakeStop() => Interlocked.Exchange(ref stopRequested, 0) != 0;

    /// <summary>Makes this thread's state a copy of <paramref name="other"/>'s (a new thread of the same process starts so).</summary>
    public void CopyFrom(NativeThread other)
    {
        Buffer.MemoryCopy(other.Gregs, Gregs, 23 * 8, 23 * 8);
        Buffer.MemoryCopy(other.Fxsave, Fxsave, 512, 512);
        *(ulong*)(Slot + NativeControl.FsBase) = *(ulong*)(other.Slot + NativeControl.FsBase);
        *(ulong*)(Slot + NativeControl.GsBase) = *(ulong*)(other.Slot + NativeControl.GsBase);
    }

    /// <summary>The state of a CPU after reset: flags 0x202, the x87 control word 0x37f and MXCSR 0x1f80 (all exceptions masked).</summary>
    public void Reset()
    {
        new Span<byte>(Slot, (int)NativeControl.Fxsave + 512).Clear();
        Gregs[NativeControl.Eflags] = 0x202;
        *(ushort*)Fxsave = 0x37f;
        *(uint*)(Fxsave + 24) = 0x1f80;
        *(uint*)(Fxsave + 28) = 0xffff;
    }
}

/// <summary>A saved context on the native platform names the thread: its registers stay in its slot.</summary>
internal sealed class NativeContext(NativeX64Cpu cpu, NativeThread thread) : ICpuContext
{
    public NativeThread Thread { get; } = thread;

    public void Dispose() => cpu.EndThread(Thread);
}
