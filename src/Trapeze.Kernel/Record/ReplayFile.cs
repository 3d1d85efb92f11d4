using Trapeze.Kernel.Files;

namespace Trapeze.Kernel.Record;

/// <summary>
/// A replay's stand-in for a descriptor a served call opened (a host file, a host socket): every
/// call on it is served from the recording, so it holds nothing but the name it had.
/// </summary>
public sealed class ReplayFile(string path) : OpenFile
{
    public override string Path => path;
}
