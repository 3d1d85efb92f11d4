using Trapeze.Kernel.Files;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Vfs;

/// <summary>
/// Decides which guest paths Trapeze answers itself instead of the host: everything under /proc,
/// and /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr, which Linux links into /proc/self/fd (the
/// host's links would name Trapeze's descriptors, not the guest's). The rest goes to the host.
/// </summary>
internal static class GuestPaths
{
    private const int CurrentDirectory = HostPath.CurrentDirectory;

    /// <summary>
    /// The normalized /proc path a guest path stands for, or null when the host serves it.
    /// <paramref name="followLast"/> is false for calls on a link itself (readlink, lstat): the
    /// host's /dev/stdin and friends are links with the very text Linux's have.
    /// </summary>
    public static string? Route(GuestThread thread, int directory, string text, bool followLast = true)
    {
        string absolute;
        if (text.StartsWith('/'))
            absolute = text;
        else if (text.Length == 0)
            return null;
        else if (directory == CurrentDirectory)
            absolute = IsProc(thread.Process.WorkingDirectoryPath) ? thread.Process.WorkingDirectoryPath + "/" + text : "";
        else if (thread.Process.Files.Get(directory) is SyntheticDirectory synthetic)
            absolute = synthetic.Path + "/" + text;
        else
            return null;
        if (absolute.Length == 0)
            return null;
        var path = Normalize(absolute);
        if (path.StartsWith("/dev/fd/", StringComparison.Ordinal) || (path == "/dev/fd" && followLast))
            return ProcFs.Root + "/self/fd" + path["/dev/fd".Length..];
        var standard = path switch
        {
            "/dev/stdin" => 0,
            "/dev/stdout" => 1,
            "/dev/stderr" => 2,
            _ => -1,
        };
        if (standard >= 0 && followLast)
            return $"{ProcFs.Root}/self/fd/{standard}";
        return IsProc(path.TrimEnd('/')) ? path : null;
    }

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

    private static bool IsProc(string path)
        => path == ProcFs.Root || path.StartsWith(ProcFs.Root + "/", StringComparison.Ordinal);
}
