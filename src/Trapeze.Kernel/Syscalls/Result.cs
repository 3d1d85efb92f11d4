namespace Trapeze.Kernel.Syscalls;

/// <summary>What a system call returns: a value, or an <see cref="Errno"/>. Personalities encode it.</summary>
public readonly record struct Result
{
    private readonly long value;

    private Result(long value) => this.value = value;

    public bool IsError => value < 0 && value >= -4095;
    public Errno Error => IsError ? (Errno)(-value) : Errno.None;

    /// <summary>The value as the Linux ABI puts it in the result register (-errno on failure).</summary>
    public long Raw => value;

    public static Result Success(long value) => new(value);
    public static Result Failure(Errno errno) => new(-(long)errno);

    public static implicit operator Result(Errno errno) => Failure(errno);
    public static implicit operator Result(long value) => new(value);
    public static implicit operator Result(ulong value) => new((long)value);
    public static implicit operator Result(int value) => new(value);
    public static implicit operator Result(uint value) => new(value);

    public override string ToString() => IsError ? $"-1 {Error}" : value.ToString();
}
