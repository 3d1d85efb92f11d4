using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// io_uring: rings in shared memory the guest maps (<see cref="IoUringFile"/>). io_uring_enter
/// carries requests out by calling the system calls they stand for (read is pread64 or read,
/// accept is accept4...), without blocking: a request whose file is not ready waits in the ring
/// and is tried again whenever the guest enters the ring, as does a timeout.
/// </summary>
public static class IoUring
{
    private const int ParametersSize = 120;
    private const uint MaximumEntries = 32768;
    private const IoUringSetupFlags Accepted = IoUringSetupFlags.IORING_SETUP_CQSIZE | IoUringSetupFlags.IORING_SETUP_CLAMP | IoUringSetupFlags.IORING_SETUP_SUBMIT_ALL
        | IoUringSetupFlags.IORING_SETUP_COOP_TASKRUN | IoUringSetupFlags.IORING_SETUP_TASKRUN_FLAG | IoUringSetupFlags.IORING_SETUP_SINGLE_ISSUER | IoUringSetupFlags.IORING_SETUP_DEFER_TASKRUN;
    private const int TimeExpired = 62; // ETIME

    private static readonly Dictionary<string, SyscallDefinition> Handlers = SyscallCatalog.Definitions.ToDictionary(d => d.Name);

    [Syscall("io_uring_setup", Returns = ResultKind.Fd, Support = Support.Partial, Note = "no SQPOLL or IOPOLL (EINVAL); requests run when the guest enters the ring")]
    public static Result Setup(GuestThread thread, uint entries, GuestAddress parameters)
    {
        var bytes = new byte[ParametersSize];
        if (thread.Memory.Read(parameters, bytes) is var fault and not Errno.None)
            return fault;
        var flags = (IoUringSetupFlags)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        if ((flags & ~Accepted) != 0 || bytes.AsSpan(28, 12).ContainsAnyExcept((byte)0))
            return Errno.EINVAL;
        var clamp = (flags & IoUringSetupFlags.IORING_SETUP_CLAMP) != 0;
        if (entries == 0 || (entries > MaximumEntries && !clamp))
            return Errno.EINVAL;
        var submissions = System.Numerics.BitOperations.RoundUpToPowerOf2(Math.Min(entries, MaximumEntries));
        var completions = 2 * submissions;
        if ((flags & IoUringSetupFlags.IORING_SETUP_CQSIZE) != 0)
        {
            var asked = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
            if (asked == 0 || (asked > 2 * MaximumEntries && !clamp))
                return Errno.EINVAL;
            completions = System.Numerics.BitOperations.RoundUpToPowerOf2(Math.Min(asked, 2 * MaximumEntries));
            if (completions < submissions)
                return Errno.EINVAL;
        }
        if (IoUringFile.Create(submissions, completions) is not { } ring)
            return Errno.ENOMEM;
        var features = IoUringFeatures.IORING_FEAT_SINGLE_MMAP | IoUringFeatures.IORING_FEAT_NODROP | IoUringFeatures.IORING_FEAT_SUBMIT_STABLE
            | IoUringFeatures.IORING_FEAT_RW_CUR_POS | IoUringFeatures.IORING_FEAT_EXT_ARG;
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, submissions);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], completions);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], (uint)features);
        // struct io_sqring_offsets: head, tail, ring_mask, ring_entries, flags, dropped, array.
        uint[] submission = [IoUringFile.SqHead, IoUringFile.SqTail, IoUringFile.SqMask, IoUringFile.SqEntries, IoUringFile.SqFlags, IoUringFile.SqDropped, IoUringFile.ArrayOffset(completions)];
        // struct io_cqring_offsets: head, tail, ring_mask, ring_entries, overflow, cqes, flags.
        uint[] completion = [IoUringFile.CqHead, IoUringFile.CqTail, IoUringFile.CqMask, IoUringFile.CqEntries, IoUringFile.CqOverflow, IoUringFile.Completions, IoUringFile.CqFlags];
        for (var i = 0; i < 7; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[(40 + 4 * i)..], submission[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(span[(80 + 4 * i)..], completion[i]);
        }
        if (thread.Memory.Write(parameters, bytes) is var writeFault and not Errno.None)
        {
            ring.Release();
            return writeFault;
        }
        var fd = thread.Process.Files.Add(ring, closeOnExec: true);
        if (fd.IsError)
            ring.Release();
        return fd;
    }

    [Syscall("io_uring_enter", Support = Support.Partial, Note = "read, write, readv, writev, fsync, poll_add, timeout, openat, close, accept, connect, send, recv, nop; other opcodes complete with -EINVAL; IOSQE_IO_LINK chains run in order but are not cancelled; the signal mask of IORING_ENTER_EXT_ARG is not applied")]
    public static Result Enter(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, uint toSubmit, uint minimumComplete, IoUringEnterFlags flags, GuestAddress argument, ulong argumentSize)
    {
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        if (file is not IoUringFile ring)
            return Errno.EOPNOTSUPP;
        if ((flags & IoUringEnterFlags.IORING_ENTER_REGISTERED_RING) != 0)
            return Errno.EINVAL;
        var deadline = Wait.NoDeadline;
        if ((flags & IoUringEnterFlags.IORING_ENTER_EXT_ARG) != 0 && !argument.IsNull)
        {
            // struct io_uring_getevents_arg: sigmask, sigmask_sz, pad, ts.
            Span<ulong> words = stackalloc ulong[3];
            if (argumentSize != 24)
                return Errno.EINVAL;
            if (thread.Memory.Read(argument, System.Runtime.InteropServices.MemoryMarshal.AsBytes(words)) is var fault and not Errno.None)
                return fault;
            if (Polling.TimespecDeadline(thread, new GuestAddress(words[2]), out deadline) is var timeError and not Errno.None)
                return timeError;
        }

        if (thread.RetryState is not Submitted submitted)
        {
            submitted = new Submitted(0);
            for (; submitted.Count < toSubmit && ring.NextSubmission() is { } entry; submitted.Count++)
            {
                if (entry.Length == 0)
                    continue;
                var request = new IoUringRequest(entry);
                if (request.Opcode == (int)IoUringOperation.IORING_OP_TIMEOUT && StartTimeout(thread, ring, request) is var timeoutError and not Errno.None)
                    Complete(ring, request, -(int)timeoutError);
                else
                    ring.Pending.Add(request);
            }
            thread.RetryState = submitted;
        }
        return Progress(thread, ring, submitted, flags, minimumComplete, deadline);
    }

    private sealed class Submitted(int count)
    {
        public int Count { get; set; } = count;
    }

    /// <summary>Runs what can run; with IORING_ENTER_GETEVENTS, sleeps until <paramref name="minimum"/> completions wait.</summary>
    private static Result Progress(GuestThread thread, IoUringFile ring, Submitted submitted, IoUringEnterFlags flags, uint minimum, long deadline)
    {
        var wait = new Wait(ring.Changes);
        RunPending(thread, ring, wait);
        ring.Flush();
        if ((flags & IoUringEnterFlags.IORING_ENTER_GETEVENTS) == 0 || ring.ReadyCompletions >= minimum)
            return submitted.Count;
        if (deadline != Wait.NoDeadline && deadline <= thread.Kernel.Clock.Monotonic)
            return submitted.Count > 0 ? submitted.Count : Errno.ETIME;
        // A wake-up is looked at here rather than through thread.Block: a request's timeout ending
        // the sleep is no error, only a reason to run the ring again.
        if (thread.WakeReason == WakeReason.Interrupted)
            return submitted.Count > 0 ? submitted.Count : Result.Interrupted(RestartRule.Never);
        foreach (var request in ring.Pending)
            wait.Deadline = Math.Min(wait.Deadline, request.Deadline);
        wait.Deadline = Math.Min(wait.Deadline, deadline);
        return Result.Blocked(wait);
    }

    /// <summary>Tries every waiting request once; those still waiting add what they wait for to <paramref name="wait"/>.</summary>
    private static void RunPending(GuestThread thread, IoUringFile ring, Wait wait)
    {
        var now = thread.Kernel.Clock.Monotonic;
        foreach (var request in ring.Pending.ToList())
        {
            if (!ring.Pending.Contains(request))
                continue;
            if (request.Opcode == (int)IoUringOperation.IORING_OP_TIMEOUT)
            {
                if (request.Deadline <= now)
                    Complete(ring, request, -TimeExpired);
                continue;
            }
            if (Run(thread, request, wait) is { } result)
                Complete(ring, request, result);
        }
    }

    private static void Complete(IoUringFile ring, IoUringRequest request, int result)
    {
        const byte SkipSuccess = (byte)IoUringSqeFlags.IOSQE_CQE_SKIP_SUCCESS;
        ring.Pending.Remove(request);
        if ((request.Flags & SkipSuccess) == 0 || result < 0)
            ring.Complete(request.UserData, result);
        if (request.Opcode == (int)IoUringOperation.IORING_OP_TIMEOUT)
            return;
        // A timeout with a count completes once that many other requests have.
        foreach (var timeout in ring.Pending.Where(p => p.Opcode == (int)IoUringOperation.IORING_OP_TIMEOUT && p.CompletionsLeft > 0).ToList())
        {
            if (--timeout.CompletionsLeft == 0)
                Complete(ring, timeout, 0);
        }
    }

    /// <summary>IORING_OP_TIMEOUT: addr points to a struct __kernel_timespec, off is the completion count, IORING_TIMEOUT_ABS makes it absolute.</summary>
    private static Errno StartTimeout(GuestThread thread, IoUringFile ring, IoUringRequest request)
    {
        const uint Absolute = 1, ClockFlags = 2 | 4; // IORING_TIMEOUT_ABS, _BOOTTIME, _REALTIME
        if (request.Length != 1 || (request.OperationFlags & ~(Absolute | ClockFlags)) != 0)
            return Errno.EINVAL;
        if (thread.Memory.Read(new GuestAddress(request.Address), out Timespec time) is var fault and not Errno.None)
            return fault;
        if (time.Seconds < 0 || time.Nanoseconds is < 0 or >= 1_000_000_000)
            return Errno.EINVAL;
        var nanoseconds = time.Seconds * 1_000_000_000 + time.Nanoseconds;
        var clock = (request.OperationFlags & 4) != 0 ? ClockId.CLOCK_REALTIME : ClockId.CLOCK_MONOTONIC;
        var kernelClock = thread.Kernel.Clock;
        request.Deadline = (request.OperationFlags & Absolute) != 0 ? kernelClock.ToMonotonic(clock, nanoseconds) : kernelClock.Monotonic + nanoseconds;
        request.CompletionsLeft = (long)request.Offset;
        _ = ring;
        return Errno.None;
    }

    /// <summary>One request: its result, or null when its file is not ready (it stays in the ring).</summary>
    private static int? Run(GuestThread thread, IoUringRequest request, Wait wait)
    {
        var current = request.Offset == ulong.MaxValue;
        var (fd, address, length, flags) = ((ulong)(long)request.Fd, request.Address, (ulong)request.Length, (ulong)request.OperationFlags);
        switch ((IoUringOperation)request.Opcode)
        {
            case IoUringOperation.IORING_OP_NOP:
                return 0;
            case IoUringOperation.IORING_OP_READ:
                return Call(thread, request, wait, Polling.Readable, current ? "read" : "pread64", fd, address, length, request.Offset);
            case IoUringOperation.IORING_OP_WRITE:
                return Call(thread, request, wait, Polling.Writable, current ? "write" : "pwrite64", fd, address, length, request.Offset);
            case IoUringOperation.IORING_OP_READV:
                return Call(thread, request, wait, Polling.Readable, current ? "readv" : "preadv", fd, address, length, request.Offset);
            case IoUringOperation.IORING_OP_WRITEV:
                return Call(thread, request, wait, Polling.Writable, current ? "writev" : "pwritev", fd, address, length, request.Offset);
            case IoUringOperation.IORING_OP_FSYNC:
                return Call(thread, request, wait, 0, (flags & 1) != 0 ? "fdatasync" : "fsync", fd); // IORING_FSYNC_DATASYNC
            case IoUringOperation.IORING_OP_POLL_ADD:
                if (thread.Process.Files.Get(request.Fd) is not { } polled)
                    return -(int)Errno.EBADF;
                var ready = Polling.ReadyNow(thread, polled, (short)flags, wait);
                return ready != 0 ? (ushort)ready : null;
            case IoUringOperation.IORING_OP_OPENAT:
                return Call(thread, request, wait, 0, "openat", fd, address, flags, length);
            case IoUringOperation.IORING_OP_CLOSE:
                return Call(thread, request, wait, 0, "close", fd);
            case IoUringOperation.IORING_OP_ACCEPT:
                return Call(thread, request, wait, Polling.Readable, "accept4", fd, address, request.Offset, flags);
            case IoUringOperation.IORING_OP_CONNECT:
                return Call(thread, request, wait, Polling.Writable, "connect", fd, address, request.Offset);
            case IoUringOperation.IORING_OP_SEND:
                return Call(thread, request, wait, Polling.Writable, "sendto", fd, address, length, flags, 0, 0);
            case IoUringOperation.IORING_OP_RECV:
                return Call(thread, request, wait, Polling.Readable, "recvfrom", fd, address, length, flags, 0, 0);
            default:
                return -(int)Errno.EINVAL;
        }
    }

    /// <summary>
    /// Runs the system call a request stands for once its file has <paramref name="needs"/>, with the
    /// file made non-blocking for the call: "would block" leaves the request waiting, unless the
    /// file is non-blocking itself (then -EAGAIN is its answer, as Linux gives it).
    /// </summary>
    private static int? Call(GuestThread thread, IoUringRequest request, Wait wait, short needs, string name, params ulong[] arguments)
    {
        if (!Handlers.TryGetValue(name, out var handler))
            return -(int)Errno.EINVAL;
        var file = needs != 0 ? thread.Process.Files.Get(request.Fd) : null;
        if (needs != 0 && file is null)
            return -(int)Errno.EBADF;
        if (file is not null && Polling.ReadyNow(thread, file, needs, wait) == 0)
            return null;
        var raw = new SyscallArguments();
        var span = new ulong[6];
        arguments.CopyTo(span, 0);
        (raw.Arg0, raw.Arg1, raw.Arg2, raw.Arg3, raw.Arg4, raw.Arg5) = (span[0], span[1], span[2], span[3], span[4], span[5]);
        var flags = file?.StatusFlags ?? 0;
        var retry = thread.RetryState;
        thread.RetryState = null;
        if (file is not null)
            file.StatusFlags |= OpenFlags.O_NONBLOCK;
        var result = handler.Invoke(thread, raw);
        if (file is not null)
            file.StatusFlags = flags;
        thread.RetryState = retry;
        var wouldBlock = !result.IsFinished || result.Error == Errno.EAGAIN;
        if (wouldBlock && (flags & OpenFlags.O_NONBLOCK) == 0 && file is not null)
            return null;
        return !result.IsFinished ? -(int)Errno.EAGAIN : (int)result.Raw;
    }

    [Syscall("io_uring_register", Support = Support.Partial, Note = "IORING_REGISTER_PROBE; registered buffers, files and ring descriptors are EINVAL")]
    public static Result Register(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, uint opcode, GuestAddress argument, uint count)
    {
        const uint Probe = 8; // IORING_REGISTER_PROBE
        if (thread.Process.Files.Get(fd) is not { } file)
            return Errno.EBADF;
        if (file is not IoUringFile)
            return Errno.EOPNOTSUPP;
        if (opcode != Probe)
            return Errno.EINVAL;
        // struct io_uring_probe: last_op, ops_len, resv, resv2[3], then io_uring_probe_op {op, resv, flags, resv2} per opcode.
        var supported = new[] { IoUringOperation.IORING_OP_NOP, IoUringOperation.IORING_OP_READV, IoUringOperation.IORING_OP_WRITEV, IoUringOperation.IORING_OP_FSYNC,
            IoUringOperation.IORING_OP_POLL_ADD, IoUringOperation.IORING_OP_TIMEOUT, IoUringOperation.IORING_OP_ACCEPT, IoUringOperation.IORING_OP_CONNECT,
            IoUringOperation.IORING_OP_OPENAT, IoUringOperation.IORING_OP_CLOSE, IoUringOperation.IORING_OP_READ, IoUringOperation.IORING_OP_WRITE,
            IoUringOperation.IORING_OP_SEND, IoUringOperation.IORING_OP_RECV };
        var last = (int)IoUringOperation.IORING_OP_RECV;
        var length = (int)Math.Min(count, (uint)(last + 1));
        var bytes = new byte[16 + 8 * count];
        bytes[0] = (byte)last;
        bytes[1] = (byte)length;
        for (var op = 0; op < length; op++)
        {
            bytes[16 + 8 * op] = (byte)op;
            if (supported.Contains((IoUringOperation)op))
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(16 + 8 * op + 2), 1); // IO_URING_OP_SUPPORTED
        }
        return thread.Memory.Write(argument, bytes) is var fault and not Errno.None ? fault : 0;
    }
}
