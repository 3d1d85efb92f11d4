using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Who and where the process is: uname, ids, limits, randomness, CPU state.</summary>
public static unsafe class SystemInfo
{
    [Syscall("uname", Support = Support.Full)]
    public static Result Uname(GuestThread thread, [Argument(ArgumentKind.SystemName, Direction = Direction.Out)] GuestAddress name)
    {
        const int UtsnameSize = 6 * 65;
        var buffer = stackalloc byte[UtsnameSize];
        var result = HostSyscall.Invoke(HostSyscall.Uname, (long)buffer);
        if (result < 0)
            return result;
        if (thread.Process.Kernel.Options.HostName is { } hostName)
        {
            const int NodeName = 65, FieldSize = 65;
            var field = new Span<byte>(buffer + NodeName, FieldSize);
            field.Clear();
            System.Text.Encoding.UTF8.GetBytes(hostName.AsSpan(0, Math.Min(hostName.Length, FieldSize - 1)), field);
        }
        return thread.Memory.Write(name, new ReadOnlySpan<byte>(buffer, UtsnameSize)) is var fault and not Errno.None ? fault : 0;
    }

    [Syscall("getrandom", Support = Support.Full)]
    public static Result GetRandom(GuestThread thread, [Argument(ArgumentKind.Buffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result, Hex = true)] GuestAddress buffer, ulong count, GetRandomFlags flags)
    {
        if ((flags & ~(GetRandomFlags.GRND_NONBLOCK | GetRandomFlags.GRND_RANDOM | GetRandomFlags.GRND_INSECURE)) != 0)
            return Errno.EINVAL;
        // One call gives at most 32 MiB, as a short read may.
        return FillRandom(thread, buffer, count, 32 * 1024 * 1024);
    }

    /// <summary>
    /// The kernel's random bytes into the guest's buffer, at most <paramref name="most"/>: Linux fills
    /// up to the first faulting page (EFAULT only if none), in chunks, so a huge count never becomes
    /// a huge host buffer.
    /// </summary>
    internal static Result FillRandom(GuestThread thread, GuestAddress buffer, ulong count, ulong most)
    {
        var length = thread.Memory.AccessibleLength(buffer, Math.Min(count, most), write: true);
        if (length == 0)
            return count == 0 ? 0 : Errno.EFAULT;
        for (ulong done = 0; done < length;)
        {
            var chunk = thread.Kernel.Random.GetBytes((int)Math.Min(length - done, 64 * 1024));
            thread.Memory.Write(buffer + done, chunk);
            done += (ulong)chunk.Length;
        }
        return (long)length;
    }

    [Syscall("prlimit64", Support = Support.Partial, Note = "the calling process only (pid 0 or its own); enforced: RLIMIT_AS (mmap, brk, mremap), RLIMIT_DATA (brk), RLIMIT_NOFILE, RLIMIT_NPROC (fork, clone), RLIMIT_FSIZE (writes, truncate, fallocate; SIGXFSZ), RLIMIT_CPU (SIGXCPU each second past the soft limit, SIGKILL at the hard one, on both platforms: the native platform counts the guest thread's time in its stub process too); RLIMIT_STACK, RLIMIT_CORE, RLIMIT_MEMLOCK and the other limits are recorded and reported, not enforced")]
    public static Result ResourceLimit(GuestThread thread, int pid, RlimitResource resource, [Argument(ArgumentKind.ResourceLimit)] GuestAddress newLimit, [Argument(ArgumentKind.ResourceLimit, Direction = Direction.Out)] GuestAddress oldLimit)
        => Limits(thread, pid, resource, newLimit, oldLimit, null);

    /// <summary>fs.nr_open: the most descriptors RLIMIT_NOFILE may allow.</summary>
    private const ulong MostOpenFiles = 1024 * 1024;

    /// <summary>prlimit64 always takes struct rlimit64; getrlimit and setrlimit the personality's struct rlimit (<paramref name="structures"/>).</summary>
    private static Result Limits(GuestThread thread, int pid, RlimitResource resource, GuestAddress newLimit, GuestAddress oldLimit, Abi.Linux.LinuxStructures? structures)
    {
        if (pid != 0 && pid != thread.Process.Id)
            return Errno.ESRCH;
        if ((uint)resource > (uint)RlimitResource.RLIMIT_RTTIME)
            return Errno.EINVAL;
        var limits = thread.Process.ResourceLimits;
        var current = limits.TryGetValue(resource, out var known) ? known : new Abi.Linux.ResourceLimit { Current = ulong.MaxValue, Maximum = ulong.MaxValue };
        if (!newLimit.IsNull)
        {
            Abi.Linux.ResourceLimit requested;
            if ((structures is null ? thread.Memory.Read(newLimit, out requested) : structures.ReadLimit(thread.Memory, newLimit, out requested)) is var fault and not Errno.None)
                return fault;
            if (requested.Current > requested.Maximum)
                return Errno.EINVAL;
            // Raising a hard limit takes CAP_SYS_RESOURCE (the guest's root, where Trapeze has it), never
            // past nr_open for descriptors, and never past what Trapeze's own options fixed.
            var privileged = thread.Process.Credentials.EffectiveUser == 0 && HostIdentity.MayRaiseLimits;
            if (requested.Maximum > current.Maximum && (!privileged || requested.Maximum > thread.Kernel.CeilingOf(resource)))
                return Errno.EPERM;
            if (resource == RlimitResource.RLIMIT_NOFILE && requested.Maximum > MostOpenFiles)
                return Errno.EPERM;
            limits[resource] = requested;
            if (resource == RlimitResource.RLIMIT_NOFILE)
                thread.Process.Files.Limit = (int)requested.Current;
            if (resource == RlimitResource.RLIMIT_CPU)
                CpuLimit.Watch(thread.Process);
        }
        if (!oldLimit.IsNull && (structures is null ? thread.Memory.Write(oldLimit, current) : structures.WriteLimit(thread.Memory, oldLimit, current)) is var writeFault and not Errno.None)
            return writeFault;
        return 0;
    }

