using System.Buffers.Binary;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>System V semaphore sets: semget, semop/semtimedop (all operations of a call at once, or none), semctl, SEM_UNDO.</summary>
public static class IpcSemaphores
{
    private const int PerSetMaximum = 32000; // SEMMSL
    private const int OperationsMaximum = 500; // SEMOPM
    private const int SetsMaximum = 32000; // SEMMNI
    private const int StatusSize = 104; // struct semid64_ds

    [Syscall("semget", Support = Support.Full)]
    public static Result Get(GuestThread thread, int key, int count, [Argument(Enum = typeof(IpcFlags))] int flags)
    {
        if (count < 0 || count > PerSetMaximum)
            return Errno.EINVAL;
        var registry = thread.Kernel.SystemV.Semaphores;
        if (count == 0 && (key == IpcRegistry<SemaphoreSet>.PrivateKey || registry.FindKey(key) is null) && ((IpcFlags)flags & IpcFlags.IPC_CREAT) != 0)
            return Errno.EINVAL;
        return Ipc.Get(thread, registry, key, (IpcFlags)flags,
            existing => count > existing.Values.Length ? Errno.EINVAL : Errno.None,
            () => registry.All.Count() >= SetsMaximum ? null : new SemaphoreSet(count));
    }

    [Syscall("semop", Support = Support.Full)]
    public static Result Operate(GuestThread thread, int id, GuestAddress operations, ulong count)
        => TimedOperate(thread, id, operations, count, default);

    [Syscall("semtimedop", Support = Support.Full)]
    public static Result TimedOperate(GuestThread thread, int id, GuestAddress operations, ulong count, [Argument(ArgumentKind.Timespec)] GuestAddress timeout)
    {
        const short NoWait = (short)IpcFlags.IPC_NOWAIT, Undo = (short)IpcFlags.SEM_UNDO;
        if (count < 1)
            return Errno.EINVAL;
        if (count > OperationsMaximum)
            return Errno.E2BIG;
        // struct sembuf: unsigned short sem_num; short sem_op; short sem_flg.
        var raw = new byte[count * 6];
        if (thread.Memory.Read(operations, raw) is var fault and not Errno.None)
            return fault;
        if (Polling.TimespecDeadline(thread, timeout, out var deadline) is var timeError and not Errno.None)
            return timeError;
        var set = thread.Kernel.SystemV.Semaphores.Find(id);
        if (set is null)
            return thread.RetryState is SemaphoreSet ? Errno.EIDRM : Errno.EINVAL;
        var ops = new (ushort Number, short Operation, short Flags)[count];
        var alters = false;
        for (var i = 0; i < ops.Length; i++)
        {
            ops[i] = (BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(i * 6)), BinaryPrimitives.ReadInt16LittleEndian(raw.AsSpan(i * 6 + 2)), BinaryPrimitives.ReadInt16LittleEndian(raw.AsSpan(i * 6 + 4)));
            if (ops[i].Number >= set.Values.Length)
                return Errno.EFBIG;
            alters |= ops[i].Operation != 0;
        }
        if (!Ipc.Allowed(thread, set, alters ? Ipc.Write : Ipc.Read))
            return Errno.EACCES;
        set.Waiters.Remove(thread);

