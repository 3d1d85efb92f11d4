using Trapeze.Kernel.Files;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>Path text helpers for <see cref="ProcFs"/>'s own lookups by /proc path.</summary>
internal static class GuestPaths
{
    /// <summary>
    /// Collapses "//", "." and ".." (".." at the root stays at the root) as the path walk would,
    /// except ".." below /proc/NAME: there the walk may have passed a link (/proc/self/fd/..),
    /// so <see cref="ProcFs.Lookup"/> resolves it. A trailing slash stays: it means "follow".
    /// </summary>
    public static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
                continue;
            if (part == ".." && !(parts.Count >= 2 && parts[0] == "proc"))
            {
                if (parts.Count > 0)
                    parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        var normal = "/" + string.Join('/', parts);
        return path.EndsWith('/') && normal.Length > 1 ? normal + "/" : normal;
    }
}
