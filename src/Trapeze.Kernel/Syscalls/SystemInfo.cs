using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Who and where the process is: uname, ids, limits, randomness, CPU state.</summary>
public static unsafe class SystemInfo
{
    [Syscall("uname")]
    public static Result Uname(GuestThread thread, [Argument(ArgumentKind.SystemName, Direction = Direction.Out)] GuestAddress name)
    {
        const int UtsnameSize = 6 * 65;
        var buffer = stackalloc byte[UtsnameSize];
        var result = HostSyscall.Invoke(HostSyscall.Uname, (long)buffer);
        if (result < 0)
            return result;
        return thread.Memory.Write(name, new ReadOnlySpan<byte>(buffer, UtsnameSize)) is var fault and not Errno.None ? fault : 0;
    }

    /// <summary>
    /// Memory and load figures, the host's: glibc sizes work by them (qsort picks merge sort with a
    /// scratch buffer, or in-place quicksort, from the physical memory size).
    /// </summary>
    [Syscall("sysinfo", Support = Support.Partial, Note = "the host's figures, including its process count")]
    public static Result SystemStatistics(GuestThread thread, GuestAddress info)
    {
        const int SysinfoSize = 112; // struct sysinfo on x86-64
        var buffer = stackalloc byte[SysinfoSize];
        var result = HostSyscall.Invoke(HostSyscall.Sysinfo, (long)buffer);
        if (result < 0)
            return result;
        return thread.Memory.Write(info, new ReadOnlySpan<byte>(buffer, SysinfoSize)) is var fault and not Errno.None ? fault : 0;
    }

    [Syscall("getuid")]
    public static Result GetUserId(GuestThread thread) => HostIdentity.UserId;

    [Syscall("geteuid")]
    public static Result GetEffectiveUserId(GuestThread thread) => HostIdentity.EffectiveUserId;

    [Syscall("getgid")]
    public static Result GetGroupId(GuestThread thread) => HostIdentity.GroupId;

    [Syscall("getegid")]
    public static Result GetEffectiveGroupId(GuestThread thread) => HostIdentity.EffectiveGroupId;

    [Syscall("getrandom")]
    public static Result GetRandom(GuestThread thread, [Argument(ArgumentKind.Buffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result, Hex = true)] GuestAddress buffer, ulong count, GetRandomFlags flags)
    {
        if ((flags & ~(GetRandomFlags.GRND_NONBLOCK | GetRandomFlags.GRND_RANDOM | GetRandomFlags.GRND_INSECURE)) != 0)
            return Errno.EINVAL;
        var length = (int)Math.Min(count, 32 * 1024 * 1024);
        var bytes = HostRandom.GetBytes(length);
        return thread.Memory.Write(buffer, bytes) is var fault and not Errno.None ? fault : length;
    }

    [Syscall("prlimit64", Support = Support.Partial, Note = "the calling process only (pid 0 or its own)")]
    public static Result ResourceLimit(GuestThread thread, int pid, RlimitResource resource, [Argument(ArgumentKind.ResourceLimit)] GuestAddress newLimit, [Argument(ArgumentKind.ResourceLimit, Direction = Direction.Out)] GuestAddress oldLimit)
    {
        if (pid != 0 && pid != thread.Process.Id)
            return Errno.ESRCH;
        if ((uint)resource > (uint)RlimitResource.RLIMIT_RTTIME)
            return Errno.EINVAL;
        var limits = thread.Process.ResourceLimits;
        var current = limits.TryGetValue(resource, out var known) ? known : new Abi.Linux.ResourceLimit { Current = ulong.MaxValue, Maximum = ulong.MaxValue };
        if (!newLimit.IsNull)
        {
            if (thread.Memory.Read(newLimit, out Abi.Linux.ResourceLimit requested) is var fault and not Errno.None)
                return fault;
            if (requested.Current > requested.Maximum)
                return Errno.EINVAL;
            if (requested.Maximum > current.Maximum && HostIdentity.EffectiveUserId != 0)
                return Errno.EPERM;
            limits[resource] = requested;
            if (resource == RlimitResource.RLIMIT_NOFILE)
                thread.Process.Files.Limit = (int)Math.Min(requested.Current, 1024 * 1024);
        }
        if (!oldLimit.IsNull && thread.Memory.Write(oldLimit, current) is var writeFault and not Errno.None)
            return writeFault;
        return 0;
    }

    [Syscall("getrlimit")]
    public static Result GetResourceLimit(GuestThread thread, RlimitResource resource, [Argument(ArgumentKind.ResourceLimit, Direction = Direction.Out)] GuestAddress limit)
        => ResourceLimit(thread, 0, resource, default, limit);

    [Syscall("setrlimit")]
    public static Result SetResourceLimit(GuestThread thread, RlimitResource resource, [Argument(ArgumentKind.ResourceLimit)] GuestAddress limit)
        => ResourceLimit(thread, 0, resource, limit, default);

    [Syscall("sched_getaffinity")]
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

    [Syscall("sched_yield")]
    public static Result Yield(GuestThread thread) => 0;

    [Syscall("getcpu")]
    public static Result GetCpu(GuestThread thread, GuestAddress cpu, GuestAddress node)
    {
        if (!cpu.IsNull && thread.Memory.Write(cpu, 0u) is var fault and not Errno.None)
            return fault;
        if (!node.IsNull && thread.Memory.Write(node, 0u) is var nodeFault and not Errno.None)
            return nodeFault;
        return 0;
    }

    [Syscall("umask", Returns = ResultKind.Octal)]
    public static Result UserFileCreationMask(GuestThread thread, [Argument(ArgumentKind.Octal)] uint mask)
    {
        var previous = thread.Process.FileCreationMask;
        thread.Process.FileCreationMask = mask & FileSystem.PermissionBits;
        return previous;
    }

    [Syscall("arch_prctl")]
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
}
