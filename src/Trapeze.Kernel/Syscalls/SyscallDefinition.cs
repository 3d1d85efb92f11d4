using System.Diagnostics.CodeAnalysis;
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
public sealed record SyscallParameter(
    string Name,
    [param: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields)]
    [property: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields)]
    Type Type,
    ArgumentKind Kind = ArgumentKind.Default,
    Direction Direction = Direction.In,
    int SizeFrom = SyscallParameter.NoSize,
    bool Hex = false)
{
    /// <summary>Print an integer parameter as this generated enum (its type stays what the handler needs).</summary>
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields)]
    public Type? Enum { get; init; }

    /// <summary>The index of the parameter that decides whether this one is printed, or -1.</summary>
    public int ShownIf { get; init; } = -1;

    /// <summary>This parameter is printed only when <see cref="ShownIf"/> has one of these bits.</summary>
    public long ShownIfAny { get; init; }

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
