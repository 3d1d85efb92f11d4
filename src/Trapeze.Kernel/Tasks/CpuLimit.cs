using Trapeze.Kernel.Abi.Linux;

namespace Trapeze.Kernel.Tasks;

/// <summary>
/// RLIMIT_CPU as Linux holds a process to it (check_process_timers): when the process's CPU time
/// (user and system, as ITIMER_PROF counts it) reaches the soft limit it gets SIGXCPU and the soft
/// limit grows by a second, so another SIGXCPU follows each second; at the hard limit, SIGKILL.
/// Like <see cref="CpuTimer"/> it sleeps on the wall clock for as long as the CPU time could take.
/// </summary>
internal sealed class CpuLimit(Process process) : ITimerEntry
{
    private const long Second = 1_000_000_000;
    private long generation;

    /// <summary>The process's RLIMIT_CPU changed, or a new process inherited one: looks again when it could be reached.</summary>
    public static void Watch(Process process)
    {
        if (process.LimitOf(RlimitResource.RLIMIT_CPU) != ulong.MaxValue || Hard(process) is not null)
            (process.CpuLimit ??= new CpuLimit(process)).Arm(process.Kernel);
        else if (process.CpuLimit is { } watching)
            watching.generation++; // no limit left: a pending check does nothing
    }

    private void Arm(Kernel kernel)
    {
        generation++;
        var deadline = Math.Min(Nanoseconds(process.LimitOf(RlimitResource.RLIMIT_CPU)) ?? long.MaxValue, Hard(process) ?? long.MaxValue);
        if (deadline == long.MaxValue)
            return;
        var wait = Math.Max(0, deadline - process.CpuTime());
        kernel.TimerService.Schedule(this, kernel.Clock.Monotonic + wait, generation);
    }

    public void Fire(Kernel kernel, long firedGeneration)
    {
        if (firedGeneration != generation || process.State != ProcessState.Running)
            return;
        var used = process.CpuTime();
        if (Hard(process) is { } hard && used >= hard)
        {
            SignalDelivery.SendToProcess(process, new SignalInfo { Signal = (int)Signal.SIGKILL, Code = SignalInfo.KernelCode });
            return;
        }
        var limit = process.ResourceLimits[RlimitResource.RLIMIT_CPU];
        if (Nanoseconds(limit.Current) is { } soft && used >= soft)
        {
            SignalDelivery.SendToProcess(process, new SignalInfo { Signal = (int)Signal.SIGXCPU, Code = SignalInfo.KernelCode });
            process.ResourceLimits[RlimitResource.RLIMIT_CPU] = new ResourceLimit { Current = limit.Current + 1, Maximum = limit.Maximum };
        }
        Arm(kernel);
    }

    private static long? Hard(Process process)
        => process.ResourceLimits.TryGetValue(RlimitResource.RLIMIT_CPU, out var limit) ? Nanoseconds(limit.Maximum) : null;

    /// <summary>A limit in seconds as nanoseconds of CPU time; null for RLIM_INFINITY (and for limits past 292 years).</summary>
    private static long? Nanoseconds(ulong seconds) => seconds < long.MaxValue / Second ? (long)seconds * Second : null;
}
