using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Trapeze.Cpu.Unicorn;

/// <summary>An x86 CPU on Unicorn 2, in long mode or 32-bit protected mode. One instance serves one guest address space.</summary>
public sealed unsafe partial class UnicornX64Cpu : ICpu
{
    // Unicorn's x86 register ids (unicorn/x86.h), indexed by X64Register.
    private static readonly int[] LongModeIds =
    [
        35, 37, 38, 40, 43, 39, 36, 44, // rax rbx rcx rdx rsi rdi rbp rsp
        106, 107, 108, 109, 110, 111, 112, 113, // r8..r15
        41, 25, 250, 251, // rip eflags fs_base gs_base
        249, 246, // mxcsr fpcw
    ];

    // In 32-bit mode Unicorn answers only the 32-bit names: EAX for Rax and so on; 0 (no register) for
    // R8-R15 and the segment bases, which 32-bit code sets through the GDT.
    private static readonly int[] ProtectedModeIds =
    [
        19, 21, 22, 24, 29, 23, 20, 30, // eax ebx ecx edx esi edi ebp esp
        0, 0, 0, 0, 0, 0, 0, 0,
        26, 25, 0, 0, // eip eflags
        249, 246, // mxcsr fpcw
    ];

    // UC_X86_REG_ES CS SS DS FS GS, indexed by X86Segment.
    private static readonly int[] SegmentIds = [28, 11, 49, 17, 32, 33];

    /// <summary>
    /// Where a 32-bit CPU keeps its GDT: the last page of the 4 GiB space, above every address a
    /// 32-bit Linux process can map (TASK_SIZE is 0xffffe000 for compat tasks).
    /// </summary>
    public const ulong GlobalDescriptorTableAddress = 0xffff_f000;

    private readonly int[] registerIds;
    private readonly byte* globalDescriptors;

    /// <summary>
    /// Westmere: the model whose instruction set (SSSE3, SSE4.2, POPCNT, AES, PCLMULQDQ) matches
    /// what <see cref="X64CpuModel"/> tells the guest; Unicorn 2.1 raises #UD for instructions
    /// its CPU model lacks, whatever CPUID said.
    /// </summary>
    private const int CpuModelWestmere = 16;

    private readonly nint engine;
    private readonly ICpuEvents events;
    private GCHandle self;
    private CpuEvent? fault;
    private Exception? eventFailure;
    private readonly Translations translations;
    private bool disposed;

    // A stop is a flag the engine reads at the start of every translation block (see
    // StopCheck): Unicorn 2.1 also checks uc_emu_stop's exit request after every memory access
    // and then restarts the instruction, so a stop from another thread could run the rest of a
    // read-modify-write twice (lock xadd counted twice). The preemption timer must not race with
    // Dispose either.
    private readonly Lock stopGate = new();
    // The stop flag, and at +8 the platform's block counter for the counting hook (null when not counting).
    private readonly byte* stopFlag = (byte*)NativeMemory.AllocZeroed(16);
    private readonly BlockCounter? counter;
    private bool running;
    private bool preciseStops, blockHookInstalled, hasRun;

    public UnicornX64Cpu(ICpuEvents events, CpuArchitecture architecture = CpuArchitecture.X86_64)
        : this(events, architecture, null)
    {
    }

