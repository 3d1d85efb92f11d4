using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Calls the BSD-derived personalities have and Linux does not (bound by their tables' aliases).</summary>
public static class BsdCalls
{
    [Syscall("pipe_pair", Returns = ResultKind.Fd, Support = Support.Full, Note = "the historical pipe(): the read end as the result, the write end as the second (RDX/EDX on x86, %o1 on SPARC)")]
    public static Result PipePair(GuestThread thread) => Descriptors.CreatePipe(thread, 0);

    /// <summary>cpuset_getaffinity(2): the mask of CPUs as a bit per CPU, in a cpuset_t of the caller's size.</summary>
    [Syscall("cpuset_getaffinity", Support = Support.Partial, Note = "every host CPU, whatever the level, which and id")]
    public static Result CpusetGetAffinity(GuestThread thread, int level, int which, long id, ulong size, GuestAddress mask)
    {
        var count = Environment.ProcessorCount;
        if (size < (ulong)((count + 7) / 8) || size > 1024)
            return Errno.ERANGE;
        var bits = new byte[size];
        for (var cpu = 0; cpu < count; cpu++)
            bits[cpu / 8] |= (byte)(1 << (cpu % 8));
        return thread.Memory.Write(mask, bits) is var fault and not Errno.None ? fault : 0;
    }

    [Syscall("issetugid", Support = Support.Full, Note = "Trapeze never runs a program set-user-ID or set-group-ID")]
    public static Result IsSetUgid(GuestThread thread) => 0;
}
