using Trapeze.Cpu;
using Trapeze.Kernel.Record;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Debugger;

/// <summary>
/// gdb's reverse-step and reverse-continue (bs, bc) over a replay (`trapeze replay --gdb`): the CPU
/// counts instructions; a <see cref="Checkpoint"/> is taken every <see cref="Interval"/> of them; going
/// back restores the last checkpoint before the target and runs forward to it with breakpoints
/// suspended. Reverse-continue runs each stretch between checkpoints forward, latest first, noting
/// where breakpoints hit, and goes to the last hit. Single-threaded programs: one thread's position.
/// </summary>
internal sealed class ReverseExecution(Replayer replayer)
{
    public const ulong Interval = 2_000_000;

    private enum Phase
    {
        /// <summary>Running a stretch forward to <see cref="Goal.End"/>, noting breakpoint hits.</summary>
        Scanning,

        /// <summary>Running forward to <see cref="Goal.Target"/>, where the stop is reported.</summary>
        Going,
    }

    private sealed class Goal(bool toBreakpoint)
    {
        public bool ToBreakpoint { get; } = toBreakpoint;
        public Phase Phase;
        public ulong End, Target;
        public int Segment;
        public List<ulong> Hits { get; } = [];
        public bool SteppingOver;
        public string Reason = "";
    }

    private readonly List<Checkpoint> checkpoints = [];
    private Goal? requested, goal;
    private bool counting;

    /// <summary>While true, the replay runs to a point gdb has not seen stop there: signal and syscall stops stay quiet.</summary>
    public bool Busy => goal is not null;

    /// <summary>From the server, while the thread is stopped: bs (false) or bc (true) when it resumes.</summary>
    public void Request(bool toBreakpoint) => requested = new Goal(toBreakpoint);

    /// <summary>At the end of the thread's stop point, before it runs: count, checkpoint, or set up a stretch.</summary>
    public void BeforeRun(GuestThread thread, ICpuDebugging cpu)
    {
        if (!counting)
        {
            cpu.CountInstructions();
            counting = true;
        }
        if (goal is { SteppingOver: true })
        {
            cpu.DebugPointsSuspended = true;
            cpu.SingleStep = true;
            return;
        }
        if (goal is not null)
            return;
        var position = cpu.Instructions;
        if (checkpoints.Count == 0 || position >= checkpoints[^1].Position + Interval)
        {
            if (Checkpoint.Take(thread, replayer, position) is { } checkpoint)
                checkpoints.Add(checkpoint);
        }
    }

    /// <summary>
    /// Takes gdb's request after a stop: true when its answer is ready at once (<paramref name="reply"/>,
    /// e.g. going back from the first instruction), false when the thread now runs to it (or nothing was asked).
    /// </summary>
    public bool Start(GuestThread thread, ICpuDebugging cpu, out string reply)
    {
        reply = "";
        if (requested is not { } asked)
            return false;
        requested = null;
        var now = cpu.Instructions;
        if (!asked.ToBreakpoint)
            return now == 0 ? Begin(out reply) : GoTo(thread, cpu, asked, now - 1, "", out reply);
        asked.End = now;
        asked.Segment = checkpoints.FindLastIndex(c => c.Position < now);
        if (asked.Segment < 0)
            return Begin(out reply);
        Scan(thread, cpu, asked);
        return false;
    }

    /// <summary>After a run while going back: true when the run was part of it (the thread goes on without a stop), with <paramref name="reply"/> set when it has arrived.</summary>
    public bool AfterRun(GuestThread thread, ICpuDebugging cpu, CpuEvent cpuEvent, out string? reply)
    {
        reply = null;
        if (goal is not { } current)
            return false;
        var reached = cpuEvent.Kind == CpuEventKind.Breakpoint && cpuEvent.Number == ICpuDebugging.PositionReached;
        if (current.SteppingOver)
        {
            current.SteppingOver = false;
            cpu.SingleStep = false;
            cpu.DebugPointsSuspended = false;
            if (!reached)
                return true;
        }
        if (current.Phase == Phase.Going)
        {
            if (!reached)
                return cpuEvent.Kind is CpuEventKind.Breakpoint or CpuEventKind.Watchpoint or CpuEventKind.Stopped;
            Finish(cpu);
            reply = current.Reason;
            return true;
        }
        if (!reached)
        {
            if (cpuEvent.Kind is not (CpuEventKind.Breakpoint or CpuEventKind.Watchpoint))
                return cpuEvent.Kind == CpuEventKind.Stopped;
            current.Hits.Add(cpu.Instructions);
            // A breakpoint stops before its instruction: one step with breakpoints off gets past it.
            current.SteppingOver = cpuEvent.Kind == CpuEventKind.Breakpoint;
            return true;
        }
        if (current.Hits.Count > 0)
        {
            if (GoTo(thread, cpu, current, current.Hits[^1], "swbreak:;", out var ready))
                reply = ready;
            return true;
        }
        if (current.Segment == 0)
        {
            if (GoTo(thread, cpu, current, 0, "replaylog:begin;", out var start))
                reply = start;
            return true;
        }
        current.End = checkpoints[current.Segment].Position;
        current.Segment--;
        Scan(thread, cpu, current);
        return true;
    }

    private void Scan(GuestThread thread, ICpuDebugging cpu, Goal wanted)
    {
        wanted.Phase = Phase.Scanning;
        wanted.Hits.Clear();
        goal = wanted;
        checkpoints[wanted.Segment].Restore(thread, replayer);
        cpu.DebugPointsSuspended = false;
        cpu.StopAtInstruction = wanted.End;
    }

    /// <summary>To <paramref name="target"/> instructions in: restored at once when a checkpoint is there, else run to from the one before.</summary>
    private bool GoTo(GuestThread thread, ICpuDebugging cpu, Goal wanted, ulong target, string reason, out string reply)
    {
        var checkpoint = checkpoints.FindLast(c => c.Position <= target) ?? checkpoints[0];
        checkpoint.Restore(thread, replayer);
        reply = reason;
        if (checkpoint.Position == target)
        {
            Finish(cpu);
            return true;
        }
        wanted.Phase = Phase.Going;
        wanted.Target = target;
        wanted.Reason = reason;
        goal = wanted;
        cpu.DebugPointsSuspended = true;
        cpu.StopAtInstruction = target;
        return false;
    }

    private bool Begin(out string reply)
    {
        reply = "replaylog:begin;";
        return true;
    }

    private void Finish(ICpuDebugging cpu)
    {
        goal = null;
        cpu.StopAtInstruction = null;
        cpu.DebugPointsSuspended = false;
        cpu.SingleStep = false;
    }
}
