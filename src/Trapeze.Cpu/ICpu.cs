namespace Trapeze.Cpu;

/// <summary>Page protections as the guest asks for them; the CPU maps them to its own bits.</summary>
[Flags]
public enum MemoryProtection
{
    None = 0,
    Read = 1,
    Write = 2,
    Execute = 4,
}

/// <summary>Why <see cref="ICpu.Run"/> returned.</summary>
public enum CpuEventKind
{
    /// <summary>Someone called <see cref="ICpu.RequestStop"/>: the kernel (a blocking call, exit, exec) or the preemption timer.</summary>
    Stopped,
    /// <summary>A software interrupt or CPU exception that <see cref="ICpuEvents.OnInterrupt"/> did not handle (<see cref="CpuEvent.Number"/> is the vector).</summary>
    Interrupt,
    /// <summary>An access to unmapped memory or against page protections.</summary>
    MemoryFault,
    /// <summary>An instruction the CPU cannot decode or execute.</summary>
    InvalidInstruction,
    /// <summary>A privileged instruction in user mode (<c>hlt</c>): general protection.</summary>
    GeneralProtection,
    /// <summary>The run reached a breakpoint of <see cref="ICpuDebugging"/> (<see cref="CpuEvent.Address"/>), before executing it.</summary>
    Breakpoint,
    /// <summary>An instruction touched a watched address (<see cref="CpuEvent.Address"/>; <see cref="CpuEvent.Number"/> is the <see cref="WatchKind"/> that caught it); the run stopped after it.</summary>
    Watchpoint,
}

/// <summary>One event that ended a run of guest code, with the program counter where it happened.</summary>
public readonly record struct CpuEvent(CpuEventKind Kind, ulong ProgramCounter, ulong Address = 0, int Number = 0, bool Write = false, bool Unmapped = false);

/// <summary>What the CPU calls back into, inside the engine, when the guest asks for the kernel.</summary>
public interface ICpuEvents
{
    /// <summary>
    /// The guest executed <c>syscall</c>; <paramref name="nextInstruction"/> is the address after it.
    /// A call that finishes here is the fast path; one that must wait calls <see cref="ICpu.RequestStop"/>
    /// and is finished by the kernel's run loop outside the engine.
    /// </summary>
    void OnSyscall(ICpu cpu, ulong nextInstruction);

    /// <summary>
    /// A software interrupt or exception (x86 <c>int N</c>: the program counter is already past it); true
    /// when handled (execution goes on), false to end the run with an <see cref="CpuEventKind.Interrupt"/> event.
    /// </summary>
    bool OnInterrupt(ICpu cpu, int number) => false;

    /// <summary>
    /// A platform that runs guest threads at once (<see cref="ICpu.RunsThreadsInParallel"/>) lets go of
    /// the kernel while guest code runs: other threads may use the kernel meanwhile. The token goes
    /// back to <see cref="EnterKernel"/>, which takes the kernel again for the same guest thread and
    /// loads it on the CPU before the next event is handled.
    /// </summary>
    object? LeaveKernel() => null;

    void EnterKernel(object? token) { }
}

/// <summary>One guest thread on a platform that runs threads at once: another host thread can stop it.</summary>
public interface ICpuThread
{
    /// <summary>From any host thread: the thread's run ends at its next instruction boundary (or now, when it is in the kernel).</summary>
    void RequestStop();

    /// <summary>
    /// Nanoseconds of CPU the thread's guest code has used on a host thread of its own (the native
    /// platform's child); 0 where guest code runs on the host thread that drives it, whose own clock
    /// already counts it.
    /// </summary>
    long CpuTime() => 0;
}

/// <summary>The host file whose pages back a mapping, for a platform that maps them into another process.</summary>
public readonly record struct HostPages(int Descriptor, long Offset, bool Writable);

/// <summary>
/// The whole register state of one guest thread (integer, x87/SSE, segment bases), in the CPU's own
/// form. Threads that share a CPU take turns: the kernel saves one and restores another.
/// </summary>
public interface ICpuContext : IDisposable
{
}

/// <summary>
/// An emulated (or native) CPU running one guest address space. The kernel talks only to this;
/// nothing outside Trapeze.Cpu names the engine behind it. One thread of the host at a time drives it.
/// </summary>
public interface ICpu : IDisposable
{
    /// <summary>The instruction set this CPU runs, which decides its register file.</summary>
    CpuArchitecture Architecture => CpuArchitecture.X86_64;

