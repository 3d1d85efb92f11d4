using System.Diagnostics;
using System.Text.Json;

namespace Trapeze.Oci;

/// <summary>
/// config.json's hooks (config.md "POSIX-platform Hooks"): each gets the container's state on
/// stdin. prestart, createRuntime, createContainer, poststart and poststop run on the host;
/// startContainer hooks run in the container, that is under the container's own Trapeze kernel
/// (see <see cref="Supervisor"/>).
/// </summary>
internal static class Hooks
{
    /// <summary>Runs <paramref name="hooks"/> in order; the first failure is an error naming the hook.</summary>
    public static void RunOnHost(string phase, List<HookConfig>? hooks, ContainerState state)
    {
        foreach (var hook in hooks ?? [])
        {
            if (RunOne(hook, state) is { } failure)
                throw new OciException($"{phase} hook {hook.Path}: {failure}");
        }
    }

    /// <summary>As <see cref="RunOnHost"/>, but a failure is only a warning (poststart, poststop).</summary>
    public static void RunOnHostWarning(string phase, List<HookConfig>? hooks, ContainerState state, OciLog log)
    {
        foreach (var hook in hooks ?? [])
        {
            if (RunOne(hook, state) is { } failure)
                log.Warning($"{phase} hook {hook.Path}: {failure}");
        }
    }

    private static string? RunOne(HookConfig hook, ContainerState state)
    {
        if (!Path.IsPathRooted(hook.Path))
            return "the path is not absolute";
        var start = new ProcessStartInfo(hook.Path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // args[0] is the hook's argv[0], which .NET always sets to the path.
        foreach (var argument in (hook.Args ?? []).Skip(1))
            start.ArgumentList.Add(argument);
        start.Environment.Clear();
        foreach (var variable in hook.Env ?? [])
        {
            var equals = variable.IndexOf('=');
            if (equals > 0)
                start.Environment[variable[..equals]] = variable[(equals + 1)..];
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception error)
        {
            return error.Message;
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            try
            {
                process.StandardInput.Write(JsonSerializer.Serialize(state, OciJson.Default.ContainerState));
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The hook need not read its stdin.
            }
            var timeout = hook.Timeout is int seconds && seconds > 0 ? seconds * 1000 : -1;
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return $"timed out after {hook.Timeout} s";
            }
            process.WaitForExit();
            if (process.ExitCode == 0)
                return null;
            var text = errors.Result.Trim();
            return $"exit status {process.ExitCode}{(text.Length > 0 ? ": " + text : "")}";
        }
    }
}
