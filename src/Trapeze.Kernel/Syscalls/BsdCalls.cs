using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>Calls the BSD-derived personalities have and Linux does not (bound by their tables' aliases).</summary>
public static class BsdCalls
{
    [Syscall("pipe_pair", Returns = ResultKind.Fd, Support = Support.Full, Note = "the historical pipe(): the read end in RAX/EAX, the write end as the second result (RDX/EDX)")]
    public static Result PipePair(GuestThread thread) => Descriptors.CreatePipe(thread, 0);

    [Syscall("issetugid", Support = Support.Full, Note = "Trapeze never runs a program set-user-ID or set-group-ID")]
    public static Result IsSetUgid(GuestThread thread) => 0;
}
