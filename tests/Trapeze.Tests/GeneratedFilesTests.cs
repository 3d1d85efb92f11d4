using Trapeze.Tests.Support;

namespace Trapeze.Tests;

public sealed class GeneratedFilesTests
{
    [Fact]
    public void AbiTablesMatchThisMachinesHeaders()
    {
        var result = Runner.Run(Path.Combine(Runner.Root, "tools", "generate-abi"), ["--check"]);
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
    }
}
