using Trapeze.Tests.Support;

namespace Trapeze.Tests;

public sealed class GeneratedFilesTests
{
    [Fact]
    public void AbiTablesMatchTheirSourceTables()
    {
        var result = Runner.Run(Path.Combine(Runner.Root, "tools", "generate-abi"), ["--check"]);
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
    }

    /// <summary>
    /// The check reads only the tables in tools/abi/: with no C compiler on PATH (and so no way to
    /// read this machine's headers) it still passes, as it must on another distribution.
    /// </summary>
    [Fact]
    public void AbiCheckNeedsNoCompilerOrHeaders()
    {
        var bin = Directory.CreateTempSubdirectory("trapeze-abi-path-").FullName;
        try
        {
            foreach (var tool in new[] { "bash", "awk", "grep", "cat", "dirname" })
            {
                var host = new[] { "/usr/bin", "/bin" }.Select(d => Path.Combine(d, tool)).First(File.Exists);
                File.CreateSymbolicLink(Path.Combine(bin, tool), host);
            }
            var result = Runner.Run(Path.Combine(bin, "bash"), [Path.Combine(Runner.Root, "tools", "generate-abi"), "--check"],
                environment: new Dictionary<string, string?> { ["PATH"] = bin });
            Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
            Assert.Empty(result.Stderr);
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
        }
    }
}
