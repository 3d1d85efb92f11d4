using System.Runtime.InteropServices;

namespace Trapeze.Cli;

/// <summary>Settings of the trapeze host process itself.</summary>
internal static partial class HostProcess
{
    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint SetUmask(uint mask);

    /// <summary>Hands the user's umask to the guest and clears the host's, so it is applied once.</summary>
    public static uint TakeFileCreationMask() => SetUmask(0);
}