    ulong ReadRegister(X64Register register);
    void WriteRegister(X64Register register, ulong value);

    /// <summary>ARM registers (only an <see cref="CpuArchitecture.Arm"/> CPU has them).</summary>
    ulong ReadRegister(ArmRegister register) => throw new NotSupportedException($"{Architecture} has no ARM registers");
    void WriteRegister(ArmRegister register, ulong value) => throw new NotSupportedException($"{Architecture} has no ARM registers");

    /// <summary>Reads several ARM registers at once (the syscall path: R0-R7 in one engine call).</summary>
    void ReadRegisters(ReadOnlySpan<ArmRegister> registers, Span<ulong> values)
    {
        for (var i = 0; i < registers.Length; i++)
            values[i] = ReadRegister(registers[i]);
    }

    /// <summary>SPARC registers (only a <see cref="CpuArchitecture.Sparc"/> CPU has them).</summary>
    ulong ReadRegister(SparcRegister register) => throw new NotSupportedException($"{Architecture} has no SPARC registers");
    void WriteRegister(SparcRegister register, ulong value) => throw new NotSupportedException($"{Architecture} has no SPARC registers");

    /// <summary>SPARC: how many register windows the CPU has (NWINDOWS).</summary>
    int RegisterWindows => 0;

    /// <summary>
    /// SPARC: the 24 registers of window <paramref name="window"/> (outs, locals, ins: a window's outs are
    /// the next lower window's ins), whether or not it is the current one; a write sets
    /// <paramref name="values"/>'s registers from index <paramref name="first"/> on.
    /// </summary>
    void ReadWindow(int window, Span<uint> values) => throw new NotSupportedException($"{Architecture} has no register windows");
    void WriteWindow(int window, int first, ReadOnlySpan<uint> values) => throw new NotSupportedException($"{Architecture} has no register windows");

    /// <summary>x86: a segment selector; loading one in 32-bit code reads its descriptor from the GDT.</summary>
    ushort ReadSegment(X86Segment segment) => throw new NotSupportedException($"{Architecture} has no segments");
    void WriteSegment(X86Segment segment, ushort selector) => throw new NotSupportedException($"{Architecture} has no segments");

    /// <summary>
    /// x86 (32-bit): writes an 8-byte descriptor into entry <paramref name="index"/> of the global
    /// descriptor table the CPU keeps outside guest memory (set_thread_area's TLS entries).
    /// </summary>
    void WriteGlobalDescriptor(int index, ulong descriptor) => throw new NotSupportedException($"{Architecture} has no GDT");

    ulong ReadGlobalDescriptor(int index) => throw new NotSupportedException($"{Architecture} has no GDT");

    /// <summary>Reads several registers at once: one call into the engine on the syscall hot path.</summary>
    void ReadRegisters(ReadOnlySpan<X64Register> registers, Span<ulong> values)
    {
        for (var i = 0; i < registers.Length; i++)
            values[i] = ReadRegister(registers[i]);
    }

    /// <summary>Writes several registers at once.</summary>
    void WriteRegisters(ReadOnlySpan<X64Register> registers, ReadOnlySpan<ulong> values)
    {
        for (var i = 0; i < registers.Length; i++)
            WriteRegister(registers[i], values[i]);
    }

    /// <summary>
    /// The floating-point state a signal frame carries: on x86 the x87, MMX and SSE state in the
    /// 512-byte fxsave format; on ARM d0-d31 and fpscr as struct user_vfp (260 bytes). The default
    /// leaves the area zeroed.
    /// </summary>
    void SaveFloatingPoint(Span<byte> fxsave) => fxsave.Clear();

    /// <summary>Loads the state <see cref="SaveFloatingPoint"/> wrote (rt_sigreturn).</summary>
    void RestoreFloatingPoint(ReadOnlySpan<byte> fxsave) { }

    /// <summary>Copies the full register state of the thread now on the CPU into a new context (or into <paramref name="into"/>).</summary>
    ICpuContext SaveContext(ICpuContext? into = null);

    /// <summary>A new thread's context: a copy of the registers of the thread now on the CPU (clone of a thread).</summary>
    ICpuContext CopyContext() => SaveContext();

    /// <summary>
    /// Guest threads of this CPU run at once, each driven by its own host thread (the native
    /// platform); the kernel then stops one through <see cref="LoadedThread"/>.
    /// </summary>
    bool RunsThreadsInParallel => false;

