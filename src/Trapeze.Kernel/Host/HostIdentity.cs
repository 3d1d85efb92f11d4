using System.Runtime.InteropServices;

namespace Trapeze.Kernel.Host;

/// <summary>The host user the guest runs as (Trapeze does not fake identities yet).</summary>
internal static partial class HostIdentity
{
    [LibraryImport("libc", EntryPoint = "getuid")] private static partial uint GetUserId();
    [LibraryImport("libc", EntryPoint = "geteuid")] private static partial uint GetEffectiveUserId();
    [LibraryImport("libc", EntryPoint = "getgid")] private static partial uint GetGroupId();
    [LibraryImport("libc", EntryPoint = "getegid")] private static partial uint GetEffectiveGroupId();

    public static readonly uint UserId = GetUserId();
    public static readonly uint EffectiveUserId = GetEffectiveUserId();
    public static readonly uint GroupId = GetGroupId();
    public static readonly uint EffectiveGroupId = GetEffectiveGroupId();
}
