using System.Runtime.InteropServices;

namespace Trapeze.Cpu.Unicorn;

/// <summary>
/// Breakpoints, watchpoints and single steps on Unicorn's hooks. A breakpoint is a code hook on its
/// one address, so code elsewhere runs at full speed; a watchpoint is a memory hook on its range.
/// Stopping from a memory hook would make Unicorn run the access again, so the hook only raises a
/// flag that a code hook in machine code (<see cref="StopCheck"/>) reads before the next instruction.
/// </summary>
public sealed unsafe partial class UnicornX64Cpu : ICpuDebugging
{
    private const int HookCode = 1 << 2, HookMemoryRead = 1 << 10, HookMemoryWrite = 1 << 11;

    private readonly Dictionary<ulong, nint> breakpoints = [];
    private readonly List<(ulong Address, ulong Length, WatchKind Kind, nint Hook)> watchpoints = [];
    private readonly byte* watchFlag = (byte*)NativeMemory.AllocZeroed(1);
    private nint watchStopHook;
    private (ulong Address, WatchKind Kind)? watchHit;
    private bool translationsStale, lastRunStepped;

    public bool SingleStep { get; set; }

    public bool DebugPointsSuspended { get; set; }

    private nint countHook;
    private ulong instructions, stopAtInstruction = ulong.MaxValue, lastHooked;
    private bool hookedPending;

    public void CountInstructions()
    {
        if (countHook != 0)
            return;
        Check(UnicornNative.HookAdd(engine, out countHook, HookCode, (nint)(delegate* unmanaged<nint, ulong, uint, nint, void>)&OnCountHook, GCHandle.ToIntPtr(self), 1, 0, 0), "count instructions");
        translationsStale = true;
    }

    public ulong Instructions
    {
        get
        {
            SettleCount();
            return instructions;
        }
        set
        {
            instructions = value;
            hookedPending = false;
        }
    }

    public ulong? StopAtInstruction
    {
        get => stopAtInstruction == ulong.MaxValue ? null : stopAtInstruction;
        set => stopAtInstruction = value ?? ulong.MaxValue;
    }

    /// <summary>
    /// The hook runs before its instruction, which a stop may keep from running: the last instruction
    /// hooked counts once the PC has left it (the next hook, or a look between runs).
    /// </summary>
    private void SettleCount()
    {
        if (hookedPending && ReadRegister(X64Register.Rip) != lastHooked)
            instructions++;
        hookedPending = false;
    }

    [UnmanagedCallersOnly]
    private static void OnCountHook(nint engine, ulong address, uint size, nint userData)
    {
        var cpu = From(userData);
        if (cpu.hookedPending)
            cpu.instructions++;
        cpu.lastHooked = address;
        cpu.hookedPending = true;
        if (cpu.instructions != cpu.stopAtInstruction)
            return;
        cpu.stopAtInstruction = ulong.MaxValue;
        cpu.fault ??= new CpuEvent(CpuEventKind.Breakpoint, address, address, ICpuDebugging.PositionReached);
        UnicornNative.EmulationStop(engine);
    }

    public void AddBreakpoint(ulong address)
    {
        if (breakpoints.ContainsKey(address))
            return;
        Check(UnicornNative.HookAdd(engine, out var hook, HookCode, (nint)(delegate* unmanaged<nint, ulong, uint, nint, void>)&OnBreakpointHook, GCHandle.ToIntPtr(self), address, address, 0), "add a breakpoint");
        breakpoints[address] = hook;
        translationsStale = true;
    }

    public void RemoveBreakpoint(ulong address)
    {
        if (breakpoints.Remove(address, out var hook))
            UnicornNative.HookDelete(engine, hook);
    }

    public void AddWatchpoint(ulong address, ulong length, WatchKind kind)
    {
        if (length == 0)
            return;
        var type = kind switch
        {
            WatchKind.Write => HookMemoryWrite,
            WatchKind.Read => HookMemoryRead,
            _ => HookMemoryRead | HookMemoryWrite,
        };
        Check(UnicornNative.HookAdd(engine, out var hook, type, (nint)(delegate* unmanaged<nint, int, ulong, int, long, nint, void>)&OnWatchHook, GCHandle.ToIntPtr(self), address, address + length - 1, 0), "add a watchpoint");
        watchpoints.Add((address, length, kind, hook));
        if (watchStopHook == 0)
            Check(UnicornNative.HookAdd(engine, out watchStopHook, HookCode, StopCheck.Code, (nint)watchFlag, 1, 0, 0), "add the watchpoint stop check");
        translationsStale = true;
    }

    public void RemoveWatchpoint(ulong address, ulong length, WatchKind kind)
    {
        var index = watchpoints.FindIndex(w => w.Address == address && w.Length == length && w.Kind == kind);
        if (index < 0)
            return;
        UnicornNative.HookDelete(engine, watchpoints[index].Hook);
        watchpoints.RemoveAt(index);
        if (watchpoints.Count == 0 && watchStopHook != 0)
        {
            UnicornNative.HookDelete(engine, watchStopHook);
            watchStopHook = 0;
        }
    }

    public void RemoveAllDebugPoints()
    {
        foreach (var address in breakpoints.Keys.ToArray())
            RemoveBreakpoint(address);
        foreach (var (address, length, kind, _) in watchpoints.ToArray())
            RemoveWatchpoint(address, length, kind);
    }

    /// <summary>Hooks reach only code translated after them; so does the instruction count of a single step.</summary>
    private void PrepareDebugRun()
    {
        if ((translationsStale || (SingleStep && !lastRunStepped)) && hasRun)
            FlushTranslations();
        translationsStale = false;
        lastRunStepped = SingleStep;
        if (countHook != 0)
            SettleCount();
        watchHit = null;
        *watchFlag = 0;
    }

    /// <summary>A breakpoint's hook ran before its instruction: the run resumes there.</summary>
    private CpuEvent FinishDebugStop(CpuEvent stop)
    {
        if (stop.Kind == CpuEventKind.Breakpoint)
            WriteRegister(X64Register.Rip, stop.Address);
        return stop;
    }

    private CpuEvent? TakeWatchHit(ulong pc)
    {
        if (watchHit is not { } hit)
            return null;
        watchHit = null;
        return new CpuEvent(CpuEventKind.Watchpoint, pc, hit.Address, (int)hit.Kind, hit.Kind == WatchKind.Write);
    }

    [UnmanagedCallersOnly]
    private static void OnBreakpointHook(nint engine, ulong address, uint size, nint userData)
    {
        var cpu = From(userData);
        if (cpu.DebugPointsSuspended)
            return;
        cpu.fault ??= new CpuEvent(CpuEventKind.Breakpoint, address, address);
        UnicornNative.EmulationStop(engine);
    }

    [UnmanagedCallersOnly]
    private static void OnWatchHook(nint engine, int type, ulong address, int size, long value, nint userData)
    {
        var cpu = From(userData);
        if (cpu.DebugPointsSuspended)
            return;
        var write = type == 17; // UC_MEM_WRITE (UC_MEM_READ is 16)
        foreach (var (start, length, kind, _) in cpu.watchpoints)
        {
            if (address + (ulong)size <= start || address >= start + length)
                continue;
            if (kind == WatchKind.Access || (kind == WatchKind.Write) == write)
            {
                cpu.watchHit ??= (Math.Max(address, start), kind);
                *cpu.watchFlag = 1;
                return;
            }
        }
    }
}
