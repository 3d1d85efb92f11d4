using System.Text.Json;
using System.Text.RegularExpressions;
using Trapeze.Kernel;
using Trapeze.Kernel.Tasks;
using Trapeze.Tests.Support;

namespace Trapeze.Tests.Tracing;

/// <summary>The -c table, --json, --perfetto, filters, and the C# hooks of `trapeze trace`.</summary>
public sealed partial class TraceOutputTests
{
    private static string Case(string name) => Path.Combine(Runner.CasesBuild, name);

    [Fact]
    public void SummaryHasStraceLayoutAndCounts()
    {
        var program = Case("c_syscalls.glibc-static");
        var native = Runner.Run("strace", ["-c", program]).Stderr;
        var trapeze = Runner.RunTrapeze("trace", "-c", program).Stderr;
        var nativeLines = native.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var trapezeLines = trapeze.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(nativeLines[0], trapezeLines[0]);
        Assert.Equal(nativeLines[1], trapezeLines[1]);
        Assert.Equal(nativeLines[^2], trapezeLines[^2]);
        foreach (var line in trapezeLines.Skip(2).Where(l => !l.StartsWith("------", StringComparison.Ordinal)))
            Assert.Matches(SummaryRow(), line);
        // Calls and errors agree for calls both sides make through a syscall (and no vDSO).
        var nativeRows = Rows(nativeLines);
        var trapezeRows = Rows(trapezeLines);
        foreach (var name in new[] { "write", "close", "openat", "mmap", "munmap", "umask", "ioctl" })
            Assert.Equal(nativeRows[name], trapezeRows[name]);
    }