    /// <summary>The thread now loaded, as a handle that stays valid while others are loaded (null when threads take turns on one engine).</summary>
    ICpuThread? LoadedThread => null;

    /// <summary>Guest memory must be host file pages (a memfd) that the platform maps by descriptor: <see cref="MapMemory(ulong, ulong, MemoryProtection, nint, HostPages)"/>.</summary>
    bool MapsByDescriptor => false;

    /// <summary>Guest code runs on the host's CPU: CPUID, /proc/cpuinfo and AT_HWCAP are the host's.</summary>
    bool IsHostCpu => false;

    /// <summary>Guest addresses the platform keeps for itself: no guest mapping may go there.</summary>
    (ulong Start, ulong End)? ReservedRange => null;

    /// <summary>Puts a state this CPU saved back on it (another CPU's context is not portable: fork copies registers).</summary>
    void RestoreContext(ICpuContext context);

    /// <summary>Maps host memory the caller owns at a guest address. Both must be page aligned.</summary>
    void MapMemory(ulong guestAddress, ulong length, MemoryProtection protection, nint hostMemory);

    /// <summary>Maps host memory that is also <paramref name="pages"/> (a descriptor and offset), for a platform that maps by descriptor.</summary>
    void MapMemory(ulong guestAddress, ulong length, MemoryProtection protection, nint hostMemory, HostPages pages)
        => MapMemory(guestAddress, length, protection, hostMemory);
    void UnmapMemory(ulong guestAddress, ulong length);
    void ProtectMemory(ulong guestAddress, ulong length, MemoryProtection protection);

    /// <summary>
    /// Makes the program counter of a memory fault exact (a handler that skips the faulting
    /// instruction needs it). Costs speed on Unicorn, so the kernel asks for it only when a guest
    /// catches SIGSEGV or SIGBUS.
    /// </summary>
    void RequestPreciseFaults() { }

    /// <summary>Runs guest code from the instruction pointer until an event.</summary>
    CpuEvent Run();

    /// <summary>
    /// Asks a running CPU to stop. Safe from inside an event and from any other host thread (the
    /// preemption timer); a request while the CPU is not running is dropped. From inside an event the
    /// stop is always at an instruction boundary; from another thread only after
    /// <see cref="EnablePreciseStops"/>.
    /// </summary>
    void RequestStop();

    /// <summary>
    /// From the next run on, stops asked from other host threads land between instructions, never
    /// inside one. It costs the engine a check per block of guest code, so the kernel asks for it
    /// only once something may need to stop a running thread (a second thread, a timer).
    /// </summary>
    void EnablePreciseStops();

    /// <summary>
    /// From now until the next <see cref="Run"/> starts, a <see cref="RequestStop"/> is kept, not
    /// dropped, and ends that run before its first instruction: for a kernel that lets go of its run
    /// lock between deciding to run a thread and running it. Needs <see cref="EnablePreciseStops"/>;
    /// false when this CPU cannot keep a stop.
    /// </summary>
    bool KeepStopRequests() => false;

    /// <summary>Drops translated code, e.g. after guest code pages change or a new program is loaded.</summary>
    void FlushTranslations();
}

/// <summary>
/// Guest progress counted by the engine (translation blocks run, over every CPU of a platform): the
/// clock of a deterministic run. A run stops at the start of the block that reaches <see cref="Limit"/>.
/// Counting costs a call per block, so it starts only when something first needs it (<see cref="Start"/>);
/// until then <see cref="Executed"/> stays 0.
/// </summary>
public interface IExecutionCounter
{
    ulong Executed { get; }
    ulong Limit { get; set; }

    /// <summary>Every CPU of the platform counts from its next run on (called from a system call or between runs: the same point in every run).</summary>
    void Start();
}

/// <summary>Where guest code runs: the kernel is handed one and asks it for CPUs; it never builds an engine itself.</summary>
public interface IPlatform
{
    string Name { get; }

    /// <summary>The platform's progress counter, when it was built to count (deterministic runs); null otherwise.</summary>
    IExecutionCounter? Counter => null;

    /// <summary>A new CPU with no memory mapped, its registers at their reset values (x86-64 unless asked otherwise).</summary>
    ICpu CreateCpu(ICpuEvents events, CpuArchitecture architecture = CpuArchitecture.X86_64);
}
