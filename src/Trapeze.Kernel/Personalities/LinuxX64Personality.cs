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
        var number = cpu.ReadRegister(X64Register.Rax);
        var arguments = new SyscallArguments
        {
            Arg0 = cpu.ReadRegister(X64Register.Rdi),
            Arg1 = cpu.ReadRegister(X64Register.Rsi),
            Arg2 = cpu.ReadRegister(X64Register.Rdx),
            Arg3 = cpu.ReadRegister(X64Register.R10),
            Arg4 = cpu.ReadRegister(X64Register.R8),
            Arg5 = cpu.ReadRegister(X64Register.R9),
        };
        var definition = number < (ulong)byNumber.Length ? byNumber[number] : null;
        var tracer = thread.Kernel.Tracer;
        var result = tracer is null
            ? Dispatch(thread, number, definition, arguments)
            : DispatchTraced(tracer, thread, number, definition, arguments);
        // execve replaced every register, and a process that exited has none to return to.
        if (result.Raw == ExecSucceeded || thread.Process.Exit is not null)
            return;
        cpu.WriteRegister(X64Register.Rax, (ulong)result.Raw);
        cpu.WriteRegister(X64Register.Rcx, nextInstruction);
        cpu.WriteRegister(X64Register.R11, cpu.ReadRegister(X64Register.Rflags));
    }

    private Result Dispatch(GuestThread thread, ulong number, SyscallDefinition? definition, in SyscallArguments arguments)
    {
        if (definition is null)
        {
            thread.Kernel.ReportUnsupported(NameOf(number), "");
            return Errno.ENOSYS;
        }
        if (definition.Support == Support.Unsupported)
            thread.Kernel.ReportUnsupported(definition.Name, definition.Note);
        return definition.Invoke(thread, arguments);
    }

    /// <summary>The tracer's hooks around the call: they may rewrite the arguments, block the call or change its result.</summary>
    private Result DispatchTraced(ISyscallTracer tracer, GuestThread thread, ulong number, SyscallDefinition? definition, in SyscallArguments arguments)
    {
        var call = new SyscallCall { Name = NameOf(number), Number = (int)number, Definition = definition, Arguments = arguments };
        tracer.Enter(thread, ref call);
        if (!call.Blocked)
            call.Result = Dispatch(thread, number, definition, call.Arguments);
        tracer.Exit(thread, ref call);
        return call.Result;
    }

    /// <summary>What a successful execve returns to the personality: the new image set every register.</summary>
    public const long ExecSucceeded = long.MinValue;
}
