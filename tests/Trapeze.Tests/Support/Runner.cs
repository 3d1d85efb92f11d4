using System.Diagnostics;

namespace Trapeze.Tests.Support;

public sealed record RunResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs host programs and the trapeze CLI as child processes.</summary>
public static class Runner
{
    /// <summary>The repository root: the directory holding tests/cases.</summary>
    public static string Root { get; } = FindRoot();

    public static string CasesBuild => Path.Combine(Root, "tests", "cases", "build");

    /// <summary>
    /// The trapeze apphost built next to the tests, or TRAPEZE_BINARY (tests/fuzz/run passes the
    /// NativeAOT build, which starts in milliseconds instead of a second: thousands of runs).
    /// </summary>
    public static string Trapeze { get; } = Environment.GetEnvironmentVariable("TRAPEZE_BINARY") is { Length: > 0 } binary
        ? Path.GetFullPath(binary)
        : Path.Combine(AppContext.BaseDirectory, "trapeze");

    public static RunResult Run(string program, IEnumerable<string> arguments, string? workingDirectory = null,
        IDictionary<string, string?>? environment = null, int timeoutSeconds = 60)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Root,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
                start.Environment.Remove(name);
            else
                start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} ran over {timeoutSeconds}s");
        }
        process.WaitForExit();
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static RunResult RunTrapeze(params string[] arguments) => Run(Trapeze, arguments);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (Directory.Exists(Path.Combine(directory.FullName, "tests", "cases")))
                return directory.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