    internal UnicornX64Cpu(ICpuEvents events, CpuArchitecture architecture, BlockCounter? counter)
    {
        this.counter = counter;
        if (counter is not null)
            *(ulong**)(stopFlag + 8) = counter.Words;
        if (architecture is not (CpuArchitecture.X86_64 or CpuArchitecture.I386))
            throw new ArgumentException($"an x86 CPU cannot run {architecture}", nameof(architecture));
        this.events = events;
        Architecture = architecture;
        var longMode = architecture == CpuArchitecture.X86_64;
        registerIds = longMode ? LongModeIds : ProtectedModeIds;
        Check(UnicornNative.OpenEngine(UnicornNative.ArchX86, longMode ? UnicornNative.Mode64 : UnicornNative.Mode32, out engine), "uc_open");
        Check(UnicornNative.Control(engine, UnicornNative.ControlCpuModel | UnicornNative.ControlWriteOneArgument, CpuModelWestmere), "select CPU model");
        translations = new Translations(engine);
        self = GCHandle.Alloc(this);
        var userData = GCHandle.ToIntPtr(self);
        Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookInstruction, (nint)(delegate* unmanaged<nint, nint, void>)&OnSyscallHook, userData, 1, 0, UnicornNative.X86InstructionSyscall), "hook syscall");
        Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookInstruction, (nint)(delegate* unmanaged<nint, nint, int>)&OnCpuidHook, userData, 1, 0, UnicornNative.X86InstructionCpuid), "hook cpuid");
        Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookInterrupt, (nint)(delegate* unmanaged<nint, uint, nint, void>)&OnInterruptHook, userData, 1, 0, 0), "hook interrupt");
        Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookMemoryInvalid, (nint)(delegate* unmanaged<nint, int, ulong, int, long, nint, byte>)&OnMemoryFaultHook, userData, 1, 0, 0), "hook memory");
        Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookInstructionInvalid, (nint)(delegate* unmanaged<nint, nint, byte>)&OnInvalidInstructionHook, userData, 1, 0, 0), "hook invalid instruction");
        EnableSseState();
        if (!longMode)
            globalDescriptors = CreateGlobalDescriptorTable();
    }

    public CpuArchitecture Architecture { get; }

    /// <summary>
    /// A zeroed GDT page in host memory mapped at <see cref="GlobalDescriptorTableAddress"/>, and GDTR
    /// pointing at it: loading a selector into %gs reads its descriptor there, as the hardware does.
    /// </summary>
    private byte* CreateGlobalDescriptorTable()
    {
        const int GlobalDescriptorTableRegister = 243; // UC_X86_REG_GDTR
        var table = (byte*)NativeMemory.AlignedAlloc(4096, 4096);
        NativeMemory.Clear(table, 4096);
        Check(UnicornNative.MemoryMapPointer(engine, GlobalDescriptorTableAddress, 4096, (uint)(MemoryProtection.Read | MemoryProtection.Write), (nint)table), "map the GDT");
        // uc_x86_mmr: selector (u16), base (u64 at 8), limit (u32 at 16), flags (u32 at 20).
        var register = stackalloc ulong[3];
        register[0] = 0;
        register[1] = GlobalDescriptorTableAddress;
        register[2] = 4095;
        Check(UnicornNative.RegisterWrite(engine, GlobalDescriptorTableRegister, register), "write gdtr");
        // Flat 4 GiB 32-bit segments where Linux keeps them: __USER32_CS (entry 4, 0x23) and
        // __USER_DS (entry 5, 0x2b); entry 2 is a DPL 0 data segment for SS, because Unicorn runs
        // guest code at CPL 0 and SS must match it. Loading them matters: any segment load makes
        // the CPU recompute the stack size from SS's descriptor, and Unicorn's reset SS has B = 0
        // (a 16-bit stack: the first call after glibc loaded %gs pushed to SP, not ESP).
        ((ulong*)table)[2] = 0x00cf_9300_0000_ffff;
        ((ulong*)table)[4] = 0x00cf_fb00_0000_ffff;
        ((ulong*)table)[5] = 0x00cf_f300_0000_ffff;
        foreach (var (segment, selector) in (ReadOnlySpan<(int, ulong)>)[(49, 0x10), (17, 0x2b), (28, 0x2b)])
        {
            var value = selector;
            Check(UnicornNative.RegisterWrite(engine, segment, &value), $"load segment {segment}");
        }
        return table;
    }

    public void WriteGlobalDescriptor(int index, ulong descriptor)
    {
        if (globalDescriptors == null || index <= 0 || index >= 512)
            throw new ArgumentOutOfRangeException(nameof(index), "no such GDT entry");
        ((ulong*)globalDescriptors)[index] = descriptor;
    }

    public ulong ReadGlobalDescriptor(int index)
    {
        if (globalDescriptors == null || index <= 0 || index >= 512)
            throw new ArgumentOutOfRangeException(nameof(index), "no such GDT entry");
        return ((ulong*)globalDescriptors)[index];
    }

    public ushort ReadSegment(X86Segment segment)
    {
        ulong value = 0;
        UnicornNative.RegisterRead(engine, SegmentIds[(int)segment], &value);
        return (ushort)value;
    }

    public void WriteSegment(X86Segment segment, ushort selector)
    {
        ulong value = selector;
        Check(UnicornNative.RegisterWrite(engine, SegmentIds[(int)segment], &value), $"load {segment} with 0x{selector:x}");
    }

    /// <summary>
    /// Puts the FPU and SSE state where Linux starts a process, which Unicorn's reset state is not:
    /// CR4.OSFXSR and OSXMMEXCPT set (with CR4 = 0, fxsave/fxrstor skip the XMM registers, and
    /// glibc's lazy-binding trampoline saves the argument registers with fxsave: every first call
    /// of a libm function got garbage arguments); the x87 control word 0x37f (64-bit precision,
    /// exceptions masked; Unicorn's 0 computes long double at float precision); MXCSR 0x1f80
    /// (SSE exceptions masked, round to nearest); all x87 registers empty.
    /// </summary>
    private void EnableSseState()
    {
        const int ControlRegister4 = 54, X87Control = 246, X87Tags = 247, SseControl = 249; // UC_X86_REG_*
        const ulong OsFxsr = 1 << 9, OsXmmExceptions = 1 << 10;
        ulong value;
        Check(UnicornNative.RegisterRead(engine, ControlRegister4, &value), "read cr4");
        value |= OsFxsr | OsXmmExceptions;
        Check(UnicornNative.RegisterWrite(engine, ControlRegister4, &value), "write cr4");
        value = 0x37f;
        Check(UnicornNative.RegisterWrite(engine, X87Control, &value), "write x87 control word");
        value = 0xffff;
        Check(UnicornNative.RegisterWrite(engine, X87Tags, &value), "write x87 tag word");
        value = 0x1f80;
        Check(UnicornNative.RegisterWrite(engine, SseControl, &value), "write mxcsr");
    }

    public ulong ReadRegister(X64Register register)
    {
        ulong value = 0;
        UnicornNative.RegisterRead(engine, registerIds[(int)register], &value);
        return value;
    }

    public void WriteRegister(X64Register register, ulong value)
        => UnicornNative.RegisterWrite(engine, registerIds[(int)register], &value);

    public void ReadRegisters(ReadOnlySpan<X64Register> registers, Span<ulong> values)
    {
        fixed (ulong* first = values)
            Batch(registers, first, values.Length, write: false);
    }

    public void WriteRegisters(ReadOnlySpan<X64Register> registers, ReadOnlySpan<ulong> values)
    {
        fixed (ulong* first = values)
            Batch(registers, first, values.Length, write: true);
    }

    /// <summary>One engine call for several registers: the syscall path's hot spot.</summary>
    private void Batch(ReadOnlySpan<X64Register> registers, ulong* values, int count, bool write)
    {
        const int most = 16;
        if (registers.Length > most || count < registers.Length)
            throw new ArgumentException($"at most {most} registers, and a value slot for each");
        var ids = stackalloc int[most];
        var slots = stackalloc void*[most];
        for (var i = 0; i < registers.Length; i++)
        {
            ids[i] = registerIds[(int)registers[i]];
            slots[i] = values + i;
        }
        if (write)
            UnicornNative.RegisterWriteBatch(engine, ids, slots, registers.Length);
        else
            UnicornNative.RegisterReadBatch(engine, ids, slots, registers.Length);
    }

    // Unicorn 2.1's ids (checked on 2.1.1 with fxsave in guest code): FPSW carries TOP in bits
    // 11..13; FPTAG is the full 2-bit-per-register tag word over physical registers; STn are
    // relative to TOP, 10 bytes each; XMM0..15 are 16 bytes each.
    private const int FpswId = 31, FpcwId = 246, FptagId = 247, MxcsrId = 249, St0Id = 114, Xmm0Id = 122;

    public void SaveFloatingPoint(Span<byte> fxsave)
    {
        fxsave[..512].Clear();
        ulong control = 0, status = 0, tags = 0, sse = 0;
        UnicornNative.RegisterRead(engine, FpcwId, &control);
        UnicornNative.RegisterRead(engine, FpswId, &status);
        UnicornNative.RegisterRead(engine, FptagId, &tags);
        UnicornNative.RegisterRead(engine, MxcsrId, &sse);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(fxsave, (ushort)control);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(fxsave[2..], (ushort)status);
        byte abridged = 0;
        for (var i = 0; i < 8; i++)
        {
            if (((tags >> (2 * i)) & 3) != 3)
                abridged |= (byte)(1 << i);
        }
        fxsave[4] = abridged;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(fxsave[24..], (uint)sse);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(fxsave[28..], 0xffff); // MXCSR_MASK
        var buffer = stackalloc byte[16];
        for (var i = 0; i < 8; i++)
        {
            new Span<byte>(buffer, 16).Clear();
            UnicornNative.RegisterRead(engine, St0Id + i, (ulong*)buffer);
            new ReadOnlySpan<byte>(buffer, 10).CopyTo(fxsave[(32 + 16 * i)..]);
        }
        for (var i = 0; i < 16; i++)
        {
            UnicornNative.RegisterRead(engine, Xmm0Id + i, (ulong*)buffer);
            new ReadOnlySpan<byte>(buffer, 16).CopyTo(fxsave[(160 + 16 * i)..]);
        }
    }

    public void RestoreFloatingPoint(ReadOnlySpan<byte> fxsave)
    {
        ulong control = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(fxsave);
        ulong status = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(fxsave[2..]);
        ulong sse = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(fxsave[24..]) & 0xffff;
        ulong tags = 0;
        for (var i = 0; i < 8; i++)
        {
            if ((fxsave[4] & (1 << i)) == 0)
                tags |= 3UL << (2 * i);
        }
        UnicornNative.RegisterWrite(engine, FpcwId, &control);
        UnicornNative.RegisterWrite(engine, FpswId, &status); // sets TOP, which the STn ids are relative to
        UnicornNative.RegisterWrite(engine, MxcsrId, &sse);
        var buffer = stackalloc byte[16];
        for (var i = 0; i < 8; i++)
        {
            new Span<byte>(buffer, 16).Clear();
            fxsave.Slice(32 + 16 * i, 10).CopyTo(new Span<byte>(buffer, 10));
            UnicornNative.RegisterWrite(engine, St0Id + i, (ulong*)buffer);
        }
        UnicornNative.RegisterWrite(engine, FptagId, &tags);
        for (var i = 0; i < 16; i++)
        {
            fxsave.Slice(160 + 16 * i, 16).CopyTo(new Span<byte>(buffer, 16));
            UnicornNative.RegisterWrite(engine, Xmm0Id + i, (ulong*)buffer);
        }
    }

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

    private bool preciseFaults;

    // Unicorn 2.1 writes RIP before each instruction only while a memory read or write hook exists;
    // without one a fault reports the start of its translation block. A hook over an address range
    // nothing uses gives exact fault addresses (checked: RIP of a faulting load is exact with it, the
    // block's start without), at a large cost on every memory access.
    public void RequestPreciseFaults()
    {
        if (preciseFaults || preciseFaultsRequested)
            return;
        // The next run starts with the hook in place: this one may reach a fault first.
        preciseFaultsRequested = true;
        RequestStop();
    }

    private bool preciseFaultsRequested;

    // Called outside the engine (flushing translations from inside a hook would free the running block).
    private void EnablePreciseFaults()
    {
        if (preciseFaults)
            return;
        preciseFaults = true;
        const int HookMemoryRead = 1 << 10, HookMemoryWrite = 1 << 11;
        Check(UnicornNative.HookAdd(engine, out _, HookMemoryRead | HookMemoryWrite, (nint)(delegate* unmanaged<nint, int, ulong, int, long, nint, void>)&OnMemoryAccessHook, GCHandle.ToIntPtr(self), 0xffff_ffff_ffff_0000, 0xffff_ffff_ffff_0001, 0), "hook memory for exact fault addresses");
        FlushTranslations();
    }
    public void EnablePreciseStops() => preciseStops = true;

    public CpuEvent Run()
    {
        fault = null;
        eventFailure = null;
        if (preciseFaultsRequested && !preciseFaults)
            EnablePreciseFaults();
        if ((preciseStops || counter is { Started: true }) && !blockHookInstalled)
        {
            counter?.Start();
            // Hooks only reach code translated after them.
            Check(UnicornNative.HookAdd(engine, out _, UnicornNative.HookBlock, counter is null ? StopCheck.Code : StopCheck.CountingCode, (nint)stopFlag, 1, 0, 0), "hook blocks");
            if (hasRun)
                FlushTranslations();
            blockHookInstalled = true;
        }
        PrepareDebugRun();
        hasRun = true;
        var start = ReadRegister(X64Register.Rip);
        // Unicorn would stop before an instruction at "until" (below) and the run loop start it again,
        // forever; no guest maps the last page, so an instruction there is a fault at once.
        if (start == ulong.MaxValue)
            return new CpuEvent(CpuEventKind.MemoryFault, start, Address: start, Unmapped: true);
        lock (stopGate)
        {
            running = true;
            *stopFlag = stopKept ? (byte)1 : (byte)0;
            keepingStops = stopKept = false;
        }
        counter?.Running = this;
        // "until" is an address no guest can execute: 0 would make a jump to address 0 end the run quietly.
        var result = UnicornNative.EmulationStart(engine, start, ulong.MaxValue, 0, SingleStep ? 1u : 0u);
        counter?.Running = null;
        lock (stopGate)
            running = false;
        if (eventFailure is { } failure)
        {
            eventFailure = null;
            ExceptionDispatchInfoThrow(failure);
        }
        var pc = ReadRegister(X64Register.Rip);
        if (fault is { } stop)
            return FinishDebugStop(stop);
        if (TakeWatchHit(pc) is { } watched)
            return watched;
        return result switch
        {
            // Unicorn also ends a run quietly after hlt: the kernel tells that from a stop it asked for.
            0 => new CpuEvent(CpuEventKind.Stopped, pc),
            10 => new CpuEvent(CpuEventKind.InvalidInstruction, pc),
            _ => new CpuEvent(CpuEventKind.GeneralProtection, pc),
        };
    }

    public bool KeepStopRequests()
    {
        lock (stopGate)
        {
            if (!preciseStops)
                return false;
            keepingStops = true;
            stopKept = false;
            return true;
        }
    }

    // Between KeepStopRequests and the run it prepares: a stop asked then ends that run at once.
    private bool keepingStops, stopKept;

    public void RequestStop()
    {
        lock (stopGate)
        {
            if (!running)
                stopKept |= keepingStops;
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
        if (globalDescriptors != null)
            NativeMemory.AlignedFree(globalDescriptors);
        NativeMemory.Free(stopFlag);
        NativeMemory.Free(watchFlag);
        self.Free();
    }

    private static void ExceptionDispatchInfoThrow(Exception exception)
        => System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(exception).Throw();

    private static UnicornX64Cpu From(nint userData) => (UnicornX64Cpu)GCHandle.FromIntPtr(userData).Target!;

    // Exceptions must not cross the native frames of Unicorn: park them and stop the CPU;
    // Run rethrows them on the managed side.
    private void Guard<TState>(TState state, Action<UnicornX64Cpu, TState> action)
    {
        try
        {
            action(this, state);
        }
        catch (Exception exception)
        {
            eventFailure = exception;
            RequestStop();
        }
    }

    [UnmanagedCallersOnly]
    private static void OnSyscallHook(nint engine, nint userData)
    {
        var cpu = From(userData);
        // Unicorn calls the hook with RIP still on the 2-byte syscall instruction and advances it after.
        var next = cpu.ReadRegister(X64Register.Rip) + 2;
        cpu.Guard(next, static (cpu, next) => cpu.events.OnSyscall(cpu, next));
    }

    /// <summary>Answers the CPUID leaves of <see cref="X64CpuModel"/>; 1 tells Unicorn the instruction is done.</summary>
    [UnmanagedCallersOnly]
    private static int OnCpuidHook(nint engine, nint userData)
    {
        var cpu = From(userData);
        var leaf = (uint)cpu.ReadRegister(X64Register.Rax);
        var subleaf = (uint)cpu.ReadRegister(X64Register.Rcx);
        if (!X64CpuModel.TryGet(leaf, subleaf, out var answer))
            return 0;
        cpu.WriteRegister(X64Register.Rax, answer.Eax);
        cpu.WriteRegister(X64Register.Rbx, answer.Ebx);
        cpu.WriteRegister(X64Register.Rcx, answer.Ecx);
        cpu.WriteRegister(X64Register.Rdx, answer.Edx);
        return 1;
    }

    [UnmanagedCallersOnly]
    private static void OnInterruptHook(nint engine, uint number, nint userData)
    {
        var cpu = From(userData);
        cpu.Guard((int)number, static (cpu, number) =>
        {
            if (cpu.events.OnInterrupt(cpu, number))
                return;
            cpu.fault ??= new CpuEvent(CpuEventKind.Interrupt, cpu.ReadRegister(X64Register.Rip), Number: number);
            cpu.RequestStop();
        });
    }

    [UnmanagedCallersOnly]
    private static byte OnMemoryFaultHook(nint engine, int type, ulong address, int size, long value, nint userData)
    {
        var cpu = From(userData);
        // uc_mem_type: 19..21 unmapped read/write/fetch, 22..24 protection write/read/fetch.
        var unmapped = type is >= 19 and <= 21;
        var write = type is 20 or 22;
        cpu.fault ??= new CpuEvent(CpuEventKind.MemoryFault, cpu.ReadRegister(X64Register.Rip), address, Write: write, Unmapped: unmapped);
        return 0;
    }

    [UnmanagedCallersOnly]
    private static void OnMemoryAccessHook(nint engine, int type, ulong address, int size, long value, nint userData)
    {
    }

    [UnmanagedCallersOnly]
    private static byte OnInvalidInstructionHook(nint engine, nint userData)
    {
        var cpu = From(userData);
        cpu.fault ??= new CpuEvent(CpuEventKind.InvalidInstruction, cpu.ReadRegister(X64Register.Rip));
        return 0;
    }

    private static void Check(int code, string what)
    {
        if (code != 0)
            throw new CpuException($"{what}: {UnicornNative.Describe(code)}");
    }
}

