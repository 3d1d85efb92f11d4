namespace Trapeze.Kernel.Syscalls;

/// <summary>How completely Trapeze implements a system call.</summary>
public enum Support
{
    /// <summary>Behaves as the guest's kernel documents it.</summary>
    Full,
    /// <summary>Works for common uses; the note says what is missing.</summary>
    Partial,
    /// <summary>Returns an error by design (ENOSYS unless the note says otherwise).</summary>
    Unsupported,
}

/// <summary>
/// Declares a system call handler. The source generator in Trapeze.Generators binds it to the
/// personality tables, decodes its parameters from the argument registers by their types and
/// records them for the tracer.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class SyscallAttribute(string name) : Attribute
{
    public string Name { get; } = name;
    /// <summary>
    /// Required, and checked by the generator (TRAPEZE002): no level is assumed, Full least of all.
    /// Full means every flag and errno of the man page is handled.
    /// </summary>
    public Support Support { get; init; } = (Support)(-1);
    public string Note { get; init; } = "";

    /// <summary>How the tracer prints the result.</summary>
    public ResultKind Returns { get; init; } = ResultKind.Decimal;
}