    [Syscall("getrlimit", Support = Support.Partial, Note = "the calling process only")]
    public static Result GetResourceLimit(GuestThread thread, RlimitResource resource, [Argument(ArgumentKind.ResourceLimit, Direction = Direction.Out)] GuestAddress limit)
        => Limits(thread, 0, resource, default, limit, thread.Process.Personality.Structures);

    [Syscall("setrlimit", Support = Support.Partial, Note = "the calling process only; enforced: RLIMIT_AS (mmap, brk, mremap), RLIMIT_DATA (brk), RLIMIT_NOFILE, RLIMIT_NPROC (fork, clone), RLIMIT_FSIZE (writes, truncate, fallocate; SIGXFSZ), RLIMIT_CPU (SIGXCPU each second past the soft limit, SIGKILL at the hard one, on both platforms: the native platform counts the guest thread's time in its stub process too); RLIMIT_STACK, RLIMIT_CORE, RLIMIT_MEMLOCK and the other limits are recorded and reported, not enforced")]
    public static Result SetResourceLimit(GuestThread thread, RlimitResource resource, [Argument(ArgumentKind.ResourceLimit)] GuestAddress limit)
        => Limits(thread, 0, resource, limit, default, thread.Process.Personality.Structures);

    [Syscall("sched_getaffinity", Support = Support.Partial, Note = "every host CPU, for the calling process; arguments are checked in another order than Linux's")]
    public static Result GetAffinity(GuestThread thread, int pid, uint size, [Argument(ArgumentKind.CpuSet, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress mask)
    {
        // One guest thread runs at a time, but the guest may use as many CPUs' worth of threads as the host has.
        var count = Environment.ProcessorCount;
        var bytes = new byte[Math.Max(8, (count + 63) / 64 * 8)];
        if (size < bytes.Length || (size & 7) != 0)
            return Errno.EINVAL;
        if (pid != 0 && pid != thread.Process.Id && pid != thread.Id)
            return Errno.ESRCH;
        for (var cpu = 0; cpu < count; cpu++)
            bytes[cpu / 8] |= (byte)(1 << (cpu % 8));
        return thread.Memory.Write(mask, bytes) is var fault and not Errno.None ? fault : bytes.Length;
    }

    [Syscall("sched_yield", Support = Support.Full)]
    public static Result Yield(GuestThread thread)
    {
        thread.YieldAfterCall();
        return 0;
    }

    [Syscall("getcpu", Support = Support.Partial, Note = "always CPU 0, node 0")]
    public static Result GetCpu(GuestThread thread, GuestAddress cpu, GuestAddress node)
    {
        if (!cpu.IsNull && thread.Memory.Write(cpu, 0u) is var fault and not Errno.None)
            return fault;
        if (!node.IsNull && thread.Memory.Write(node, 0u) is var nodeFault and not Errno.None)
            return nodeFault;
        return 0;
    }

    [Syscall("umask", Support = Support.Full, Returns = ResultKind.Octal)]
    public static Result UserFileCreationMask(GuestThread thread, [Argument(ArgumentKind.Octal)] uint mask)
    {
        var previous = thread.Process.FileCreationMask;
        thread.Process.FileCreationMask = mask & FileSystem.PermissionBits;
        return previous;
    }

    [Syscall("arch_prctl", Support = Support.Partial, Note = "ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS")]
    public static Result ArchitectureControl(GuestThread thread, ArchPrctlCode code, [Argument(ArgumentKind.Hex)] ulong address)
    {
        var cpu = thread.Process.Cpu;
        switch (code)
        {
            case ArchPrctlCode.ARCH_SET_FS:
            case ArchPrctlCode.ARCH_SET_GS:
                if (address >= AddressSpace.UserTop)
                    return Errno.EPERM;
                cpu.WriteRegister(code == ArchPrctlCode.ARCH_SET_FS ? X64Register.FsBase : X64Register.GsBase, address);
                return 0;
            case ArchPrctlCode.ARCH_GET_FS:
            case ArchPrctlCode.ARCH_GET_GS:
                var value = cpu.ReadRegister(code == ArchPrctlCode.ARCH_GET_FS ? X64Register.FsBase : X64Register.GsBase);
                return thread.Memory.Write(new GuestAddress(address), value) is var fault and not Errno.None ? fault : 0;
            default:
                return Errno.EINVAL;
        }
    }

    [Syscall("sysinfo", Support = Support.Partial, Note = "the host's memory and load figures; the process count is the guest's")]
    public static Result SystemStatistics(GuestThread thread, GuestAddress info)
    {
        const int SysinfoSize = 112, ProcessCountOffset = 80;
        var buffer = new byte[SysinfoSize];
        fixed (byte* pointer = buffer)
        {
            var result = HostSyscall.Invoke(HostSyscall.Sysinfo, (long)pointer);
            if (result < 0)
                return result;
        }
        // Memory, load and uptime are the machine's; the processes are the guest's own.
        BitConverter.TryWriteBytes(buffer.AsSpan(ProcessCountOffset), (ushort)thread.Kernel.Processes.Count(p => p.Exit is null));
        if (thread.Kernel.Determinism is not null)
        {
            // struct sysinfo: uptime, loads[3], totalram, freeram, sharedram, bufferram, totalswap, freeswap (longs), procs, ..., mem_unit at 104.
            var fixedFields = new ulong[] { (ulong)(thread.Kernel.Clock.Monotonic / 1_000_000_000), 0, 0, 0, Vfs.ProcText.FixedMemory, Vfs.ProcText.FixedFreeMemory, 0, 0, 0, 0 };
            for (var i = 0; i < fixedFields.Length; i++)
                BitConverter.TryWriteBytes(buffer.AsSpan(8 * i), fixedFields[i]);
            BitConverter.TryWriteBytes(buffer.AsSpan(88), 0UL); // totalhigh, freehigh
            BitConverter.TryWriteBytes(buffer.AsSpan(96), 0UL);
            BitConverter.TryWriteBytes(buffer.AsSpan(104), 1u);
        }
        return thread.Memory.Write(info, buffer) is var fault and not Errno.None ? fault : 0;
    }

    [Syscall("prctl", Support = Support.Partial, Note = "thread name, dumpable, parent-death signal, no_new_privs, capability bounding set; others EINVAL")]
    public static Result ProcessControl(GuestThread thread, int option, ulong argument2, ulong argument3, ulong argument4, ulong argument5)
    {
        const int SetParentDeathSignal = 1, GetParentDeathSignal = 2, GetDumpable = 3, SetDumpable = 4;
        const int SetName = 15, GetName = 16, CapabilityBoundingSetRead = 23, SetNoNewPrivileges = 38, GetNoNewPrivileges = 39;
        const int NameSize = 16, LastCapability = 40;
        var process = thread.Process;
        switch (option)
        {
            case SetName:
                // Linux copies at most 15 bytes and a NUL, whatever the string's length.
                var bytes = new byte[NameSize - 1];
                var length = 0;
                for (; length < bytes.Length; length++)
                {
                    if (thread.Memory.Read(new GuestAddress(argument2 + (ulong)length), bytes.AsSpan(length, 1)) is var fault and not Errno.None)
                        return fault;
                    if (bytes[length] == 0)
                        break;
                }
                process.Command = System.Text.Encoding.UTF8.GetString(bytes, 0, length);
                return 0;
            case GetName:
                var current = new byte[NameSize];
                System.Text.Encoding.UTF8.GetBytes(process.Command).AsSpan().CopyTo(current);
                return thread.Memory.Write(new GuestAddress(argument2), current) is var writeFault and not Errno.None ? writeFault : 0;
            case SetParentDeathSignal:
                if (argument2 > 64)
                    return Errno.EINVAL;
                process.ParentDeathSignal = (int)argument2;
                return 0;
            case GetParentDeathSignal:
                return thread.Memory.Write(new GuestAddress(argument2), process.ParentDeathSignal) is var signalFault and not Errno.None ? signalFault : 0;
            case GetDumpable:
                return process.Dumpable ? 1 : 0;
            case SetDumpable:
                if (argument2 > 1)
                    return Errno.EINVAL;
                process.Dumpable = argument2 == 1;
                return 0;
            case CapabilityBoundingSetRead:
                return argument2 <= LastCapability ? 1 : Errno.EINVAL;
            case SetNoNewPrivileges:
                if (argument2 != 1 || argument3 != 0 || argument4 != 0 || argument5 != 0)
                    return Errno.EINVAL;
                process.NoNewPrivileges = true;
                return 0;
            case GetNoNewPrivileges:
                return process.NoNewPrivileges ? 1 : 0;
            default:
                return Errno.EINVAL;
        }
    }

}
