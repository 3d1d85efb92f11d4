using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// The ./trapeze script's up-to-date check, in a scratch copy of the checkout whose `dotnet` and
/// tools/ensure-packages are stand-ins that log their calls (a real build takes minutes).
/// </summary>
public sealed class WrapperScriptTests : IDisposable
{
    private readonly string checkout = Directory.CreateTempSubdirectory("trapeze-wrapper-").FullName;
    private string Log => Path.Combine(checkout, "calls.log");

    public WrapperScriptTests()
    {
        File.Copy(Path.Combine(Runner.Root, "trapeze"), Path.Combine(checkout, "trapeze"));
        Directory.CreateDirectory(Path.Combine(checkout, "src", "Trapeze.Cli"));
        File.WriteAllText(Path.Combine(checkout, "src", "Trapeze.Cli", "Program.cs"), "// a source\n");
        File.WriteAllText(Path.Combine(checkout, "Directory.Build.props"), "<Project />\n");
        // The stand-in publish writes an executable that says it ran.
        Script(Path.Combine(checkout, "bin", "dotnet"), $"""
            echo publish >> {Log}
            while [ "$1" != -o ]; do shift; done
            mkdir -p "$2" && printf '#!/bin/sh\necho ran "$@"\n' > "$2/trapeze" && chmod +x "$2/trapeze"
            """);
        Script(Path.Combine(checkout, "tools", "ensure-packages"), $"echo ensure-packages >> {Log}");
    }

    private static void Script(string path, string body)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
    }

    private RunResult Trapeze()
    {
        var path = Path.Combine(checkout, "bin") + ":" + Environment.GetEnvironmentVariable("PATH");
        return Runner.Run(Path.Combine(checkout, "trapeze"), ["run", "prog"], checkout, new Dictionary<string, string?> { ["PATH"] = path });
    }

    private string[] Calls() => File.Exists(Log) ? File.ReadAllLines(Log) : [];

    [Fact]
    public void BuildsOnFirstUseThenRunsWithoutBuilding()
    {
        var first = Trapeze();
        Assert.Equal("ran run prog\n", first.Stdout);
        Assert.Equal(["ensure-packages", "publish"], Calls());

        Assert.Equal("ran run prog\n", Trapeze().Stdout);
        Assert.Equal(["ensure-packages", "publish"], Calls());
    }

    [Fact]
    public void RebuildsAfterASourceFileChanges()
    {
        Trapeze();
        File.SetLastWriteTimeUtc(Path.Combine(checkout, "src", "Trapeze.Cli", "Program.cs"), DateTime.UtcNow.AddMinutes(1));
        Trapeze();
        Assert.Equal(["ensure-packages", "publish", "ensure-packages", "publish"], Calls());
    }

    [Fact]
    public void RebuildsAfterASourceDirectoryGetsAFile()
    {
        Trapeze();
        var added = Path.Combine(checkout, "src", "Trapeze.Cli", "Added.cs");
        File.WriteAllText(added, "// new\n");
        // The new file keeps an old time (as a copy or checkout may): the directory's time tells.
        File.SetLastWriteTimeUtc(added, DateTime.UtcNow.AddDays(-1));
        Directory.SetLastWriteTimeUtc(Path.Combine(checkout, "src", "Trapeze.Cli"), DateTime.UtcNow.AddMinutes(1));
        Trapeze();
        Assert.Equal(4, Calls().Length);
    }

    [Fact]
    public void IgnoresBuildOutputInsideSourceDirectories()
    {
        Trapeze();
        var obj = Directory.CreateDirectory(Path.Combine(checkout, "src", "Trapeze.Cli", "obj")).FullName;
        File.WriteAllText(Path.Combine(obj, "Generated.cs"), "// written by every build\n");
        Directory.SetLastWriteTimeUtc(obj, DateTime.UtcNow.AddMinutes(1));
        // The obj directory itself is new in src/Trapeze.Cli, whose time changed with it: set it back.
        Directory.SetLastWriteTimeUtc(Path.Combine(checkout, "src", "Trapeze.Cli"), DateTime.UtcNow.AddDays(-1));
        Trapeze();
        Assert.Equal(2, Calls().Length);
    }

    public void Dispose() => Directory.Delete(checkout, recursive: true);
}
