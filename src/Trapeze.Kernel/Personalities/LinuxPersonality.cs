using Trapeze.Cpu;
using Trapeze.Kernel.Abi;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// What every Linux personality shares: the number table bound to the declared handlers (by name, with
/// the personality's aliases such as fstat64 -> fstat), dispatch with the tracer, and how a call ends.
/// A subclass says where number and arguments arrive and how the result leaves.
/// </summary>
public abstract class LinuxPersonality : IPersonality
{
    private protected readonly SyscallDefinition?[] byNumber;
    private readonly string[] names;

    /// <param name="numbers">The kernel's table for this ABI (generated).</param>
    /// <param name="aliases">Table names served by a handler declared under another name, e.g. the *64 and *32 variants of 32-bit ABIs.</param>
    /// <param name="bind">Another OS's ABI: which handler serves a table name (null: none), wrapped in its translations.</param>
    private protected LinuxPersonality((string Name, int Number)[] numbers, IReadOnlyDictionary<string, string>? aliases = null,
        Func<string, SyscallDefinition?, SyscallDefinition?>? bind = null)
    {
        var declared = SyscallCatalog.Definitions.ToDictionary(d => d.Name);
        // Private calls (ARM's 0x0f0000 range) sit far above the table: they live in a side map.
        var size = numbers.Where(e => e.Number < 0x10000).Max(e => e.Number) + 1;
        byNumber = new SyscallDefinition?[size];
        names = new string[size];
        var table = new List<(string, int, SyscallDefinition?)>();
        foreach (var (name, number) in numbers)
        {
            var handlerName = aliases?.GetValueOrDefault(name) ?? name;
            var definition = declared.GetValueOrDefault(handlerName);
            if (definition is not null && handlerName != name)
                definition = definition with { Name = name };
            if (bind is not null)
                definition = bind(name, definition);
            if (number < size)
            {
                byNumber[number] = definition;
                names[number] = name;
            }
            else
            {
                privateCalls[(ulong)number] = (name, definition);
            }
            table.Add((name, number, definition));
        }
        Table = table;
    }

    private readonly Dictionary<ulong, (string Name, SyscallDefinition? Definition)> privateCalls = [];

    public abstract string Name { get; }
    public abstract CpuArchitecture Architecture { get; }
    public abstract LinuxStructures Structures { get; }
    public abstract AddressLayout Layout { get; }
    public abstract string Platform { get; }
    public abstract ulong HardwareCapabilities { get; }
    public virtual ISignalFrames? SignalFrames => null;

    public IReadOnlyList<(string Name, int Number, SyscallDefinition? Definition)> Table { get; }

    /// <summary>The number of the call named <paramref name="name"/> in this ABI's table (ulong.MaxValue when it has none).</summary>
    private protected ulong NumberOf(string name) => (ulong)(long)Array.IndexOf(names, name);

    public string NameOf(ulong number)
    {
        if (number < (ulong)names.Length && names[number] is { } name)
            return name;
        return privateCalls.TryGetValue(number, out var call) ? call.Name : $"syscall_{number}";
    }

    private protected SyscallDefinition? Find(ulong number)
        => number < (ulong)byNumber.Length ? byNumber[number] : privateCalls.GetValueOrDefault(number).Definition;

    public abstract void OnSyscall(GuestThread thread, ICpu cpu, ulong nextInstruction);

    public virtual bool OnInterrupt(GuestThread thread, ICpu cpu, int number) => false;

    public virtual bool ServedOutsideKernel(GuestThread thread, ICpu cpu, ulong nextInstruction) => false;

    /// <summary>
    /// x86 (both word sizes): the registers of <see cref="ClearedAtStart"/> zero, the floating-point state
    /// Linux starts a program with (exceptions masked, round to nearest), the stack and the entry point.
    /// </summary>
    public virtual void StartProgram(ICpu cpu, ulong entry, ulong stackPointer)
    {
        foreach (var register in ClearedAtStart)
            cpu.WriteRegister(register, 0);
        cpu.WriteRegister(X64Register.Mxcsr, 0x1f80);
        cpu.WriteRegister(X64Register.X87Control, 0x37f);
        cpu.WriteRegister(X64Register.Rsp, stackPointer);
        cpu.WriteRegister(X64Register.Rip, entry);
        cpu.WriteRegister(X64Register.Rflags, 0x202);
    }

    /// <summary>The general registers of the ABI, which a new program finds zero and a forked child copies.</summary>
    private protected virtual IReadOnlyList<X64Register> ClearedAtStart => [];

