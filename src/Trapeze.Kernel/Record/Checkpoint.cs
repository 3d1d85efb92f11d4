using Trapeze.Cpu;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Record;

/// <summary>
/// A replayed process as it was at one point (<see cref="Position"/> instructions in): its memory,
/// the thread's registers and signal mask, the descriptor table, dispositions and break, and where
/// the replay was in the recording. Going back restores one and runs forward from it: the replay
/// repeats what happened since, call for call. One thread of one process (reverse debugging).
/// </summary>
public sealed class Checkpoint : IDisposable
{
    private readonly SavedSpace memory;
    private readonly ICpuContext registers;
    private readonly FileTable files;
    private readonly SignalActions signals;
    private readonly ulong breakStart, programBreak, signalMask;
    private readonly (int, int) mark;

    private Checkpoint(ulong position, SavedSpace memory, ICpuContext registers, FileTable files, SignalActions signals, ulong breakStart, ulong programBreak, ulong signalMask, (int, int) mark)
    {
        Position = position;
        this.memory = memory;
        this.registers = registers;
        this.files = files;
        this.signals = signals;
        this.breakStart = breakStart;
        this.programBreak = programBreak;
        this.signalMask = signalMask;
        this.mark = mark;
    }

    /// <summary>Instructions the thread had executed.</summary>
    public ulong Position { get; }

    /// <summary>The thread's process now, between runs (its registers on its CPU); null when the host has no memory for it.</summary>
    public static Checkpoint? Take(GuestThread thread, Replayer replayer, ulong position)
    {
        var process = thread.Process;
        if (process.AddressSpace.Save() is not { } memory)
            return null;
        return new Checkpoint(position, memory, process.Cpu.CopyContext(), process.Files.Copy(), process.Signals.Copy(),
            process.BreakStart, process.Break, thread.SignalMask, replayer.Mark);
    }

    /// <summary>Puts the process back as it was; false when the host has no memory to do so.</summary>
    public bool Restore(GuestThread thread, Replayer replayer)
    {
        var process = thread.Process;
        if (!process.AddressSpace.Restore(memory))
            return false;
        process.Cpu.RestoreContext(registers);
        process.Rewind(files.Copy(), signals.Copy(), breakStart, programBreak);
        thread.SignalMask = signalMask;
        replayer.Rewind(mark);
        if (process.Cpu is ICpuDebugging cpu)
            cpu.Instructions = Position;
        return true;
    }

    public void Dispose()
    {
        memory.Dispose();
        files.Release();
    }
}
