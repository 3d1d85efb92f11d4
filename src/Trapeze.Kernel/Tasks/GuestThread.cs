using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Tasks;

/// <summary>A guest thread (a Linux task): the unit that makes system calls.</summary>
public sealed class GuestThread(Process process, int id)
{
    public Process Process { get; } = process;
    public int Id { get; } = id;
    public Kernel Kernel => Process.Kernel;
    public GuestMemory Memory => Process.Memory;

    /// <summary>set_tid_address: cleared and futex-woken when the thread exits.</summary>
    public GuestAddress ClearChildTid { get; set; }

    /// <summary>set_robust_list: head of the robust futex list.</summary>
    public GuestAddress RobustList { get; set; }

    /// <summary>Blocked signals, bit (n-1) for signal n.</summary>
    public ulong SignalMask { get; set; }

    /// <summary>sigaltstack: the raw stack_t, or null when none is set.</summary>
    public byte[]? AlternateStack { get; set; }
}
