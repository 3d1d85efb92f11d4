using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Files;

/// <summary>A process descriptor (pidfd): names one process; poll says readable once it has ended.</summary>
public sealed class ProcessFile(Process target) : OpenFile
{
    private const short Readable = 0x001 | 0x040;

    public Process Target { get; } = target;
    public override string Path => "anon_inode:[pidfd]";

    public override short? Readiness(out WaitQueue? changes)
    {
        changes = Target.Ended;
        return Target.State == ProcessState.Running ? (short)0 : Readable;
    }
}
