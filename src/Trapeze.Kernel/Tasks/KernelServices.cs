using System.Diagnostics;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// The kernel's clocks. Every time a guest sees comes from here, so a deterministic or replaying
/// kernel can put another clock in its place.
/// </summary>
public class KernelClock
{
    /// <summary>CLOCK_MONOTONIC in nanoseconds: deadlines of blocked threads are on this clock.</summary>
    public virtual long Monotonic => (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));

    /// <summary>CLOCK_REALTIME in nanoseconds since 1970.</summary>
    public virtual long Realtime => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    /// <summary>CPU time Trapeze has used, for the CPU-time clocks.</summary>
    public virtual long ProcessorTime => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.Ticks * 100;

    /// <summary>The clock's reading in nanoseconds, or null for a clock Linux does not have.</summary>
    public long? Now(ClockId clock) => clock switch
    {
        ClockId.CLOCK_REALTIME or ClockId.CLOCK_REALTIME_COARSE or ClockId.CLOCK_TAI or ClockId.CLOCK_REALTIME_ALARM => Realtime,
        ClockId.CLOCK_MONOTONIC or ClockId.CLOCK_MONOTONIC_RAW or ClockId.CLOCK_MONOTONIC_COARSE
            or ClockId.CLOCK_BOOTTIME or ClockId.CLOCK_BOOTTIME_ALARM => Monotonic,
        ClockId.CLOCK_PROCESS_CPUTIME_ID or ClockId.CLOCK_THREAD_CPUTIME_ID => ProcessorTime,
        _ => null,
    };

    /// <summary>A deadline on <paramref name="clock"/> (absolute nanoseconds) as a monotonic deadline.</summary>
    public long ToMonotonic(ClockId clock, long absolute)
    {
        var now = Now(clock) ?? Monotonic;
        var left = absolute - now;
        return left <= 0 ? Monotonic : Monotonic + left;
    }
}

/// <summary>Random bytes for getrandom, AT_RANDOM and /dev/urandom: the host's, unless replaced.</summary>
public class KernelRandom
{
    public virtual void Fill(Span<byte> buffer) => HostRandom.Fill(buffer);

    public byte[] GetBytes(int length)
    {
        var bytes = new byte[length];
        Fill(bytes);
        return bytes;
    }
}

/// <summary>The ids the guest runs with: the host user's by default.</summary>
public class KernelCredentials
{
    public virtual uint UserId => HostIdentity.UserId;
    public virtual uint EffectiveUserId => HostIdentity.EffectiveUserId;
    public virtual uint GroupId => HostIdentity.GroupId;
    public virtual uint EffectiveGroupId => HostIdentity.EffectiveGroupId;

    /// <summary>Supplementary groups: the host process's own.</summary>
    public virtual unsafe uint[] Groups
    {
        get
        {
            var groups = new uint[65536];
            long count;
            fixed (uint* list = groups)
                count = HostSyscall.Invoke(HostSyscall.Number("getgroups"), groups.Length, (long)list);
            return count <= 0 ? [] : groups[..(int)count];
        }
    }
}

/// <summary>Process and thread ids of one kernel (its own pid namespace), handed out in order.</summary>
public sealed class PidAllocator(int first)
{
    private readonly HashSet<int> used = [];
    private int next = first;

    public const int Maximum = 4_194_304; // /proc/sys/kernel/pid_max on 64-bit

    public int Allocate()
    {
        while (used.Contains(next) || next <= 0)
            next = next >= Maximum ? 300 : next + 1;
        used.Add(next);
        return next++;
    }

    public void Free(int id) => used.Remove(id);
}