public sealed class CpuException(string message) : Exception(message);

/// <summary>
/// The block hook, in machine code: a managed callback on every translation block would cost more
/// than the guest's code. It tests the stop flag (user data) and only when it is set calls
/// <see cref="Stop"/>, which stops the engine before the block runs: a precise point.
/// </summary>
internal static unsafe class StopCheck
{
    // void hook(uc_engine *uc, uint64_t address, uint32_t size, void *flag):
    //   cmp byte [rcx], 0 ; jne stop ; ret ; stop: jmp [rip+0] ; .quad Stop
    public static nint Code { get; } = Build([0x80, 0x39, 0x00, 0x75, 0x01, 0xc3, 0xff, 0x25, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);

    // The same, and counts the block in the counter whose address is at flag+8, stopping at its limit:
    //   cmp byte [rcx], 0 ; jne stop ; mov rax, [rcx+8] ; inc qword [rax] ; mov rdx, [rax] ;
    //   cmp rdx, [rax+8] ; jae stop ; ret ; stop: jmp [rip+0] ; .quad Stop
    public static nint CountingCode { get; } = Build([
        0x80, 0x39, 0x00, 0x75, 0x11, 0x48, 0x8b, 0x41, 0x08, 0x48, 0xff, 0x00, 0x48, 0x8b, 0x10,
        0x48, 0x3b, 0x50, 0x08, 0x73, 0x01, 0xc3, 0xff, 0x25, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);

    private static nint Build(byte[] code)
    {
        const int ReadWrite = 3, ReadExecute = 5, PrivateAnonymous = 0x22;
        BitConverter.TryWriteBytes(code.AsSpan(code.Length - 8), (ulong)(delegate* unmanaged<nint, ulong, uint, byte*, void>)&Stop);
        var page = UnicornNative.HostMap(0, 4096, ReadWrite, PrivateAnonymous, -1, 0);
        if (page == -1)
            throw new CpuException("no memory for the block hook");
        code.CopyTo(new Span<byte>((void*)page, code.Length));
        if (UnicornNative.HostProtect(page, 4096, ReadExecute) != 0)
            throw new CpuException("cannot make the block hook executable");
        return page;
    }

    [UnmanagedCallersOnly]
    private static void Stop(nint engine, ulong address, uint size, byte* flag)
    {
        *flag = 0;
        UnicornNative.EmulationStop(engine);
    }
}

/// <summary>A uc_context: the whole CPU state of one engine (it holds the engine's own pointers: only that engine may restore it).</summary>
internal sealed class UnicornContext : ICpuContext
{
    public UnicornContext(nint engine)
    {
        if (UnicornNative.ContextAllocate(engine, out var handle) != 0)
            throw new CpuException("uc_context_alloc failed");
        Handle = handle;
    }

    public nint Handle { get; private set; }

    public void Dispose()
    {
        if (Handle != 0)
            UnicornNative.ContextFree(Handle);
        Handle = 0;
    }
}

/// <summary>The Unicorn platform: every guest CPU is a Unicorn engine in this host process.</summary>
/// <param name="countExecution">Count the blocks every CPU runs (<see cref="Counter"/>), at a block hook's cost.</param>
public sealed class UnicornPlatform(bool countExecution = false) : IPlatform
{
    private readonly BlockCounter? counter = countExecution ? new BlockCounter() : null;

    public string Name => "unicorn";

    public IExecutionCounter? Counter => counter;

    public ICpu CreateCpu(ICpuEvents events, CpuArchitecture architecture = CpuArchitecture.X86_64) => architecture switch
    {
        CpuArchitecture.Arm => new UnicornArmCpu(events),
        CpuArchitecture.Sparc => new UnicornSparcCpu(events),
        _ => new UnicornX64Cpu(events, architecture, counter),
    };
}

/// <summary>Two words in native memory the counting block hook updates: blocks run, and the stop limit.</summary>
internal sealed unsafe class BlockCounter : IExecutionCounter
{
    // Never freed: it lives as long as the platform's CPUs, which may outlive any one owner.
    public ulong* Words { get; } = (ulong*)NativeMemory.AllocZeroed(16);

    public BlockCounter() => Words[1] = ulong.MaxValue;

    public ulong Executed => Volatile.Read(ref Words[0]);

    // Each CPU installs the counting hook at its next run once this is set (UnicornX64Cpu.Run).
    public bool Started { get; private set; }

    /// <summary>The CPU inside a run now: the one a deterministic run lets execute.</summary>
    internal ICpu? Running { get; set; }

    public void Start()
    {
        if (Started)
            return;
        Started = true;
        // Called from a system call inside that run: the run ends after it, and the next one counts.
        Running?.RequestStop();
    }

    public ulong Limit
    {
        get => Words[1];
        set => Words[1] = value;
    }
}
