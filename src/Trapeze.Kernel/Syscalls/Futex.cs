using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Fast user-space locking: threads sleep on a word of memory until another wakes them.</summary>
public static class FutexCalls
{
    private const int CommandMask = 127;
    private const uint Waiters = 0x80000000, OwnerDied = 0x40000000, ThreadIdMask = 0x3fffffff;

    [Syscall("futex", Support = Support.Partial, Note = "WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, the BITSET forms and the PI lock calls (without priority inheritance); WAIT_REQUEUE_PI and LOCK_PI2 ENOSYS")]
    public static Result Futex(GuestThread thread, GuestAddress address, [Argument(Enum = typeof(FutexOperation))] int operation, uint value, GuestAddress timeout, GuestAddress address2, uint value3)
    {
        var command = (FutexOperation)(operation & CommandMask);
        if (command is < FutexOperation.FUTEX_WAIT or > FutexOperation.FUTEX_WAKE_BITSET or FutexOperation.FUTEX_FD)
            return Errno.ENOSYS;
        // Linux reads an unlock's word before it looks at the address's alignment (an odd address is EFAULT there).
        if (command == FutexOperation.FUTEX_UNLOCK_PI)
            return UnlockPriorityInheritance(thread, address);
        if ((address.Value & 3) != 0)
            return Errno.EINVAL;
        // A private futex is named by its address alone, which Linux only range-checks: on an unmapped
        // word (key 0, where no sleeper can be) a wake finds nobody, and what reads the word is EFAULT.
        var isPrivate = (operation & (int)FutexOperation.FUTEX_PRIVATE_FLAG) != 0;
        if (thread.Memory.HostAddress(address, out var key) is var fault and not Errno.None
            && !(isPrivate && address.Value <= thread.Process.Personality.Layout.UserTop - sizeof(uint)))
            return fault;
        var futexes = thread.Kernel.Futexes;
        switch (command)
        {
            case FutexOperation.FUTEX_WAIT:
                return WaitOn(thread, address, key, value, uint.MaxValue, timeout, absolute: false, operation);
            case FutexOperation.FUTEX_WAIT_BITSET:
                return value3 == 0 ? Errno.EINVAL : WaitOn(thread, address, key, value, value3, timeout, absolute: true, operation);
            case FutexOperation.FUTEX_WAKE:
                return futexes.Wake(key, (int)Math.Min(value, int.MaxValue), uint.MaxValue);
            case FutexOperation.FUTEX_WAKE_BITSET:
                return value3 == 0 ? Errno.EINVAL : futexes.Wake(key, (int)Math.Min(value, int.MaxValue), value3);
            case FutexOperation.FUTEX_REQUEUE:
            case FutexOperation.FUTEX_CMP_REQUEUE:
                if (thread.Memory.HostAddress(address2, out var target) is var targetFault and not Errno.None)
                    return targetFault;
                if (command == FutexOperation.FUTEX_CMP_REQUEUE)
                {
                    if (thread.Memory.Read(address, out uint current) is var readFault and not Errno.None)
                        return readFault;
                    if (current != value3)
                        return Errno.EAGAIN;
                }
                // The timeout argument carries the number of waiters to move.
                return futexes.Requeue(key, target, (int)Math.Min(value, int.MaxValue), (int)Math.Min(timeout.Value, int.MaxValue));
            case FutexOperation.FUTEX_WAKE_OP:
                return WakeOperation(thread, key, address2, value, (int)Math.Min(timeout.Value, int.MaxValue), value3);
            case FutexOperation.FUTEX_LOCK_PI:
            case FutexOperation.FUTEX_TRYLOCK_PI:
                return LockPriorityInheritance(thread, address, key, timeout, tryOnly: command == FutexOperation.FUTEX_TRYLOCK_PI);
            default:
                return Errno.ENOSYS;
        }
    }

    private static Result WaitOn(GuestThread thread, GuestAddress address, nint key, uint expected, uint bitset, GuestAddress timeout, bool absolute, int operation)
    {
        var futexes = thread.Kernel.Futexes;
        if (thread.RetryState is FutexWaiter waiter)
        {
            if (waiter.Woken)
                return 0;
            var again = thread.Block(new Wait(waiter.Queue, waiter.Deadline));
            if (again.Control is not Syscalls.Wait)
                futexes.Remove(waiter);
            return again;
        }
        if (thread.Memory.Read(address, out uint current) is var fault and not Errno.None)
            return fault;
        if (current != expected)
            return Errno.EAGAIN;
        var deadline = Syscalls.Wait.NoDeadline;
        if (!timeout.IsNull)
        {
            if (LinuxStructures.ReadTime(thread, timeout, out var limit) is var timeoutFault and not Errno.None)
                return timeoutFault;
            if (limit.Seconds < 0 || limit.Nanoseconds is < 0 or >= 1_000_000_000)
                return Errno.EINVAL;
            var nanoseconds = limit.Seconds >= long.MaxValue / 1_000_000_000 ? long.MaxValue : limit.Seconds * 1_000_000_000 + limit.Nanoseconds;
            // FUTEX_WAIT takes a relative timeout, FUTEX_WAIT_BITSET an absolute one on the clock the flag names.
            var clock = (operation & (int)FutexOperation.FUTEX_CLOCK_REALTIME) != 0 ? ClockId.CLOCK_REALTIME : ClockId.CLOCK_MONOTONIC;
            deadline = absolute ? thread.Kernel.Clock.ToMonotonic(clock, nanoseconds) : thread.DeadlineAfter(nanoseconds);
        }
        var queued = futexes.Enqueue(thread, key, bitset);
        queued.Deadline = deadline;
        thread.RetryState = queued;
        return Result.Blocked(new Wait(queued.Queue, deadline));
    }

