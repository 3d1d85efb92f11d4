using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Fast user-space locking. With one guest thread per process, nobody else can wake a waiter.</summary>
public static class FutexCalls
{
    private const int Wait = 0, Wake = 1, WaitBitset = 9, WakeBitset = 10;
    private const int PrivateFlag = 128, ClockRealtime = 256;

    [Syscall("futex", Support = Support.Partial, Note = "WAIT and WAKE for a single-threaded process: a wait nobody can end is reported as a deadlock")]
    public static Result Futex(GuestThread thread, GuestAddress address, int operation, uint value, GuestAddress timeout, GuestAddress address2, uint value3)
    {
        var command = operation & ~(PrivateFlag | ClockRealtime);
        if ((address.Value & 3) != 0)
            return Errno.EINVAL;
        switch (command)
        {
            case Wait:
            case WaitBitset:
                if (command == WaitBitset && value3 == 0)
                    return Errno.EINVAL;
                if (thread.Memory.Read(address, out uint current) is var fault and not Errno.None)
                    return fault;
                if (current != value)
                    return Errno.EAGAIN;
                if (timeout.IsNull)
                {
                    thread.Kernel.Diagnostics.WriteLine($"trapeze: deadlock: thread {thread.Id} waits on futex {address} and no other thread can wake it");
                    thread.Process.Terminate(ExitStatus.Killed(Signal.SIGKILL, "(deadlock on a futex)"));
                    return Errno.EINTR;
                }
                if (thread.Memory.Read(timeout, out Timespec limit) is var timeoutFault and not Errno.None)
                    return timeoutFault;
                if (limit.Seconds < 0 || limit.Nanoseconds is < 0 or >= 1_000_000_000)
                    return Errno.EINVAL;
                // FUTEX_WAIT takes a relative timeout, FUTEX_WAIT_BITSET an absolute one.
                var clock = (operation & ClockRealtime) != 0 ? ClockId.CLOCK_REALTIME : ClockId.CLOCK_MONOTONIC;
                var nanoseconds = limit.Seconds * 1_000_000_000 + limit.Nanoseconds - (command == WaitBitset ? Time.Now(clock)!.Value : 0);
                if (nanoseconds > 0)
                    System.Threading.Thread.Sleep(TimeSpan.FromTicks(nanoseconds / 100));
                return Errno.ETIMEDOUT;
            case Wake:
            case WakeBitset:
                return command == WakeBitset && value3 == 0 ? Errno.EINVAL : 0;
            default:
                return Errno.ENOSYS;
        }
    }
}
