using Trapeze.Kernel.Files;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Record;

/// <summary>
/// The descriptors the first guest process started with (Trapeze's own stdin, stdout and stderr):
/// the outside a recording keeps and a replay stands in for, and the kernel they run on.
/// </summary>
internal sealed class InheritedFiles
{
    private readonly HashSet<OpenFile> files = [];

    public Kernel? Kernel { get; private set; }

    public IReadOnlySet<OpenFile> Files => files;

    /// <summary>Notes the first process's descriptors; false for every later process.</summary>
    public bool Take(Process process)
    {
        if (Kernel is not null)
            return false;
        Kernel = process.Kernel;
        foreach (var (_, file) in process.Files.All())
            files.Add(file);
        return true;
    }

    public bool Contains(OpenFile file) => files.Contains(file);
}
