namespace Trapeze.Kernel.Memory;

/// <summary>A pointer into guest memory, as passed in a syscall argument.</summary>
public readonly record struct GuestAddress(ulong Value)
{
    public bool IsNull => Value == 0;
    public static GuestAddress operator +(GuestAddress address, ulong offset) => new(address.Value + offset);
    public static GuestAddress operator +(GuestAddress address, long offset) => new(address.Value + (ulong)offset);
    public override string ToString() => IsNull ? "NULL" : $"0x{Value:x}";
}

/// <summary>A pointer to a NUL-terminated string (a path, a name) in guest memory.</summary>
public readonly record struct CString(ulong Value)
{
    public GuestAddress Address => new(Value);
    public bool IsNull => Value == 0;
}
