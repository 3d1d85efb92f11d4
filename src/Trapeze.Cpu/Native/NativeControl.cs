namespace Trapeze.Cpu.Native;

/// <summary>
/// The shared control region between Trapeze and its child (Native/stub/native-stub.c has the same
/// layout): the manager's page first, then one 64 KiB slot per guest thread (its shared page, the
/// stack it starts on and the alternate stack its signal handler runs on).
/// </summary>
internal static unsafe class NativeControl
{
    /// <summary>Where the child keeps its own code and the control region; no guest memory may go here.</summary>
    public const ulong ReservedStart = 0x6ff0_0000_0000, ReservedEnd = 0x6ff2_0000_0000;
    public const ulong ControlBase = 0x6ff1_0000_0000;
    public const ulong SlotSize = 0x10000;
    public const int MaximumThreads = 256;
    public const ulong Length = SlotSize * (MaximumThreads + 1);

    // struct slot
    public const int State = 0, Event = 4, Answer = 8, Dirty = 12, Tid = 16, Signal = 20, Code = 24, Running = 28;
    public const int Address = 32, Syscall = 40, FsBase = 48, GsBase = 56, Gregs = 64, Starting = 248, Fxsave = 320;

    // struct manager
    public const int Command = 4, Result = 8, Arguments = 16, Ready = 68;

    public const uint StateIdle = 0, StateEvent = 1, StateAnswer = 2;
    public const uint EventSyscall = 1, EventFault = 2, EventStop = 3, EventStart = 4;
    public const uint AnswerResume = 1, AnswerExit = 2;
    public const uint DirtyFloatingPoint = 1, DirtyFs = 2, DirtyGs = 4;
    public const uint CommandMap = 1, CommandUnmap = 2, CommandProtect = 3, CommandThread = 4;

    /// <summary>The host signal that stops a thread running guest code (SIGUSR1 in the child).</summary>
    public const int StopSignal = 10;

    // mcontext_t.gregs indices
    public const int R8 = 0, Rdi = 8, Rsi = 9, Rbp = 10, Rbx = 11, Rdx = 12, Rax = 13, Rcx = 14, Rsp = 15, Rip = 16, Eflags = 17, Error = 19, TrapNumber = 20;

    public static int GregIndex(X64Register register) => register switch
    {
        X64Register.Rax => Rax,
        X64Register.Rbx => Rbx,
        X64Register.Rcx => Rcx,
        X64Register.Rdx => Rdx,
        X64Register.Rsi => Rsi,
        X64Register.Rdi => Rdi,
        X64Register.Rbp => Rbp,
        X64Register.Rsp => Rsp,
        >= X64Register.R8 and <= X64Register.R15 => R8 + (register - X64Register.R8),
        X64Register.Rip => Rip,
        X64Register.Rflags => Eflags,
        _ => -1,
    };
}
