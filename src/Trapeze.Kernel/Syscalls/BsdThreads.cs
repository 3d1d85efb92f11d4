using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;
using static Trapeze.Kernel.Syscalls.BsdGuest;

namespace Trapeze.Kernel.Syscalls;

/// <summary>FreeBSD's threads (thr(2)) and its user mutex call (_umtx_op(2)), on Trapeze's threads and futexes.</summary>
public static class BsdThreads
{
    // sys/umtx.h
    private const int UmtxWait = 2, UmtxWake = 3, UmtxWaitUint = 11, UmtxWaitUintPrivate = 15, UmtxWakePrivate = 16;
    private const int TimespecSize = 16;

    /// <summary>A long of the guest's (thr_self's and thr_new's tids, thr_exit's state): 8 bytes on amd64, 4 on i386.</summary>
    private static Errno WriteLong(GuestThread thread, GuestAddress address, long value)
        => WordSize(thread) == 8 ? thread.Memory.Write(address, value) : thread.Memory.Write(address, (int)value);

    /// <summary>struct thr_param (sys/thr.h): start_func, arg, stack_base, stack_size, tls_base, tls_size, child_tid, parent_tid, flags, rtp, in words.</summary>
    [Syscall("thr_new", Support = Support.Partial, Note = "start_func(arg) on stack_base+stack_size with tls_base; flags and rtprio ignored")]
    public static Result NewThread(GuestThread thread, GuestAddress parameters, int size)
    {
        var word = WordSize(thread);
        Span<ulong> fields = stackalloc ulong[8];
        if (size < 8 * word)
            return Errno.EINVAL;
        var bytes = new byte[8 * word];
        if (thread.Memory.Read(parameters, bytes) is var fault and not Errno.None)
            return fault;
        for (var index = 0; index < fields.Length; index++)
            fields[index] = word == 8 ? BitConverter.ToUInt64(bytes, 8 * index) : BitConverter.ToUInt32(bytes, 4 * index);
        var (start, argument, stackBase, stackSize, tls) = (fields[0], fields[1], fields[2], fields[3], fields[4]);
        var created = CloneCalls.CreateThread(thread, stackBase + stackSize, tls);
        if (created.IsError || thread.Kernel.FindThread((int)created.Raw) is not { } child)
            return created;
        if (thread.Process.Personality is BsdPersonality personality)
            personality.StartThread(child, start, argument, stackBase + stackSize);
        // Both tids are longs: the child's own and its creator's copy.
        if (fields[6] != 0)
            WriteLong(thread, new GuestAddress(fields[6]), child.Id);
        if (fields[7] != 0)
            WriteLong(thread, new GuestAddress(fields[7]), child.Id);
        return 0;
    }

    [Syscall("thr_self", Support = Support.Full)]
    public static Result Self(GuestThread thread, GuestAddress id)
        => WriteLong(thread, id, thread.Id) is var fault and not Errno.None ? fault : 0;

    /// <summary>thr_exit(2): *state = 1 and a wake-up for its waiters (what pthread_join sleeps on), then the thread ends.</summary>
    [Syscall("thr_exit", Support = Support.Full)]
    public static Result Exit(GuestThread thread, GuestAddress state)
    {
        if (!state.IsNull && WriteLong(thread, state, 1) is Errno.None)
            thread.Kernel.Futexes.Wake(thread.Process, state, int.MaxValue, uint.MaxValue);
        return ProcessCalls.Exit(thread, 0);
    }

    [Syscall("_umtx_op", Support = Support.Partial, Note = "WAIT, WAIT_UINT(_PRIVATE), WAKE(_PRIVATE) with a relative timespec; the mutex, condition variable and semaphore operations ENOSYS")]
    public static Result UserMutex(GuestThread thread, GuestAddress address, int operation, ulong value, GuestAddress size, GuestAddress timeout)
    {
        switch (operation)
        {
            case UmtxWait or UmtxWaitUint or UmtxWaitUintPrivate:
                // A retried wait is the futex's own business; a first one compares the whole word (a long for UMTX_OP_WAIT).
                if (thread.RetryState is not FutexWaiter)
                {
                    var wide = operation == UmtxWait && WordSize(thread) == 8;
                    Errno fault;
                    ulong current;
                    if (wide)
                    {
                        fault = thread.Memory.Read(address, out current);
                    }
                    else
                    {
                        fault = thread.Memory.Read(address, out uint narrow);
                        current = narrow;
                    }
                    if (fault is not Errno.None)
                        return fault;
                    if (current != (wide ? value : (uint)value))
                        return 0;
                    value = current;
                }
                var limit = size.Value == TimespecSize ? timeout : default;
                var waited = FutexCalls.Futex(thread, address, (int)FutexOperation.FUTEX_WAIT, (uint)value, limit, default, 0);
                return waited.Error == Errno.EAGAIN ? 0 : waited;
            case UmtxWake or UmtxWakePrivate:
                var woken = FutexCalls.Futex(thread, address, (int)FutexOperation.FUTEX_WAKE, (uint)Math.Min(value, int.MaxValue), default, default, 0);
                return woken.IsError ? woken : 0;
            default:
                return Errno.ENOSYS;
        }
    }
}
