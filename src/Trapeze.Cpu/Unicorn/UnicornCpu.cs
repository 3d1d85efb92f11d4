using System.Runtime.InteropServices;

namespace Trapeze.Cpu.Unicorn;

/// <summary>
/// What every Unicorn CPU but x86's shares: the engine and its memory, contexts, stops, and invalid
/// memory accesses and instructions as faults. Stops from other host threads go through a flag a block
/// hook reads (Unicorn 2.1 restarts an instruction after an asynchronous uc_emu_stop); a subclass adds
/// its registers and turns the engine's interrupts into events.
/// </summary>
public abstract unsafe class UnicornCpu : ICpu
{
    private protected readonly nint engine;
    private protected readonly ICpuEvents events;
    private GCHandle self;
    private protected CpuEvent? fault;
    private Exception? eventFailure;
    private bool disposed;
    private readonly Lock stopGate = new();
    private readonly byte* stopFlag = (byte*)NativeMemory.AllocZeroed(1);
    private bool running;
    private bool preciseStops, blockHookInstalled, hasRun;
    private readonly Translations translations;

    /// <summary>uc_emu_start's end address: never an instruction's (the last byte of the address space).</summary>
    private protected const ulong NoEnd = ulong.MaxValue;

    private protected UnicornCpu(ICpuEvents events, int architecture, int mode)
    {
        this.events = events;
        Check(UnicornNative.OpenEngine(architecture, mode, out engine), "uc_open");
        translations = new Translations(engine);
        self = GCHandle.Alloc(this);
        Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookMemoryInvalid, (nint)(delegate* unmanaged<nint, int, ulong, int, long, nint, byte>)&OnMemoryFaultHook, UserData, 1, 0, 0), "hook memory");
        Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookInstructionInvalid, (nint)(delegate* unmanaged<nint, nint, byte>)&OnInvalidInstructionHook, UserData, 1, 0, 0), "hook invalid instruction");
    }

    /// <summary>The handle the engine's hooks get back as their user data.</summary>
    private protected nint UserData => GCHandle.ToIntPtr(self);

    private protected static T From<T>(nint userData) where T : UnicornCpu => (T)GCHandle.FromIntPtr(userData).Target!;

    public abstract CpuArchitecture Architecture { get; }

    public ulong ReadRegister(X64Register register) => throw new NotSupportedException($"{Architecture} has no x86 registers");

    public void WriteRegister(X64Register register, ulong value) => throw new NotSupportedException($"{Architecture} has no x86 registers");

    public void MapMemory(ulong guestAddress, ulong length, MemoryProtection protection, nint hostMemory)
    {
        Check(UnicornNative.MemoryMapPointer(engine, guestAddress, (nuint)length, (uint)protection, hostMemory), $"map 0x{guestAddress:x}+0x{length:x}");
        translations.Mapped(guestAddress, length, protection);
    }

    public void UnmapMemory(ulong guestAddress, ulong length)
    {
        translations.Forget(guestAddress);
        Check(UnicornNative.MemoryUnmap(engine, guestAddress, (nuint)length), $"unmap 0x{guestAddress:x}+0x{length:x}");
    }

    public void ProtectMemory(ulong guestAddress, ulong length, MemoryProtection protection)
    {
        translations.Forget(guestAddress);
        Check(UnicornNative.MemoryProtect(engine, guestAddress, (nuint)length, (uint)protection), $"protect 0x{guestAddress:x}+0x{length:x}");
        translations.Mapped(guestAddress, length, protection);
    }

    public ICpuContext SaveContext(ICpuContext? into = null)
    {
        var context = into as UnicornContext ?? new UnicornContext(engine);
        Check(UnicornNative.ContextSave(engine, context.Handle), "save context");
        return context;
    }

    public void RestoreContext(ICpuContext context)
        => Check(UnicornNative.ContextRestore(engine, ((UnicornContext)context).Handle), "restore context");

    public void EnablePreciseStops() => preciseStops = true;

    /// <summary>Where the next run starts (ARM: bit 0 set for Thumb state).</summary>
    private protected abstract ulong StartAddress { get; }

    private protected abstract ulong ProgramCounter { get; }

    public CpuEvent Run()
    {
        fault = null;
        eventFailure = null;
        if (preciseStops && !blockHookInstalled)
        {
            Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookBlock, StopCheck.Code, (nint)stopFlag, 1, 0, 0), "hook blocks");
            if (hasRun)
                FlushTranslations();
            blockHookInstalled = true;
        }
        hasRun = true;
        var start = StartAddress;
        lock (stopGate)
            running = true;
        // Unicorn stops quietly when the PC reaches `until`: an address no code can be at, so a jump to 0 faults.
        var result = UnicornNative.EmulationStart(engine, start, NoEnd, 0, 0);
        lock (stopGate)
            running = false;
        if (eventFailure is { } failure)
        {
            eventFailure = null;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }
        var pc = ProgramCounter;
        if (fault is { } stop)
            return stop;
        return result switch
        {
            0 => new CpuEvent(CpuEventKind.Stopped, pc),
            10 => new CpuEvent(CpuEventKind.InvalidInstruction, pc),
            _ => new CpuEvent(CpuEventKind.MemoryFault, pc, pc, Unmapped: true),
        };
    }

    public void RequestStop()
    {
        lock (stopGate)
        {
            if (disposed || !running)
                return;
            if (blockHookInstalled)
                Volatile.Write(ref *stopFlag, 1);
            else
                UnicornNative.EmulationStop(engine);
        }
    }

    public void FlushTranslations() => translations.ForgetAll();

    public void Dispose()
    {
        lock (stopGate)
        {
            if (disposed)
                return;
            disposed = true;
        }
        UnicornNative.Close(engine);
        NativeMemory.Free(stopFlag);
        self.Free();
        ReleaseResources();
    }

    /// <summary>What a subclass holds besides the engine (a scratch context), freed once the engine is closed.</summary>
    private protected virtual void ReleaseResources()
    {
    }

    /// <summary>An invalid memory access ends the run with the access's address (Unicorn's UC_MEM_*_UNMAPPED and _PROT types).</summary>
    [UnmanagedCallersOnly]
    private static byte OnMemoryFaultHook(nint engine, int type, ulong address, int size, long value, nint userData)
    {
        var cpu = From<UnicornCpu>(userData);
        var unmapped = type is >= 19 and <= 21;
        var write = type is 20 or 22;
        cpu.fault ??= new CpuEvent(CpuEventKind.MemoryFault, cpu.ProgramCounter, address, Write: write, Unmapped: unmapped);
        return 0;
    }

    [UnmanagedCallersOnly]
    private static byte OnInvalidInstructionHook(nint engine, nint userData)
    {
        var cpu = From<UnicornCpu>(userData);
        cpu.fault ??= new CpuEvent(CpuEventKind.InvalidInstruction, cpu.ProgramCounter);
        return 0;
    }

    /// <summary>A hook's handler threw: the run stops and <see cref="Run"/> throws it on the emulating thread.</summary>
    private protected void Fail(Exception exception)
    {
        eventFailure = exception;
        RequestStop();
    }

    private protected static void Check(int code, string what)
    {
        if (code != 0)
            throw new CpuException($"{what}: {UnicornNative.Describe(code)}");
    }
}
