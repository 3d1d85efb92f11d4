using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// Opening a FIFO of Trapeze's own file systems (fifo(7)): the node's pipe, made when the first end
/// opens. A reader waits for a writer and a writer for a reader, as blocked calls (a signal
/// interrupts them, other threads run); it counts as an end while it waits, as fifo_open counts it.
/// With O_NONBLOCK a reader opens at once and a writer without readers fails with ENXIO; O_RDWR
/// never waits.
/// </summary>
internal static class TmpFifo
{
    /// <summary>An end opened and waiting for the other side: done when that side's arrivals pass <paramref name="Seen"/>.</summary>
    private sealed record Waiting(TmpNode Node, PipeEnd End, long Seen);

    public static Result Open(GuestThread thread, TmpNode node, OpenFlags flags, byte[] path, out OpenFile? file)
    {
        file = null;
        if (thread.RetryState is Waiting { } earlier && earlier.Node != node)
        {
            earlier.End.Release();
            thread.RetryState = null;
        }
        if (thread.RetryState is not Waiting waiting)
        {
            var reader = (flags & OpenFlags.O_WRONLY) == 0;
            var writer = (flags & (OpenFlags.O_WRONLY | OpenFlags.O_RDWR)) != 0;
            var nonBlocking = (flags & OpenFlags.O_NONBLOCK) != 0;
            if (node.Fifo is not { } pipe || (pipe.Readers == 0 && pipe.Writers == 0))
                node.Fifo = pipe = new Pipe { Inode = node.Inode };
            if (writer && !reader && nonBlocking && pipe.Readers == 0)
                return Errno.ENXIO;
            var waitsFor = reader && !writer && pipe.Writers == 0 ? pipe.WriterArrivals
                : writer && !reader && pipe.Readers == 0 ? pipe.ReaderArrivals : (long?)null;
            var status = flags & (OpenFlags.O_NONBLOCK | OpenFlags.O_APPEND | OpenFlags.O_LARGEFILE | OpenFlags.FASYNC);
            var end = new PipeEnd(pipe, reader, writer, status)
            {
                FifoPath = System.Text.Encoding.UTF8.GetString(path),
                GuestPath = path,
                Node = node,
                QuietUntilWriterAfter = reader && !writer && nonBlocking && waitsFor is { } writers ? writers : null,
            };
            if (waitsFor is not { } seen || nonBlocking)
            {
                file = end;
                return 0;
            }
            waiting = new Waiting(node, end, seen);
            thread.RetryState = waiting;
        }
        var pipeNow = waiting.End.Pipe;
        var arrived = waiting.End.IsReader ? pipeNow.WriterArrivals : pipeNow.ReaderArrivals;
        if (arrived != waiting.Seen)
        {
            thread.RetryState = null;
            file = waiting.End;
            return 0;
        }
        var blocked = thread.Block(new Wait(pipeNow.Changes));
        if (blocked.Control is Wait)
            return blocked;
        // Interrupted (or timed out): the end goes again, as fifo_open's err_rd / err_wr.
        thread.RetryState = null;
        waiting.End.Release();
        return blocked;
    }
}
