using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// A blocking open of a host FIFO (fifo(7): a reader waits for a writer and a writer for a reader).
/// The host's open blocks for as long, so it runs on a host thread of its own while the guest thread
/// waits as any blocked call does: other guest threads run, and a signal interrupts the wait. An
/// open the guest gave up on is released by opening the other end without blocking.
/// </summary>
internal sealed unsafe class FifoOpen
{
    private const int Pending = 0, Done = 1, Abandoned = 2;
    private const short PollIn = 1;
    private const OpenFlags AccessMode = OpenFlags.O_WRONLY | OpenFlags.O_RDWR;

    private readonly int file; // Trapeze's own O_PATH descriptor of the FIFO, closed by whichever side ends last
    private readonly byte[] path;
    private readonly OpenFlags flags;
    private readonly int finished;
    private long result;
    private int state;

    private FifoOpen(int pathDescriptor, OpenFlags flags)
    {
        file = (int)HostSyscall.Invoke(HostSyscall.Fcntl, pathDescriptor, (long)FcntlCommand.F_DUPFD_CLOEXEC, 3);
        path = System.Text.Encoding.ASCII.GetBytes($"/proc/self/fd/{file}\0");
        this.flags = flags;
        const long NonBlocking = 0x800, CloseOnExec = 0x80000;
        finished = (int)HostSyscall.Invoke(HostSyscall.Eventfd2, 0, NonBlocking | CloseOnExec);
    }

    /// <summary>Whether an open of <paramref name="node"/> with <paramref name="flags"/> would wait for the other end.</summary>
    public static bool Waits(Node node, OpenFlags flags)
        => (node.Mode & FileTypes.Mask) == FileTypes.Fifo
            && (flags & (OpenFlags.O_NONBLOCK | OpenFlags.O_PATH)) == 0
            && (flags & AccessMode) != OpenFlags.O_RDWR;

    /// <summary>The host descriptor once the other end came; until then the call blocks (or is interrupted).</summary>
    public static Result Open(GuestThread thread, int pathDescriptor, OpenFlags flags)
    {
        if (thread.RetryState is not FifoOpen open)
        {
            open = new FifoOpen(pathDescriptor, flags);
            if (open.file < 0 || open.finished < 0)
            {
                open.CloseAll();
                return Errno.EMFILE;
            }
            thread.RetryState = open;
            new Thread(open.Run) { IsBackground = true, Name = "trapeze fifo open" }.Start();
        }
        if (Volatile.Read(ref open.state) == Done)
            return open.Collect();
        var blocked = thread.Block(new Wait().OnHost(open.finished, PollIn));
        if (blocked.Control is Wait)
            return blocked;
        // Interrupted: unless the open completed meanwhile, leave it to its thread and release that thread.
        if (Interlocked.CompareExchange(ref open.state, Abandoned, Pending) == Done)
            return open.Collect();
        open.ReleaseWaiter();
        return blocked;
    }

    private void Run()
    {
        fixed (byte* text = path)
            result = HostSyscall.Invoke(HostSyscall.Openat, HostPath.CurrentDirectory, (long)text, (long)(flags | OpenFlags.O_CLOEXEC), 0);
        if (Interlocked.CompareExchange(ref state, Done, Pending) == Pending)
        {
            long one = 1;
            HostSyscall.Invoke(HostSyscall.Write, finished, (long)&one, 8);
            return;
        }
        if (result >= 0)
            HostSyscall.Invoke(HostSyscall.Close, result);
        CloseAll();
    }

    private long Collect()
    {
        CloseAll();
        return result;
    }

    private void CloseAll()
    {
        if (finished >= 0)
            HostSyscall.Invoke(HostSyscall.Close, finished);
        if (file >= 0)
            HostSyscall.Invoke(HostSyscall.Close, file);
    }

    /// <summary>The other end, opened without blocking and closed again, ends the host thread's wait.</summary>
    private void ReleaseWaiter()
    {
        var other = (flags & AccessMode) == OpenFlags.O_WRONLY ? OpenFlags.O_RDONLY : OpenFlags.O_WRONLY;
        fixed (byte* text = path)
        {
            var descriptor = HostSyscall.Invoke(HostSyscall.Openat, HostPath.CurrentDirectory, (long)text, (long)(other | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC), 0);
            if (descriptor >= 0)
                HostSyscall.Invoke(HostSyscall.Close, descriptor);
        }
    }
}
