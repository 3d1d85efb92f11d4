using System.Diagnostics;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// A host thread's turn at the run lock, given to it by the thread that had the lock. The waiter
/// first spins on a flag: between a server and its client in one Trapeze, each holds the lock for
/// a few microseconds at a time, and a waiter asleep on the host would take as long again to wake
/// (a SemaphoreSlim's own spin calls sched_yield, a system call, between looks). Only then does it
/// sleep. One <see cref="Give"/> answers one <see cref="Wait"/>.
/// </summary>
public sealed class Baton
{
    private int given;
    private int sleeping;
    private readonly SemaphoreSlim sleeper = new(0);

    /// <summary>How long a waiter spins before it sleeps; no spin on a single CPU, where the giver needs it.</summary>
    private static readonly long SpinTicks = Environment.ProcessorCount > 1 ? Stopwatch.Frequency * 20 / 1_000_000 : 0;

    public void Give()
    {
        Interlocked.Exchange(ref given, 1);
        if (Interlocked.Exchange(ref sleeping, 0) == 1)
            sleeper.Release();
    }

    public void Wait()
    {
        if (SpinTicks > 0)
        {
            var until = Stopwatch.GetTimestamp() + SpinTicks;
            do
            {
                if (Volatile.Read(ref given) == 1 && Interlocked.CompareExchange(ref given, 0, 1) == 1)
                    return;
                Thread.SpinWait(8);
            }
            while (Stopwatch.GetTimestamp() < until);
        }
        while (true)
        {
            // Announced before the last look at the flag: a Give after it sees the sleeper and wakes it.
            Interlocked.Exchange(ref sleeping, 1);
            if (Interlocked.CompareExchange(ref given, 0, 1) == 1)
            {
                // A Give between the two saw the sleeper: its wake-up is taken here, so none is left over.
                if (Interlocked.Exchange(ref sleeping, 0) == 0)
                    sleeper.Wait();
                return;
            }
            sleeper.Wait();
        }
    }
}
