using System.Diagnostics;
using Trapeze.Kernel.Host;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// How a guest thread waits for the run lock to be handed to it: it spins a while, because the holder
/// of the lock usually lets go within microseconds (a system call), then sleeps on a futex. Spinning
/// with pause, never sched_yield: a yield gives the core to any other host process, and the lock then
/// waits for this thread to come back. One thread takes it, and the scheduler gives it at most once
/// per take.
/// </summary>
internal sealed unsafe class Baton
{
    private const int Empty = 0, Given = 1, Sleeping = 2;
    private const int FutexWaitPrivate = 128, FutexWakePrivate = 129;
    private static readonly int Futex = HostSyscall.Number("futex");

    /// <summary>How long a taker spins before it sleeps.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 50_000;

    // On the pinned heap: the futex word's address never moves.
    private readonly int[] word = GC.AllocateArray<int>(1, pinned: true);

    /// <summary>Hands the lock to the taker, waking it if it sleeps.</summary>
    public void Give()
    {
        if (Interlocked.Exchange(ref word[0], Given) == Sleeping)
        {
            fixed (int* address = word)
                HostSyscall.Invoke(Futex, (long)address, FutexWakePrivate, 1);
        }
    }

    /// <summary>Waits until <see cref="Give"/> (which may have come already).</summary>
    public void Take()
    {
        if (!Spin())
        {
            fixed (int* address = word)
            {
                while (Interlocked.CompareExchange(ref word[0], Sleeping, Empty) != Given)
                    HostSyscall.Invoke(Futex, (long)address, FutexWaitPrivate, Sleeping);
            }
        }
        Volatile.Write(ref word[0], Empty);
    }

    private bool Spin()
    {
        var until = Stopwatch.GetTimestamp() + SpinTicks;
        do
        {
            for (var i = 0; i < 64; i++)
            {
                if (Volatile.Read(ref word[0]) == Given)
                    return true;
                Thread.SpinWait(4);
            }
        }
        while (Stopwatch.GetTimestamp() < until);
        return false;
    }
}