    /// <summary>FUTEX_WAKE_OP: change the second word, wake on the first, and on the second if the old value passes the test.</summary>
    private static Result WakeOperation(GuestThread thread, nint key, GuestAddress address2, uint wakeCount, int wakeCount2, uint encoded)
    {
        if (thread.Memory.HostAddress(address2, out var key2) is var fault and not Errno.None)
            return fault;
        if (thread.Memory.Read(address2, out uint old) is var readFault and not Errno.None)
            return readFault;
        var operation = (encoded >> 28) & 7;
        var shift = (encoded >> 31) != 0;
        var argument = (encoded >> 12) & 0xfff;
        if (shift)
            argument = argument >= 32 ? 0 : 1u << (int)argument;
        var updated = operation switch
        {
            0 => argument,
            1 => old + argument,
            2 => old | argument,
            3 => old & ~argument,
            4 => old ^ argument,
            _ => (uint?)null,
        };
        if (updated is null)
            return Errno.ENOSYS;
        if (thread.Memory.Write(address2, updated.Value) is var writeFault and not Errno.None)
            return writeFault;
        var comparison = (encoded >> 24) & 15;
        var operand = (int)(encoded & 0xfff);
        var signedOld = (int)old;
        var passes = comparison switch
        {
            0 => signedOld == operand,
            1 => signedOld != operand,
            2 => signedOld < operand,
            3 => signedOld <= operand,
            4 => signedOld > operand,
            5 => signedOld >= operand,
            _ => false,
        };
        var futexes = thread.Kernel.Futexes;
        var woken = futexes.Wake(key, (int)Math.Min(wakeCount, int.MaxValue), uint.MaxValue);
        if (passes)
            woken += futexes.Wake(key2, wakeCount2, uint.MaxValue);
        return woken;
    }

    /// <summary>FUTEX_LOCK_PI: take the lock word for this thread, sleeping while another owns it.</summary>
    private static Result LockPriorityInheritance(GuestThread thread, GuestAddress address, nint key, GuestAddress timeout, bool tryOnly)
    {
        var futexes = thread.Kernel.Futexes;
        if (thread.RetryState is FutexWaiter waiter)
            futexes.Remove(waiter);
        if (thread.Memory.Read(address, out uint word) is var fault and not Errno.None)
            return fault;
        var owner = word & ThreadIdMask;
        if (owner == 0)
        {
            var others = futexes.HasWaiters(key) ? Waiters : 0;
            return thread.Memory.Write(address, (uint)thread.Id | others) is var writeFault and not Errno.None ? writeFault : 0;
        }
        if (owner == (uint)thread.Id)
            return Errno.EDEADLK;
        if (thread.Kernel.FindThread((int)owner) is null)
        {
            // The owner is gone: the lock passes on, marked so the new owner can repair its state.
            return thread.Memory.Write(address, (uint)thread.Id | OwnerDied) is var ownerFault and not Errno.None ? ownerFault : Errno.EOWNERDEAD;
        }
        if (tryOnly)
            return Errno.EAGAIN;
        if (thread.Memory.Write(address, word | Waiters) is var markFault and not Errno.None)
            return markFault;
        var deadline = Syscalls.Wait.NoDeadline;
        if (!timeout.IsNull)
        {
            if (LinuxStructures.ReadTime(thread, timeout, out var limit) is var timeoutFault and not Errno.None)
                return timeoutFault;
            deadline = thread.Kernel.Clock.ToMonotonic(ClockId.CLOCK_REALTIME, limit.Seconds * 1_000_000_000 + limit.Nanoseconds);
        }
        if (thread.WakeReason is WakeReason.TimedOut)
            return Errno.ETIMEDOUT;
        var queued = futexes.Enqueue(thread, key, uint.MaxValue);
        thread.RetryState = queued;
        return thread.Block(new Wait(queued.Queue, deadline));
    }

    /// <summary>FUTEX_UNLOCK_PI: release a lock this thread owns and wake one sleeper to take it.</summary>
    private static Result UnlockPriorityInheritance(GuestThread thread, GuestAddress address)
    {
        if (thread.Memory.Read(address, out uint word) is var fault and not Errno.None)
            return fault;
        if ((word & ThreadIdMask) != (uint)thread.Id)
            return Errno.EPERM;
        if ((address.Value & 3) != 0)
            return Errno.EINVAL;
        if (thread.Memory.HostAddress(address, out var key) is var keyFault and not Errno.None)
            return keyFault;
        if (thread.Memory.Write(address, 0u) is var writeFault and not Errno.None)
            return writeFault;
        thread.Kernel.Futexes.Wake(key, 1, uint.MaxValue);
        return 0;
    }
}
