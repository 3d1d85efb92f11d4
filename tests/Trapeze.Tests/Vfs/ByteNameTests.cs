using Trapeze.Tests.Support;

namespace Trapeze.Tests.Vfs;

/// <summary>Names and arguments that are not UTF-8 reach the guest, the host and the tracer byte for byte.</summary>
public sealed class ByteNameTests
{
    [Fact]
    public void ExecveArgumentsKeepTheirBytes()
    {
        var scratch = Directory.CreateTempSubdirectory("trapeze-bytes-").FullName;
        try
        {
            // The inner shell's argv[2] is the bytes E9 FF, passed through execve.
            var script = """printf '\351\377' > name; /bin/busybox sh -c 'printf %s "$1"' x "$(cat name)" | od -An -tx1; : > "$(cat name)" """;
            var result = Runner.Run(Runner.Trapeze, ["run", "/bin/busybox", "sh", "-c", script], workingDirectory: scratch);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Equal("e9 ff", result.Stdout.Trim());
            Assert.Contains(Directory.GetFiles(scratch), file => file.EndsWith("/name", StringComparison.Ordinal)); // and the odd name exists beside it
            Assert.Equal(2, Directory.GetFiles(scratch).Length);
        }
        finally
        {
            Runner.Run("/bin/rm", ["-rf", scratch]);
        }
    }

    [Fact]
    public void TheTracerShowsPathBytesAsStraceDoes()
    {
        var result = Runner.RunTrapeze("trace", "-e", "trace=openat", "--", "/bin/busybox", "sh", "-c", """exec /bin/busybox cat "$(printf '\351') $(printf '\303\251')" """);
        Assert.Contains("""openat(AT_FDCWD, "\351 \303\251", O_RDONLY) = -1 ENOENT""", System.Text.RegularExpressions.Regex.Replace(result.Stderr, " +", " ")); // the tracer pads before " = "
    }
}