    /// <summary>
    /// x86: a thread of the same address space starts from the caller's saved context; a forked child's
    /// new CPU gets the caller's registers (<see cref="ClearedAtStart"/> and the control registers) and
    /// the ABI's extra state (<see cref="CopyForkState"/>). Either returns 0 at <paramref name="resumeAt"/>.
    /// </summary>
    public virtual void StartChild(GuestThread parent, GuestThread child, ulong resumeAt, ulong stack, ulong? tls)
    {
        var cpu = parent.Process.Cpu;
        if (child.Process.Cpu == cpu)
        {
            child.Context = cpu.CopyContext();
        }
        else
        {
            foreach (var register in ClearedAtStart)
                child.SetStartRegister(register, cpu.ReadRegister(register));
            foreach (var register in (ReadOnlySpan<X64Register>)[X64Register.Rsp, X64Register.Rip, X64Register.Rflags, X64Register.Mxcsr, X64Register.X87Control])
                child.SetStartRegister(register, cpu.ReadRegister(register));
            CopyForkState(cpu, child);
        }
        child.SetStartRegister(X64Register.Rax, 0);
        child.SetStartRegister(X64Register.Rip, resumeAt);
        if (stack != 0)
            child.SetStartRegister(X64Register.Rsp, stack);
        if (tls is { } pointer)
            SetThreadPointer(parent, child, pointer);
    }

    /// <summary>What else a forked child's CPU copies from the caller's (segment bases, TLS descriptors).</summary>
    private protected virtual void CopyForkState(ICpu cpu, GuestThread child)
    {
    }

    /// <summary>CLONE_SETTLS: the child's thread pointer from clone's tls argument.</summary>
    private protected virtual void SetThreadPointer(GuestThread parent, GuestThread child, ulong tls)
    {
    }

    /// <summary>Writes the syscall's result (or -errno) where the ABI returns it, and whatever else the ABI's return leaves.</summary>
    private protected abstract void WriteResult(ICpu cpu, long value, ulong nextInstruction, ulong flags);

    /// <summary>The syscall instruction's length: a restarted call runs it again (x86 syscall and int 0x80: 2 bytes).</summary>
    private protected virtual ulong SyscallInstructionLength => 2;

    /// <summary>After a call finished outside the engine, the next run starts past the syscall instruction.</summary>
    private protected abstract void ContinueAt(ICpu cpu, ulong nextInstruction);

    /// <summary>The common path of a call whose arguments are decoded: tracer, handler, result or block.</summary>
    private protected void Serve(GuestThread thread, ICpu cpu, ulong number, SyscallDefinition? definition, SyscallArguments arguments, ulong nextInstruction, ulong flags)
    {
        thread.NextInstruction = nextInstruction;
        if (thread.Kernel.Supervisor is { } supervisor)
        {
            if (supervisor.StopAtSyscall(thread, (int)number, entry: true))
            {
                // Stopped before the call: it runs when the thread resumes, from the same instruction.
                thread.RepeatSyscallAt = nextInstruction - SyscallInstructionLength;
                cpu.RequestStop();
                return;
            }
            ServeSupervised(thread, cpu, number, definition, arguments, nextInstruction, flags, supervisor);
            return;
        }
        ServeCall(thread, cpu, number, definition, arguments, nextInstruction, flags);
    }

    private void ServeSupervised(GuestThread thread, ICpu cpu, ulong number, SyscallDefinition? definition, SyscallArguments arguments, ulong nextInstruction, ulong flags, ISupervisor supervisor)
    {
        ServeCall(thread, cpu, number, definition, arguments, nextInstruction, flags);
        if (thread.Blocked is null && supervisor.StopAtSyscall(thread, (int)number, entry: false))
            cpu.RequestStop();
    }

    private void ServeCall(GuestThread thread, ICpu cpu, ulong number, SyscallDefinition? definition, SyscallArguments arguments, ulong nextInstruction, ulong flags)
    {
        var tracer = thread.Kernel.Tracer;
        SyscallCall? trace = null;
        Result result;
        if (tracer is null)
        {
            result = Dispatch(thread, number, definition, arguments);
        }
        else
        {
            var call = new SyscallCall { Name = NameOf(number), Number = (int)number, Definition = definition, Arguments = arguments };
            tracer.Enter(thread, ref call);
            if (!call.Blocked)
                call.Result = Dispatch(thread, number, definition, call.Arguments);
            if (call.Result.IsFinished)
            {
                // The common case, kept free of copies of the call (a struct with references: each copy costs write barriers).
                FinishTraced(thread, cpu, tracer, ref call, nextInstruction, flags);
                return;
            }
            arguments = call.Arguments;
            result = call.Result;
            trace = call;
        }
        if (result.IsFinished)
        {
            Finish(thread, cpu, result, nextInstruction, flags, trace);
            return;
        }
        if (result.Control is Wait wait)
        {
            thread.Blocked = new BlockedSyscall
            {
                Number = number,
                Definition = definition,
                Arguments = arguments,
                NextInstruction = nextInstruction,
                Flags = flags,
                Wait = wait,
                Trace = trace,
            };
        }
        else
        {
            Complete(thread, cpu, result, nextInstruction, flags, trace, number, arguments.Arg0);
        }
        // The rest happens in the thread's run loop, outside the engine.
        cpu.RequestStop();
    }

