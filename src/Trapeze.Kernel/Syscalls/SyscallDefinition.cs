using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>The six raw argument registers of a system call, in the order the ABI numbers them.</summary>
public struct SyscallArguments
{
    public ulong Arg0, Arg1, Arg2, Arg3, Arg4, Arg5;

    public readonly ulong this[int index] => index switch
    {
        0 => Arg0,
        1 => Arg1,
        2 => Arg2,
        3 => Arg3,
        4 => Arg4,
        5 => Arg5,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };
}

public delegate Result SyscallHandler(GuestThread thread, in SyscallArguments arguments);

/// <summary>
/// A declared parameter of a handler: its name, C# type and <see cref="ArgumentAttribute"/>, which the
/// tracer formats by. <paramref name="SizeFrom"/> is the index of the parameter holding the length,
/// <see cref="SizeFromResult"/> for the result, or <see cref="NoSize"/>.
/// </summary>
public sealed record SyscallParameter(string Name, Type Type, ArgumentKind Kind = ArgumentKind.Default,
    Direction Direction = Direction.In, int SizeFrom = SyscallParameter.NoSize, bool Hex = false)
{
    public const int NoSize = -2;
    public const int SizeFromResult = -1;
}

/// <summary>One system call as declared with <see cref="SyscallAttribute"/>; produced by the generator.</summary>
public sealed record SyscallDefinition(
    string Name,
    Support Support,
    string Note,
    string Handler,
    SyscallHandler Invoke,
    SyscallParameter[] Parameters,
    ResultKind Returns = ResultKind.Decimal);
