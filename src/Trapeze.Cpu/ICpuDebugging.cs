namespace Trapeze.Cpu;

/// <summary>The accesses a watchpoint catches (gdb's Z2, Z3 and Z4).</summary>
public enum WatchKind
{
    Write,
    Read,
    Access,
}

/// <summary>
/// What a debugger needs from a CPU beyond running it: breakpoints and watchpoints (any number: the
/// engine's hooks, not debug registers) and single steps. A run that reaches one ends with a
/// <see cref="CpuEventKind.Breakpoint"/> or <see cref="CpuEventKind.Watchpoint"/> event.
/// </summary>
public interface ICpuDebugging
{
    /// <summary>A run stops before executing the instruction at <paramref name="address"/>.</summary>
    void AddBreakpoint(ulong address);
    void RemoveBreakpoint(ulong address);

    /// <summary>A run stops after the instruction that read or wrote a byte of [address, address + length).</summary>
    void AddWatchpoint(ulong address, ulong length, WatchKind kind);
    void RemoveWatchpoint(ulong address, ulong length, WatchKind kind);

    /// <summary>Every breakpoint and watchpoint goes (exec replaced the program, or the debugger left).</summary>
    void RemoveAllDebugPoints();

    /// <summary>While set, each run executes one instruction at most.</summary>
    bool SingleStep { get; set; }

    /// <summary>From now on <see cref="Instructions"/> counts every instruction executed (a code hook on all code: slow; for reverse debugging).</summary>
    void CountInstructions() { }

    /// <summary>Instructions executed since counting began; setting it says where a restored checkpoint was.</summary>
    ulong Instructions { get => 0; set { } }

    /// <summary>A run stops before the instruction that would make <see cref="Instructions"/> pass this count (a <see cref="CpuEventKind.Breakpoint"/> with <see cref="PositionReached"/> as its number); once.</summary>
    ulong? StopAtInstruction { get => null; set { } }

    /// <summary>While set, breakpoints and watchpoints stay in place but stop nothing (a replay running forward to a point).</summary>
    bool DebugPointsSuspended { get => false; set { } }

    /// <summary>The event number of a stop at <see cref="StopAtInstruction"/>.</summary>
    public const int PositionReached = 1;
}