    [Fact]
    public void SummarySortsByCallsWithCapitalS()
    {
        var output = Runner.RunTrapeze("trace", "-c", "-S", "calls", Case("c_syscalls.glibc-static")).Stderr;
        var calls = Rows(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Where(r => r.Key != "total").Select(r => r.Value.Calls).ToList();
        Assert.Equal(calls.OrderByDescending(c => c), calls);
        Assert.True(calls.Count > 10);
    }

    private static Dictionary<string, (int Calls, int Errors)> Rows(IEnumerable<string> lines)
    {
        var rows = new Dictionary<string, (int, int)>();
        foreach (var line in lines)
        {
            if (SummaryRow().Match(line) is { Success: true } match)
                rows[match.Groups["name"].Value] = (int.Parse(match.Groups["calls"].Value.Trim()), match.Groups["errors"].Value.Trim() is { Length: > 0 } e ? int.Parse(e) : 0);
        }
        return rows;
    }

    [GeneratedRegex(@"^[ \d]{2}\d\.\d\d [ \d]{3}\d\.\d{6} [ \d]{10}\d (?<calls>[ \d]{8}\d) (?<errors>[ \d]{9}) (?<name>\w+)$")]
    private static partial Regex SummaryRow();

    [Fact]
    public void TraceFilterShowsOnlyTheNamedCallsAndTheExit()
    {
        var output = Runner.RunTrapeze("trace", "-e", "trace=write", Case("hello")).Stderr;
        Assert.Equal("write(1, \"Hello, World!\\n\", 14)         = 14\n+++ exited with 0 +++\n", output);
    }

    [Fact]
    public void StatusFailedShowsOnlyFailures()
    {
        var output = Runner.RunTrapeze("trace", "-Z", Case("error_exit")).Stderr;
        Assert.Equal("open(\"/nonexistent/trapeze-test-file\", O_RDONLY) = -1 ENOENT (No such file or directory)\n+++ exited with 2 +++\n", output);
    }

    [Fact]
    public void ClassFilterAndDurationAndStringLimit()
    {
        var output = Runner.RunTrapeze("trace", "-e", "trace=%desc", "-T", "-s", "5", Case("hello")).Stderr;
        Assert.Matches(@"^write\(1, ""Hello""\.\.\., 14\) += 14 <\d+\.\d{6}>\n\+\+\+ exited with 0 \+\+\+\n$", output);
    }

    [Fact]
    public void PathsAfterDescriptorsWithY()
    {
        var scratch = Directory.CreateTempSubdirectory("trapeze-trace-y-").FullName;
        try
        {
            var output = Runner.RunTrapeze("trace", "-y", "-e", "trace=openat,close", Case("c_files.glibc-static"), scratch).Stderr;
            var lines = output.Split('\n');
            Assert.Equal($"openat(AT_FDCWD<{scratch}>, \"data.txt\", O_WRONLY|O_CREAT|O_TRUNC, 0640) = 3<{scratch}/data.txt>", lines[0]);
            Assert.StartsWith($"close(3<{scratch}/data.txt>)", lines[1]);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void KilledProcessGetsSignalLines()
    {
        var result = Runner.RunTrapeze("trace", Case("segfault"));
        Assert.Equal(139, result.ExitCode);
        Assert.Contains("--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---\n+++ killed by SIGSEGV +++\n", result.Stderr);
    }

    [Fact]
    public void BadFilterIsAClearErrorWithoutStackTrace()
    {
        var result = Runner.RunTrapeze("trace", "-e", "trace=nosuchcall", Case("hello"));
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("trapeze trace: invalid system call 'nosuchcall'\n", result.Stderr);
    }

    [Fact]
    public void JsonHasOneObjectPerCall()
    {
        var file = Path.GetTempFileName();
        Runner.RunTrapeze("trace", "--json", file, "-c", Case("hello"));
        var events = File.ReadAllLines(file).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        File.Delete(file);
        var write = events.Single(e => e.GetProperty("type").GetString() == "syscall" && e.GetProperty("name").GetString() == "write");
        Assert.Equal("1", write.GetProperty("args").GetProperty("fd").GetString());
        Assert.Equal("\"Hello, World!\\n\"", write.GetProperty("args").GetProperty("buffer").GetString());
        Assert.Equal(14, write.GetProperty("result").GetInt64());
        Assert.Equal(JsonValueKind.Null, write.GetProperty("errno").ValueKind);
        Assert.True(write.GetProperty("duration_us").GetDouble() >= 0);
        Assert.Equal("exit", events[^1].GetProperty("type").GetString());
    }

    [Fact]
    public void PerfettoFilePassesTheTraceEventSchema()
    {
        var file = Path.GetTempFileName();
        Runner.RunTrapeze("trace", "--perfetto", file, "-c", Case("c_files.glibc-static"), Path.GetTempPath());
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        File.Delete(file);
        var errors = TraceEventSchema.Validate(document.RootElement);
        Assert.True(errors.Count == 0, string.Join('\n', errors));
        var events = document.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        Assert.Contains(events, e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "thread_name");
        Assert.True(events.Count(e => e.GetProperty("ph").GetString() == "X") > 100);
    }

    [Fact]
    public void HooksCanRewriteArgumentsAndBlockCalls()
    {
        var seen = new List<string>();
        var hooks = new SyscallHooks
        {
            OnEnter = (GuestThread thread, ref SyscallCall call) =>
            {
                seen.Add(call.Name);
                if (call.Name == "write")
                {
                    call.Blocked = true;
                    call.Result = (long)call.Arguments.Arg2;
                }
                if (call.Name == "exit")
                    call.Arguments.Arg0 = 7;
            },
        };
        using var kernel = new Trapeze.Kernel.Kernel(new KernelOptions { Platform = new Trapeze.Cpu.Unicorn.UnicornPlatform(), Tracer = hooks, Diagnostics = TextWriter.Null });
        var status = kernel.Run(Case("hello"), ["hello"], []);
        Assert.Equal(["write", "exit"], seen);
        Assert.Equal(7, status.Code);
    }

    [Fact]
    public void ExitHooksChangeResults()
    {
        // error_exit exits with the errno its open failed with.
        var hooks = new SyscallHooks
        {
            OnExit = (GuestThread thread, ref SyscallCall call) =>
            {
                if (call.Name == "open")
                    call.Result = Trapeze.Kernel.Errno.EACCES;
            },
        };
        using var kernel = new Trapeze.Kernel.Kernel(new KernelOptions { Platform = new Trapeze.Cpu.Unicorn.UnicornPlatform(), Tracer = hooks, Diagnostics = TextWriter.Null });
        Assert.Equal((int)Trapeze.Kernel.Errno.EACCES, kernel.Run(Case("error_exit"), ["error_exit"], []).Code);
    }

    [Fact]
    public void PerfettoHasOneTrackPerThread()
    {
        var stream = new MemoryStream();
        var writer = new Trapeze.Trace.PerfettoWriter(stream);
        foreach (var thread in new[] { 100, 101, 100 })
        {
            var call = new Trapeze.Trace.TraceEvent { ProcessId = 100, ThreadId = thread, Name = "futex", StartTicks = System.Diagnostics.Stopwatch.GetTimestamp(), Duration = TimeSpan.FromMicroseconds(5), ResultText = "0" };
            call.Arguments.Add("0x1000");
            writer.Exited(call);
        }
        writer.SignalDelivered(100, 101, "--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_TKILL, si_pid=100, si_uid=0} ---", Trapeze.Trace.TraceTime.Now());
        writer.ProcessExited(100, "+++ exited with 0 +++", Trapeze.Trace.TraceTime.Now());
        writer.Finish();
        using var document = JsonDocument.Parse(stream.ToArray());
        Assert.Empty(TraceEventSchema.Validate(document.RootElement));
        var events = document.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        Assert.Equal([100, 101], events.Where(e => e.GetProperty("name").GetString() == "thread_name").Select(e => e.GetProperty("tid").GetInt32()));
        Assert.Single(events, e => e.GetProperty("name").GetString() == "process_name");
        Assert.Equal(3, events.Count(e => e.GetProperty("ph").GetString() == "X"));
    }

    [Fact]
    public void OutputFilesPerProcessWithDoubleF()
    {
        var prefix = Path.Combine(Path.GetTempPath(), $"trapeze-ff-{Guid.NewGuid():N}");
        Runner.RunTrapeze("trace", "-ff", "-o", prefix, Case("hello"));
        var files = Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(prefix) + ".*");
        Assert.Single(files);
        var text = File.ReadAllText(files[0]);
        File.Delete(files[0]);
        Assert.StartsWith("execve(", text);
        Assert.EndsWith("+++ exited with 0 +++\n", text);
    }
}
