using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Record;

/// <summary>
/// `trapeze record`: on a deterministic kernel, the tracer that writes every call's entry and, for
/// the calls that reach outside (<see cref="ReplayRules"/>), their result and the guest memory
/// they wrote, read back when they return.
/// </summary>
public sealed class Recorder(RecordingWriter writer) : ISyscallTracer, IGuestWriteObserver
{
    /// <summary>A call being served from outside: where it wrote so far.</summary>
    private sealed class Pending(int index, ReplayKind kind)
    {
        public int Index { get; } = index;
        public ReplayKind Kind { get; } = kind;
        public List<(ulong Address, ulong Length)> Ranges { get; } = [];
    }

    /// <summary>The most of one written range kept: a read into a huge buffer keeps what the result says it wrote.</summary>
    private const ulong MaximumRange = 256 << 20;

    private readonly InheritedFiles inherited = new();
    private readonly HashSet<OpenFile> outside = [];
    private readonly Dictionary<GuestThread, Pending> pending = [];

    public void ProcessStarted(Process process, string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        if (inherited.Take(process))
            outside.UnionWith(inherited.Files);
    }

    private bool IsOutside(OpenFile file) => outside.Contains(file);

    private bool IsInherited(OpenFile file) => inherited.Contains(file);

    public void Enter(GuestThread thread, ref SyscallCall call)
    {
        var index = writer.Call(thread.Id, call.Number);
        var kind = ReplayRules.Classify(thread, call, IsOutside, IsInherited);
        if (kind == ReplayKind.Executed)
            return;
        var served = new Pending(index, kind);
        pending[thread] = served;
        call.State = served;
        thread.Memory.WriteObserver = this;
    }

    public void Wrote(ulong address, ulong length)
    {
        if (inherited.Kernel?.Scheduler.Running is { } thread && pending.TryGetValue(thread, out var call) && length > 0)
            call.Ranges.Add((address, Math.Min(length, MaximumRange)));
    }

    public void Exit(GuestThread thread, ref SyscallCall call)
    {
        if (call.State is not Pending served)
            return;
        pending.Remove(thread);
        var result = call.Result.Raw;
        var writes = served.Kind == ReplayKind.Mapped ? MappedBytes(thread, call, result) : WrittenBytes(thread, call, served, result);
        var newDescriptor = served.Kind == ReplayKind.Served && call.Definition?.Returns == ResultKind.Fd && result >= 0
            && thread.Process.Files.Get((int)result) is not null;
        var path = "";
        if (newDescriptor && thread.Process.Files.Get((int)result) is { } file)
        {
            outside.Add(file);
            path = file.Path;
        }
        writer.Outcome(served.Index, new RecordedOutcome
        {
            Result = result,
            Writes = writes,
            NewDescriptor = newDescriptor,
            CloseOnExec = newDescriptor && thread.Process.Files.GetCloseOnExec((int)result),
            Path = path,
        });
    }

    /// <summary>The bytes of each range the call wrote, as they are now; a buffer whose size is the result is cut to it.</summary>
    private static List<RecordedWrite> WrittenBytes(GuestThread thread, in SyscallCall call, Pending served, long result)
    {
        var writes = new List<RecordedWrite>(served.Ranges.Count);
        foreach (var (address, length) in served.Ranges)
        {
            var kept = length;
            if (call.Definition is { } definition && result >= 0)
            {
                for (var index = 0; index < definition.Parameters.Length; index++)
                {
                    if (definition.Parameters[index].SizeFrom == SyscallParameter.SizeFromResult && call.Arguments[index] == address)
                        kept = Math.Min(kept, (ulong)result);
                }
            }
            writes.Add(Snapshot(thread.Memory, address, kept));
        }
        return writes;
    }

    /// <summary>A file mapping's bytes, up to the end of the file (pages past it are not there to read).</summary>
    private static List<RecordedWrite> MappedBytes(GuestThread thread, in SyscallCall call, long result)
    {
        if (result < 0 || (ulong)result >= 0xffff_ffff_ffff_f000 || thread.Process.Files.Get((int)call.Arguments.Arg4) is not { } file
            || file.Status(out var status).IsError)
            return [];
        const long Page = 4096;
        var offset = (long)call.Arguments.Arg5;
        var inFile = Math.Max(0, status.Size - offset);
        var length = Math.Min((long)call.Arguments.Arg1, (inFile + Page - 1) / Page * Page);
        return length <= 0 ? [] : [Snapshot(thread.Memory, (ulong)result, (ulong)length)];
    }

    private static RecordedWrite Snapshot(GuestMemory memory, ulong address, ulong length)
    {
        var readable = memory.AccessibleLength(new GuestAddress(address), length, write: false);
        var bytes = new byte[readable];
        var count = memory.Peek(new GuestAddress(address), bytes);
        return new RecordedWrite(address, count == bytes.Length ? bytes : bytes[..count]);
    }

    /// <summary>The run ended: its status goes last, which also marks the recording complete.</summary>
    public void Finish(ExitStatus status) => writer.Finish(status.Code);
}
