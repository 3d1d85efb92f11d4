using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Record;

/// <summary>
/// `trapeze replay`: on a deterministic kernel with the recorded seed, the tracer that checks each
/// call against the recording and serves the calls that reached outside from it, so the guest runs
/// again without touching the host's files or network. A call the recording does not have there is
/// a divergence: it is reported and every guest process is killed.
/// </summary>
public sealed class Replayer(Recording recording) : ISyscallTracer
{
    private readonly InheritedFiles inherited = new();

    /// <summary>What each write to stdout and stderr returned: run again after going back, it is not printed twice.</summary>
    private readonly Dictionary<int, long> writesDone = [];

    private sealed record OutputWrite(int Index);
    private int nextSignal;

    /// <summary>Calls replayed so far: the index of the next one in the recording.</summary>
    public int Position { get; private set; }

    /// <summary>Why the replay stopped following the recording, or null while it follows it.</summary>
    public string? Divergence { get; private set; }

    public Recording Recording => recording;

    public void ProcessStarted(Process process, string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
        => inherited.Take(process);

    private bool IsOutside(OpenFile file) => file is ReplayFile || inherited.Contains(file);

    private bool IsInherited(OpenFile file) => inherited.Contains(file);

    public void Enter(GuestThread thread, ref SyscallCall call)
    {
        if (Divergence is not null)
        {
            Stop(thread, ref call, null);
            return;
        }
        var index = Position++;
        DeliverSignals(index);
        if (index >= recording.Calls.Count)
        {
            Stop(thread, ref call, $"replay diverged at call {index}: thread {thread.Id} made {call.Name}, but the recording ends after {recording.Calls.Count} calls");
            return;
        }
        var recorded = recording.Calls[index];
        if (recorded.Thread != thread.Id || recorded.Number != call.Number)
        {
            Stop(thread, ref call, $"replay diverged at call {index}: thread {thread.Id} made {call.Name}, the recording has thread {recorded.Thread} making {NameOf(thread, recorded.Number)}");
            return;
        }
        var kind = ReplayRules.Classify(thread, call, IsOutside, IsInherited);
        if (kind == ReplayKind.Executed && ReplayRules.WritesOutput(thread, call, IsInherited))
        {
            if (writesDone.TryGetValue(index, out var written))
            {
                call.Blocked = true;
                call.Result = written;
            }
            else
            {
                call.State = new OutputWrite(index);
            }
            return;
        }
        recording.Outcomes.TryGetValue(index, out var outcome);
        if ((kind == ReplayKind.Executed) != (outcome is null))
        {
            Stop(thread, ref call, $"replay diverged at call {index}: {call.Name} of thread {thread.Id} "
                + (outcome is null ? "reaches outside now but ran inside Trapeze when recorded" : "runs inside Trapeze now but reached outside when recorded"));
            return;
        }
        switch (kind)
        {
            case ReplayKind.Served:
                Apply(thread.Memory, outcome!);
                if (outcome!.NewDescriptor && outcome.Result >= 0)
                    thread.Process.Files.Replace((int)outcome.Result, new ReplayFile(outcome.Path), outcome.CloseOnExec);
                call.Blocked = true;
                call.Result = GuestResult(outcome.Result);
                break;
            case ReplayKind.Mapped when outcome!.Result is < 0 and >= -4095:
                call.Blocked = true;
                call.Result = outcome.Result;
                break;
            case ReplayKind.Mapped:
                // The same address, private anonymous memory: the recorded bytes go in on the way out.
                const MapFlags Sharing = MapFlags.MAP_SHARED | MapFlags.MAP_PRIVATE | MapFlags.MAP_FIXED_NOREPLACE;
                var flags = ((MapFlags)(int)call.Arguments.Arg3 & ~Sharing) | MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS | MapFlags.MAP_FIXED;
                call.Arguments.Arg0 = (ulong)outcome.Result;
                call.Arguments.Arg3 = (ulong)(int)flags;
                call.Arguments.Arg4 = ulong.MaxValue;
                call.Arguments.Arg5 = 0;
                call.State = outcome;
                break;
            case ReplayKind.Overwritten:
                call.State = outcome;
                break;
        }
    }

    public void Exit(GuestThread thread, ref SyscallCall call)
    {
        if (call.State is OutputWrite write)
        {
            writesDone[write.Index] = call.Result.Raw;
            return;
        }
        if (call.State is not RecordedOutcome outcome)
            return;
        if (call.Result.Raw != outcome.Result && call.Name == "mmap")
        {
            Diverge(thread, $"replay diverged: {call.Name} of thread {thread.Id} gave 0x{call.Result.Raw:x}, the recording has 0x{outcome.Result:x}");
            return;
        }
        Apply(thread.Memory, outcome);
        call.Result = GuestResult(outcome.Result);
    }

    private static string NameOf(GuestThread thread, int number)
        => thread.Process.Personality is Personalities.LinuxPersonality linux ? linux.NameOf((ulong)number) : $"syscall {number}";

    /// <summary>The kernel's restart codes never reach a guest: a recorded interruption is EINTR.</summary>
    private static Result GuestResult(long raw) => raw is -512 or -514 or -516 ? Errno.EINTR : raw;

    private static void Apply(GuestMemory memory, RecordedOutcome outcome)
    {
        foreach (var write in outcome.Writes)
            memory.Poke(new GuestAddress(write.Address), write.Bytes);
    }

    /// <summary>Host signals arrived before call <paramref name="index"/> when recorded: they are sent now, at the same call.</summary>
    private void DeliverSignals(int index)
    {
        while (nextSignal < recording.Signals.Count && recording.Signals[nextSignal].BeforeCall <= index)
            inherited.Kernel?.DeliverHostSignal((Signal)recording.Signals[nextSignal++].Signal);
    }

    private void Stop(GuestThread thread, ref SyscallCall call, string? reason)
    {
        if (reason is not null)
            Diverge(thread, reason);
        call.Blocked = true;
        call.Result = Result.ThreadGone;
    }

    private void Diverge(GuestThread thread, string reason)
    {
        Divergence ??= reason;
        thread.Kernel.Diagnostics.WriteLine($"trapeze: {reason}");
        foreach (var process in thread.Kernel.Processes.ToArray())
        {
            if (process.State == ProcessState.Running)
                process.Terminate(ExitStatus.Killed(Signal.SIGKILL));
        }
    }

    /// <summary>Where the replay is in the recording, for a checkpoint.</summary>
    public (int Position, int NextSignal) Mark => (Position, nextSignal);

    /// <summary>Going back to a checkpoint: the next call is the one it was at.</summary>
    public void Rewind((int Position, int NextSignal) mark) => (Position, nextSignal) = mark;

    /// <summary>After the run: a replay that ended before the recording did is a divergence too.</summary>
    public string? Check(ExitStatus status)
    {
        if (Divergence is not null)
            return Divergence;
        if (Position < recording.Calls.Count)
            return Divergence = $"replay diverged: the guest ended after {Position} calls, the recording has {recording.Calls.Count}";
        if (status.Code != recording.ExitCode)
            return Divergence = $"replay diverged: the guest ended with status {status.Code}, the recording with {recording.ExitCode}";
        return null;
    }
}
