using Trapeze.Tests.Support;

namespace Trapeze.Tests.Loader;

/// <summary>
/// Malformed and hostile programs: each ends in one clear line and exit 126/127, or a guest
/// signal, quickly; never a .NET stack trace, .NET's own wording, raw file bytes, or a hang.
/// </summary>
public sealed class LoaderTests
{
    private const int LoadPt = 1, InterpPt = 3, NotePt = 4;

    private static RunResult Run(string path, int timeoutSeconds = 20) => Runner.Run(Runner.Trapeze, ["run", path], timeoutSeconds: timeoutSeconds);

    private static RunResult RunMutant(Func<MalformedElf, MalformedElf> edit, string source = "hello")
    {
        using var file = edit(MalformedElf.From(source)).Write();
        return Run(file.Path);
    }

    [Fact]
    public void SegmentWrappingPastTheTopOfTheAddressSpaceIsEinval()
        => LoaderAssert.CleanRejection(RunMutant(e => e.Set64(e.Header(e.Find(LoadPt)) + 16, 0xffff_ffff_ffff_f000).Set64(e.Header(e.Find(LoadPt)) + 40, 0x10000)),
            126, "outside the user address space");

    [Theory]
    [InlineData(90UL << 30)]
    [InlineData(1UL << 46)]
    [InlineData(1UL << 63)]
    public void HugeMemorySizeFailsAtOnce(ulong memsz)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var result = RunMutant(e => e.Set64(e.Header(e.Find(LoadPt)) + 40, memsz));
        Assert.Equal(126, result.ExitCode);
        Assert.Matches("more than memory|outside the user address space", result.Stderr);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"took {started.Elapsed}");
    }

    [Theory]
    [InlineData(0xffff_ffff_ffff_fff0UL)]
    [InlineData(1UL << 63)]
    public void SegmentOffsetPastTheFileIsRejected(ulong offset)
        => LoaderAssert.CleanRejection(RunMutant(e => e.Set64(e.Header(e.Find(LoadPt)) + 8, offset)), 126, "runs past the end of the file");

    [Theory]
    [InlineData(8, 1UL << 63)]
    [InlineData(8, 0xffff_ffff_ffff_fff0UL)]
    [InlineData(32, 1UL << 31)]
    [InlineData(32, 0)]
    public void MalformedInterpreterHeaderIsEnoexec(int field, ulong value)
        => LoaderAssert.CleanRejection(RunMutant(e => e.Set64(e.Header(e.Find(InterpPt)) + field, value), "printf.dynamic"), 126, "malformed PT_INTERP");

    [Fact]
    public void InterpreterWithoutTerminatingNulIsEnoexec()
        => LoaderAssert.CleanRejection(RunMutant(e => e.Interpreter("/lib64/ld-linux-x86-64.so.2"), "printf.dynamic"), 126, "malformed PT_INTERP");

    [Theory]
    [InlineData("/bin/sh", "names an interpreter itself")]
    [InlineData("/etc/passwd", "Permission denied")]
    public void ProgramsThatAreNoInterpreterAreRefused(string interpreter, string message)
        => LoaderAssert.CleanRejection(RunMutant(e => e.Interpreter(interpreter + "\0"), "printf.dynamic"), 126, message);

    /// <summary>The guest's /proc has no "self" before its first process exists: Trapeze itself is never reachable there.</summary>
    [Fact]
    public void InterpreterInProcBeforeAnyProcessIsMissing()
        => LoaderAssert.CleanRejection(RunMutant(e => e.Interpreter("/proc/self/exe\0"), "printf.dynamic"), 127, "interpreter /proc/self/exe: No such file or directory");

    [Fact]
    public void MissingInterpreterExits127()
        => LoaderAssert.CleanRejection(RunMutant(e => e.Interpreter("/nonexistent/ld.so\0"), "printf.dynamic"), 127, "interpreter /nonexistent/ld.so: No such file or directory");

    [Fact]
    public void RejectionsNeverEchoRawBytes()
    {
        var result = RunMutant(e => e.Interpreter("/tmp/\u001b[31mred\nsecond line\0"), "printf.dynamic");
        LoaderAssert.CleanRejection(result, 127, "\\x1b[31mred\\x0asecond line");
        Assert.DoesNotContain("\u001b", result.Stderr);
    }

    [Fact]
    public void TextSegmentWithoutExecuteEndsInSegfault()
    {
        var result = RunMutant(e =>
        {
            for (var index = 0; index < e.ProgramHeaderCount; index++)
            {
                if (e.Type(index) == LoadPt)
                    e.Set32(e.Header(index) + 4, 4); // PF_R only
            }
            return e;
        });
        Assert.Equal(139, result.ExitCode);
        Assert.Contains("Segmentation fault at 0x401000", result.Stderr);
    }

    /// <summary>Once hangs at 100% CPU (Unicorn's run ended before the first instruction, forever); Linux gives SIGSEGV.</summary>
    [Theory]
    [InlineData(0UL, "0x0")]
    [InlineData(ulong.MaxValue, "0xffffffffffffffff")] // found by tests/fuzz/run
    public void EntryPointNowhereIsASegfault(ulong entry, string shown)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var result = RunMutant(e => e.Set64(24, entry));
        Assert.Equal(139, result.ExitCode);
        Assert.Contains($"Segmentation fault at {shown} (unmapped access, pc {shown})", result.Stderr);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"took {started.Elapsed}");
    }

    /// <summary>Linux ignores PT_NOTE; Trapeze reads it to tell FreeBSD's ELF files apart, and once threw on a note past the file.</summary>
    [Theory]
    [InlineData(8)] // p_offset, found by tests/fuzz/run
    [InlineData(32)] // p_filesz, likewise
    public void NoteRunningPastTheFileIsIgnored(int field)
    {
        var result = RunMutant(e => e.Set64(e.Header(e.Find(NotePt)) + field, ulong.MaxValue), "printf.static");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("The answer is: 42\n", result.Stdout);
    }

    [Fact]
    public void FifoIsRefusedWithoutWaiting()
    {
        using var file = new TemporaryFile();
        Assert.Equal(0, Runner.Run("mkfifo", [file.Path]).ExitCode);
        File.SetUnixFileMode(file.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        LoaderAssert.CleanRejection(Run(file.Path, timeoutSeconds: 10), 126, "Permission denied");
    }

    [Fact]
    public void DanglingSymlinkExits127()
    {
        using var file = new TemporaryFile();
        File.CreateSymbolicLink(file.Path, "/nonexistent/target");
        LoaderAssert.CleanRejection(Run(file.Path), 127, "No such file or directory");
    }

    [Fact]
    public void DirectoryExits126()
        => LoaderAssert.CleanRejection(Run("/tmp"), 126, "Is a directory");

    [Fact]
    public void SparseFourGigabyteFileRuns()
    {
        using var file = MalformedElf.From("hello").Write();
        using (var stream = new FileStream(file.Path, FileMode.Open))
            stream.SetLength(4L << 30);
        var result = Run(file.Path);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Hello, World!\n", result.Stdout);
    }

    [Theory]
    [InlineData("#!/bin/echo one  two\n", 0, "one  two {0}\n")]
    [InlineData("#!   /bin/echo\n", 0, "{0}\n")]
    public void ScriptsRunTheirInterpreter(string text, int code, string output)
    {
        using var file = new TemporaryFile();
        File.WriteAllText(file.Path, text);
        File.SetUnixFileMode(file.Path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var result = Run(file.Path);
        Assert.Equal(code, result.ExitCode);
        Assert.Equal(string.Format(output, file.Path), result.Stdout);
    }

    [Theory]
    [InlineData("#!/nonexistent/shell\n", 127, "bad interpreter")]
    [InlineData("#!\n", 126, "malformed #! line")]
    public void BadScriptsAreRejected(string text, int code, string message)
    {
        using var file = new TemporaryFile();
        File.WriteAllText(file.Path, text);
        File.SetUnixFileMode(file.Path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        LoaderAssert.CleanRejection(Run(file.Path), code, message);
    }

    // Found by the ELF fuzzer: the host's /proc/self/exe is Trapeze, which then started inside itself.
    [Fact]
    public void TrapezeItselfIsNotAProgram()
        => LoaderAssert.CleanRejection(Run("/proc/self/exe"), 127, "/proc/self/exe: No such file or directory");

    [Fact]
    public void ScriptInterpreterUnderProcIsRefused()
    {
        using var file = new TemporaryFile();
        File.WriteAllText(file.Path, "#!/proc/self/exe\n");
        File.SetUnixFileMode(file.Path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        LoaderAssert.CleanRejection(Run(file.Path), 127, "bad interpreter: /proc/self/exe: No such file or directory");
    }

    [Fact]
    public void ScriptNamingItselfIsEloop()
    {
        using var file = new TemporaryFile();
        File.WriteAllText(file.Path, $"#!{file.Path}\n");
        File.SetUnixFileMode(file.Path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        LoaderAssert.CleanRejection(Run(file.Path), 126, "too many levels");
    }
}

/// <summary>Checks shared by the loader tests and the ELF fuzzer.</summary>
internal static class LoaderAssert
{
    /// <summary>What every rejection must look like: one line, Trapeze's prefix, no .NET text.</summary>
    public static void CleanRejection(RunResult result, int code, string message)
    {
        Assert.Equal(code, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.StartsWith("trapeze: ", result.Stderr);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
        foreach (var dotnet in new[] { "   at ", "Exception", "Could not find file", "Access to the path", "2 gigabytes", "Unhandled" })
            Assert.DoesNotContain(dotnet, result.Stderr);
    }
}
