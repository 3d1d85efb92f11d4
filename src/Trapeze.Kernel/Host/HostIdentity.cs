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

    /// <summary>
    /// Trapeze itself holds CAP_SYS_RESOURCE (root in a container often does not): only then may a
    /// guest's root raise a hard resource limit, as the guest has no privilege its host lacks.
    /// </summary>
    public static readonly bool MayRaiseLimits = HasCapability(24);

    private static bool HasCapability(int capability)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                    return ((ulong.Parse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) >> capability) & 1) != 0;
            }
        }
        catch (IOException)
        {
        }
        return EffectiveUserId == 0;
    }
}
