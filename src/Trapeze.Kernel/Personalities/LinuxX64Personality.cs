using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Personalities;

/// <summary>
/// Linux on x86-64: number in RAX, arguments in RDI RSI RDX R10 R8 R9, result or -errno in RAX.
/// Like the hardware, every syscall leaves RCX = the next instruction and R11 = RFLAGS;
/// all other registers are preserved.
/// </summary>
public sealed class LinuxX64Personality : IPersonality
{
    private readonly SyscallDefinition?[] byNumber;
    private readonly string[] names;

    public LinuxX64Personality()
    {
        var declared = SyscallCatalog.Definitions.ToDictionary(d => d.Name);
        var size = LinuxX64SyscallNumbers.All.Max(e => e.Number) + 1;
        byNumber = new SyscallDefinition?[size];
        names = new string[size];
        var table = new List<(string, int, SyscallDefinition?)>();
        foreach (var (name, number) in LinuxX64SyscallNumbers.All)
        {
            var definition = declared.GetValueOrDefault(name);
            byNumber[number] = definition;
            names[number] = name;
            table.Add((name, number, definition));
        }
        Table = table;
    }

    public string Name => "linux-x86_64";

    public IReadOnlyList<(string Name, int Number, SyscallDefinition? Definition)> Table { get; }

    public string NameOf(ulong number) => number < (ulong)names.Length && names[number] is { } name ? name : $"syscall_{number}";

    public void OnSyscall(GuestThread thread, ICpu cpu, ulong nextInstruction)
    {
        Span<ulong> entry = stackalloc ulong[EntryRegisters.Length];
        cpu.ReadRegisters(EntryRegisters, entry);
        var number = entry[0];
        var arguments = new SyscallArguments
        {
            Arg0 = entry[1],
            Arg1 = entry[2],
            Arg2 = entry[3],
            Arg3 = entry[4],
            Arg4 = entry[5],
            Arg5 = entry[6],
        };
        var definition = number < (ulong)byNumber.Length ? byNumber[number] : null;
        thread.NextInstruction = nextInstruction;
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
            arguments = call.Arguments;
            result = call.Result;
            trace = call;
        }
        if (result.IsFinished)
        {
            Finish(thread, cpu, result, nextInstruction, entry[7], trace);
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
                Flags = entry[7],
                Wait = wait,
                Trace = trace,
            };
        }
        else
        {
            Complete(thread, cpu, result, nextInstruction, entry[7], trace, number);
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
        Complete(thread, cpu, result, call.NextInstruction, call.Flags, call.Trace, call.Number);
        // Outside the engine the next run starts from RIP, which must be past the syscall.
        if (result.Control is null or Restart)
            cpu.WriteRegister(X64Register.Rip, call.NextInstruction);
    }

    /// <summary>A call ended in something other than a wait: a value, an exec, a vanished thread, or an interruption.</summary>
    private void Complete(GuestThread thread, ICpu cpu, Result result, ulong nextInstruction, ulong flags, SyscallCall? trace, ulong number)
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
                        _ => 516L,
                    });
                    thread.Kernel.Tracer?.Exit(thread, ref interrupted);
                }
                Finish(thread, cpu, Errno.EINTR, nextInstruction, flags, null);
                if (!thread.Killed)
                    thread.InterruptedCall = (restart.Rule, number, nextInstruction - 2);
                break;
            case SignalReturnOutcome:
                if (trace is { } returned)
                {
                    returned.Result = result.Raw;
                    thread.Kernel.Tracer?.Exit(thread, ref returned);
                }
                thread.CallFinished();
                thread.SignalReturnPending = true;
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

    private void Finish(GuestThread thread, ICpu cpu, Result result, ulong nextInstruction, ulong flags, SyscallCall? trace)
    {
        if (trace is { } call)
        {
            call.Result = result;
            thread.Kernel.Tracer?.Exit(thread, ref call);
            result = call.Result;
        }
        thread.CallFinished();
        if (thread.Killed)
            return;
        // RFLAGS as read on entry: no handler changes the flags of the thread that called it.
        ReadOnlySpan<ulong> exit = [(ulong)result.Raw, nextInstruction, flags];
        cpu.WriteRegisters(ExitRegisters, exit);
    }

    // One engine call each way per syscall: number and arguments (and RFLAGS for R11) in, RAX RCX R11 out.
    private static ReadOnlySpan<X64Register> EntryRegisters =>
        [X64Register.Rax, X64Register.Rdi, X64Register.Rsi, X64Register.Rdx, X64Register.R10, X64Register.R8, X64Register.R9, X64Register.Rflags];

    private static ReadOnlySpan<X64Register> ExitRegisters => [X64Register.Rax, X64Register.Rcx, X64Register.R11];

    /// <summary>Runs the handler. Anything it throws is a Trapeze bug: one line for the user, SIGSYS for the guest.</summary>
    private Result Dispatch(GuestThread thread, ulong number, SyscallDefinition? definition, in SyscallArguments arguments)
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
