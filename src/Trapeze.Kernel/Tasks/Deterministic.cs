using Trapeze.Cpu;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// The clock of a deterministic run (--deterministic): it starts at a fixed epoch and moves with the
/// guest's progress (blocks of guest code the platform counted), with every reading, and with the
/// sleeps that virtual time skips over, never with the host's time. Progress is counted from the
/// first reading on: the code run before it moved no clock anyone saw.
/// </summary>
public sealed class VirtualClock(IExecutionCounter counter) : KernelClock
{
    /// <summary>CLOCK_REALTIME starts at 2000-01-01 00:00:00 UTC; CLOCK_MONOTONIC at 1000 s of uptime.</summary>
    public const long RealtimeEpoch = 946_684_800L * 1_000_000_000, MonotonicEpoch = 1000L * 1_000_000_000;

    /// <summary>Guest time a translation block and a clock reading take.</summary>
    public const long NanosecondsPerBlock = 10, NanosecondsPerReading = 100;

    private long skipped, readings;

    private long Elapsed => Progress + readings++ * NanosecondsPerReading + skipped;

    private long Progress
    {
        get
        {
            counter.Start();
            return (long)counter.Executed * NanosecondsPerBlock;
        }
    }

    public override long Monotonic => MonotonicEpoch + Elapsed;

    public override long Realtime => RealtimeEpoch + Elapsed;

    public override long ProcessorTime => Progress;

    /// <summary>A sleep to <paramref name="deadline"/> (monotonic) passes at once: time jumps there.</summary>
    public void SkipTo(long deadline)
    {
        var now = MonotonicEpoch + Progress + readings * NanosecondsPerReading + skipped;
        if (deadline > now)
            skipped += deadline - now;
    }
}

/// <summary>getrandom, AT_RANDOM and /dev/urandom of a deterministic run: SplitMix64 from the seed.</summary>
public sealed class SeededRandom(ulong seed) : KernelRandom
{
    private ulong state = seed;

    public override void Fill(Span<byte> buffer)
    {
        for (var i = 0; i < buffer.Length; i += 8)
        {
            state += 0x9e37_79b9_7f4a_7c15;
            var z = state;
            z = (z ^ (z >> 30)) * 0xbf58_476d_1ce4_e5b9;
            z = (z ^ (z >> 27)) * 0x94d0_49bb_1331_11eb;
            z ^= z >> 31;
            for (var j = 0; j < 8 && i + j < buffer.Length; j++)
                buffer[i + j] = (byte)(z >> (8 * j));
        }
    }
}

/// <summary>
/// Scheduling by guest progress: each thread runs a slice of <see cref="Slice"/> blocks while others
/// wait, then goes to the back of the run queue; the wall-clock preemption timer is off. Slices
/// need no counting while one thread runs alone: its progress stays 0 until a second thread starts
/// the counter (<see cref="ICpu.EnablePreciseStops"/>) or the clock does.
/// </summary>
public sealed class DeterministicScheduling(IExecutionCounter counter)
{
    public const ulong Slice = 200_000;

    private GuestThread? owner;

    public IExecutionCounter Counter => counter;

    /// <summary>Before a run: a thread that newly has the CPU gets a fresh slice.</summary>
    internal void BeforeRun(GuestThread thread)
    {
        if (owner == thread && counter.Executed < counter.Limit)
            return;
        owner = thread;
        counter.Limit = counter.Executed + Slice;
    }

    /// <summary>After a run: true when the slice is used up and the thread should yield.</summary>
    internal bool SliceOver(GuestThread thread)
    {
        if (counter.Executed < counter.Limit)
            return false;
        owner = null;
        return true;
    }
}