        // Try the whole array on a copy: it applies entirely or not at all.
        var values = (int[])set.Values.Clone();
        foreach (var (number, operation, flags) in ops)
        {
            var value = values[number];
            if (operation > 0 && value + operation > SemaphoreSet.MaximumValue)
                return Errno.ERANGE;
            if ((operation < 0 && value + operation < 0) || (operation == 0 && value != 0))
            {
                if ((flags & NoWait) != 0)
                    return Errno.EAGAIN;
                if (deadline == 0 || (deadline != Wait.NoDeadline && deadline <= thread.Kernel.Clock.Monotonic))
                    return Errno.EAGAIN;
                set.Waiters[thread] = (number, operation == 0);
                thread.RetryState = set;
                var slept = thread.Block(new Wait(set.Changes, deadline));
                if (slept.IsFinished || slept.Control is Restart)
                    set.Waiters.Remove(thread);
                if (slept.Error == Errno.ETIMEDOUT)
                    return Errno.EAGAIN;
                // semop is never restarted after a handler, with or without SA_RESTART.
                return slept.Control is Restart ? Result.Interrupted(RestartRule.OnlyWithoutHandler) : slept;
            }
            values[number] = value + operation;
        }
        values.CopyTo(set.Values, 0);
        var ipc = thread.Kernel.SystemV;
        foreach (var (number, operation, flags) in ops)
        {
            set.Pids[number] = thread.Process.Id;
            if ((flags & Undo) != 0 && operation != 0)
                ipc.RecordUndo(thread.Process, set.Id, number, -operation);
        }
        set.OperationTime = Ipc.Now(thread);
        set.Changes.Notify();
        return 0;
    }

    [Syscall("semctl", Support = Support.Partial, Note = "the 64-bit structures (IPC_64) only")]
    public static Result Control(GuestThread thread, int id, int number, int command, ulong argument)
    {
        var kernel = thread.Kernel;
        var registry = kernel.SystemV.Semaphores;
        var cmd = Ipc.Command(command);
        var memory = thread.Memory;
        var pointer = new GuestAddress(argument);
        if (cmd is IpcCommand.IPC_INFO or IpcCommand.SEM_INFO)
        {
            // struct seminfo: semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz, semvmx, semaem.
            int[] info = cmd == IpcCommand.IPC_INFO
                ? [SetsMaximum, SetsMaximum, SetsMaximum * PerSetMaximum, SetsMaximum, PerSetMaximum, OperationsMaximum, OperationsMaximum, 20, SemaphoreSet.MaximumValue, SemaphoreSet.MaximumValue]
                : [SetsMaximum, SetsMaximum, SetsMaximum * PerSetMaximum, registry.All.Count(), PerSetMaximum, OperationsMaximum, OperationsMaximum, registry.All.Sum(s => s.Values.Length), SemaphoreSet.MaximumValue, SemaphoreSet.MaximumValue];
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(info.AsSpan());
            return memory.Write(pointer, bytes) is var infoFault and not Errno.None ? infoFault : registry.HighestIndex;
        }
        var set = cmd is IpcCommand.SEM_STAT or IpcCommand.SEM_STAT_ANY ? registry.AtIndex(id) : registry.Find(id);
        if (set is null)
            return Errno.EINVAL;
        var count = set.Values.Length;
        var single = cmd is IpcCommand.GETVAL or IpcCommand.SETVAL or IpcCommand.GETPID or IpcCommand.GETNCNT or IpcCommand.GETZCNT;
        if (single && (number < 0 || number >= count))
            return Errno.EINVAL;
        var needed = cmd switch
        {
            IpcCommand.SETVAL or IpcCommand.SETALL => Ipc.Write,
            IpcCommand.IPC_SET or IpcCommand.IPC_RMID or IpcCommand.SEM_STAT_ANY => 0,
            _ => Ipc.Read,
        };
        if (needed != 0 && !Ipc.Allowed(thread, set, needed))
            return Errno.EACCES;
        switch (cmd)
        {
            case IpcCommand.GETVAL:
                return set.Values[number];
            case IpcCommand.GETPID:
                return set.Pids[number];
            case IpcCommand.GETNCNT or IpcCommand.GETZCNT:
                return set.Waiters.Count(w => w.Value.Semaphore == number && w.Value.ForZero == (cmd == IpcCommand.GETZCNT) && !w.Key.Killed);
            case IpcCommand.SETVAL:
                var value = (int)(uint)argument;
                if (value < 0 || value > SemaphoreSet.MaximumValue)
                    return Errno.ERANGE;
                set.Values[number] = value;
                set.Pids[number] = thread.Process.Id;
                return Changed(thread, set, number);
            case IpcCommand.GETALL:
                var all = new ushort[count];
                for (var i = 0; i < count; i++)
                    all[i] = (ushort)set.Values[i];
                return memory.Write(pointer, System.Runtime.InteropServices.MemoryMarshal.AsBytes(all.AsSpan())) is var getFault and not Errno.None ? getFault : 0;
            case IpcCommand.SETALL:
                var incoming = new ushort[count];
                if (memory.Read(pointer, System.Runtime.InteropServices.MemoryMarshal.AsBytes(incoming.AsSpan())) is var setFault and not Errno.None)
                    return setFault;
                if (incoming.Any(v => v > SemaphoreSet.MaximumValue))
                    return Errno.ERANGE;
                for (var i = 0; i < count; i++)
                {
                    set.Values[i] = incoming[i];
                    set.Pids[i] = thread.Process.Id;
                }
                return Changed(thread, set, null);
            case IpcCommand.IPC_STAT or IpcCommand.SEM_STAT or IpcCommand.SEM_STAT_ANY:
                var status = new byte[StatusSize];
                set.WritePermissions(status);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(48), set.OperationTime);
                BinaryPrimitives.WriteInt64LittleEndian(status.AsSpan(64), set.ChangeTime);
                BinaryPrimitives.WriteUInt64LittleEndian(status.AsSpan(80), (ulong)count);
                if (memory.Write(pointer, status) is var statFault and not Errno.None)
                    return statFault;
                return cmd == IpcCommand.IPC_STAT ? 0 : set.Id;
            case IpcCommand.IPC_SET:
                var permissions = new byte[48];
                if (memory.Read(pointer, permissions) is var readFault and not Errno.None)
                    return readFault;
                if (!Ipc.IsOwner(thread, set))
                    return Errno.EPERM;
                set.ReadPermissions(permissions);
                set.ChangeTime = Ipc.Now(thread);
                return 0;
            case IpcCommand.IPC_RMID:
                if (!Ipc.IsOwner(thread, set))
                    return Errno.EPERM;
                kernel.SystemV.ForgetUndo(set.Id);
                registry.Remove(set);
                return 0;
            default:
                return Errno.EINVAL;
        }
    }

    /// <summary>SETVAL and SETALL: earlier SEM_UNDO adjustments are void, and waiters look again.</summary>
    private static Result Changed(GuestThread thread, SemaphoreSet set, int? number)
    {
        thread.Kernel.SystemV.ForgetUndo(set.Id, number);
        set.ChangeTime = Ipc.Now(thread);
        set.Changes.Notify();
        return 0;
    }
}
