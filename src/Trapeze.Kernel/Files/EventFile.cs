using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>
/// An eventfd: a 64-bit counter. A write adds to it (waiting while the sum would pass
/// 0xfffffffffffffffe), a read takes all of it, or one with EFD_SEMAPHORE, waiting while it is 0.
/// </summary>
public sealed class EventFile(ulong initial, bool semaphore) : OpenFile
{
    private const ulong Maximum = ulong.MaxValue - 1;

    private ulong counter = initial;

    public WaitQueue Changes { get; } = new();
    public override string Path => "anon_inode:[eventfd]";
    private bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

    public override short? Readiness(out WaitQueue? changes)
    {
        changes = Changes;
        var ready = counter > 0 ? Polling.Readable | Polling.ReadNormal : 0;
        if (counter < Maximum)
            ready |= Polling.Writable | Polling.WriteNormal;
        return (short)ready;
    }

    public override Result Read(GuestThread thread, GuestAddress buffer, ulong count)
    {
        if (count < 8)
            return Errno.EINVAL;
        if (counter == 0)
            return NonBlocking ? Errno.EAGAIN : thread.Block(new Wait(Changes));
        var value = semaphore ? 1 : counter;
        if (thread.Memory.Write(buffer, value) is var fault and not Errno.None)
            return fault;
        counter -= value;
        Changes.Notify(WaitQueue.OutputEvents);
        return 8;
    }

    public override Result Write(GuestThread thread, GuestAddress buffer, ulong count)
    {
        if (count < 8)
            return Errno.EINVAL;
        if (thread.Memory.Read(buffer, out ulong value) is var fault and not Errno.None)
            return fault;
        if (value == ulong.MaxValue)
            return Errno.EINVAL;
        if (Maximum - counter < value)
            return NonBlocking ? Errno.EAGAIN : thread.Block(new Wait(Changes));
        counter += value;
        if (value > 0)
            Changes.Notify(WaitQueue.InputEvents);
        return 8;
    }

    public override Result Status(out LinuxStat status)
    {
        status = new LinuxStat { Mode = 0x180, LinkCount = 1, BlockSize = 4096 }; // an anonymous inode: mode 0600, no type bits
        return 0;
    }
}