    public void Resume(GuestThread thread, ICpu cpu, BlockedSyscall call)
    {
        var result = Dispatch(thread, call.Number, call.Definition, call.Arguments);
        if (result.Control is Wait wait)
        {
            call.Wait = wait;
            return;
        }
        Complete(thread, cpu, result, call.NextInstruction, call.Flags, call.Trace, call.Number, call.Arguments.Arg0);
        // Outside the engine the next run starts from the program counter, which must be past the syscall.
        if (result.Control is null or Restart)
            ContinueAt(cpu, call.NextInstruction);
        thread.Kernel.Supervisor?.StopAtSyscall(thread, (int)call.Number, entry: false);
    }

    /// <summary>A call ended in something other than a wait: a value, an exec, a vanished thread, or an interruption.</summary>
    private protected void Complete(GuestThread thread, ICpu cpu, Result result, ulong nextInstruction, ulong flags, SyscallCall? trace, ulong number, ulong firstArgument)
    {
        switch (result.Control)
        {
            case null:
                Finish(thread, cpu, result, nextInstruction, flags, trace);
                break;
            case Restart restart:
                // EINTR for now; on the way back to user space the signal's disposition may restart the call.
                // The tracer sees the kernel's restart code, as strace does.
                if (trace is { } interrupted)
                {
                    interrupted.Result = -(restart.Rule switch
                    {
                        RestartRule.UnlessHandlerWithoutRestartFlag => 512L,
                        RestartRule.OnlyWithoutHandler => 514L,
                        RestartRule.RestartBlock => 516L,
                        _ => (long)Errno.EINTR,
                    });
                    thread.Kernel.Tracer?.Exit(thread, ref interrupted);
                }
                Finish(thread, cpu, Errno.EINTR, nextInstruction, flags, null);
                if (!thread.Killed)
                    thread.InterruptedCall = new InterruptedCall(restart.Rule, number, nextInstruction - SyscallInstructionLength, firstArgument);
                break;
            case SignalReturnOutcome signalReturn:
                if (trace is { } returned)
                {
                    returned.Result = result.Raw;
                    thread.Kernel.Tracer?.Exit(thread, ref returned);
                }
                thread.CallFinished();
                thread.SignalReturnPending = signalReturn.Kind;
                break;
            case ExecRequest exec:
                // The new program replaces every register; to the tracer execve returned 0.
                if (trace is { } call)
                {
                    call.Result = 0;
                    thread.Kernel.Tracer?.Exit(thread, ref call);
                }
                thread.CallFinished();
                thread.PendingExec = exec;
                break;
            default:
                // A thread that is gone has nothing to return to; strace still ends its line ("= ?").
                if (trace is { } ended)
                {
                    ended.Result = 0;
                    thread.Kernel.Tracer?.Exit(thread, ref ended);
                }
                thread.CallFinished();
                break;
        }
    }

    private protected void Finish(GuestThread thread, ICpu cpu, Result result, ulong nextInstruction, ulong flags, SyscallCall? trace)
    {
        if (trace is { } call && thread.Kernel.Tracer is { } tracer)
        {
            call.Result = result;
            FinishTraced(thread, cpu, tracer, ref call, nextInstruction, flags);
            return;
        }
        thread.CallFinished();
        if (thread.Killed)
            return;
        WriteResult(cpu, result.Raw, nextInstruction, flags);
    }

    /// <summary>The tracer sees the result (and may change it) before the guest does.</summary>
    private void FinishTraced(GuestThread thread, ICpu cpu, ISyscallTracer tracer, ref SyscallCall call, ulong nextInstruction, ulong flags)
    {
        tracer.Exit(thread, ref call);
        thread.CallFinished();
        if (thread.Killed)
            return;
        WriteResult(cpu, call.Result.Raw, nextInstruction, flags);
    }

    /// <summary>Runs the handler. Anything it throws is a Trapeze bug: one line for the user, SIGSYS for the guest.</summary>
    private protected Result Dispatch(GuestThread thread, ulong number, SyscallDefinition? definition, in SyscallArguments arguments)
    {
        if (definition is null)
        {
            thread.Kernel.ReportUnsupported(NameOf(number), "");
            return Errno.ENOSYS;
        }
        if (definition.Support == Support.Unsupported)
            thread.Kernel.ReportUnsupported(definition.Name, definition.Note);
        try
        {
            return definition.Invoke(thread, arguments);
        }
        catch (Exception exception)
        {
            thread.Kernel.ReportInternalError(thread, definition.Name, exception);
            return Result.ThreadGone;
        }
    }
}
