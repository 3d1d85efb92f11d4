using Trapeze.Kernel.Syscalls;
using Trapeze.Trace;

namespace Trapeze.Tests.Tracing;

/// <summary>The ring between the dispatch path and the formatting thread, and the tracer's formatting side.</summary>
public sealed partial class TraceRingTests
{
    [System.Text.RegularExpressions.GeneratedRegex(@"^\d+ +(getrandom|clock_gettime|clock_getres|gettimeofday|time|sysinfo|times|getrusage)\(")]
    private static partial System.Text.RegularExpressions.Regex Varies();

    private static string Case(string name) => Path.Combine(Support.Runner.CasesBuild, name);

    [Fact]
    public void EveryRecordArrivesOnceAndInOrderWhileTheRingWrapsAround()
    {
        var ring = new TraceRing(512);
        const int count = 200_000;
        var seen = new List<int>(count);
        var consumer = new Thread(() =>
        {
            while (seen.Count < count)
            {
                if (ring.Drain((in TraceRecord record) => seen.Add(record.Number)) == 0)
                    ring.Sleep();
            }
        });
        consumer.Start();
        for (var number = 0; number < count; number++)
        {
            ref var record = ref ring.Claim();
            record.Number = number;
            ring.Publish();
        }
        Assert.True(consumer.Join(TimeSpan.FromMinutes(1)), "the consumer did not see every record");
        Assert.Equal(Enumerable.Range(0, count), seen);
    }

    [Fact]
    public void FormattingOnAThreadWritesWhatFormattingAtOnceWrites()
    {
        // Strings, buffers and structures are formatted on the dispatch path, the rest later: the text must not change.
        string Trace(bool background)
        {
            var output = new StringWriter();
            var options = new TraceOptions { Follow = true, OutputPath = "unused" };
            var tracer = new Tracer(options, [new StraceWriter(options, output)], background);
            using (var kernel = new Trapeze.Kernel.Kernel(new Trapeze.Kernel.KernelOptions { Platform = new Trapeze.Cpu.Unicorn.UnicornPlatform(), Tracer = tracer, Diagnostics = TextWriter.Null }))
                kernel.Run(Case("c_syscalls.glibc-static"), ["c_syscalls"], ["LANG=C"]);
            tracer.Finish();
            // What differs between any two runs: random bytes, clocks, uptime.
            return string.Join('\n', output.ToString().Split('\n').Where(line => !Varies().IsMatch(line)));
        }
        var atOnce = Trace(background: false);
        Assert.Contains("openat(AT_FDCWD, ", atOnce);
        Assert.Contains("+++ exited with 0 +++", atOnce);
        Assert.Equal(atOnce, Trace(background: true));
    }

    [Fact]
    public void ACallThatBlocksWhileAnotherThreadCallsIsUnfinishedThenResumed()
    {
        var output = new StringWriter();
        var options = new TraceOptions { Follow = true };
        var tracer = new Tracer(options, [new StraceWriter(options, output)], formatInBackground: true);
        var read = SyscallCatalog.Definitions.Single(d => d.Name == "read");
        var getpid = SyscallCatalog.Definitions.Single(d => d.Name == "getpid");
        CallPlan Plan(SyscallDefinition definition, int entryCount) => new()
        {
            Name = definition.Name,
            DisplayName = definition.Name,
            Definition = definition,
            Traced = true,
            EntryCount = entryCount,
            ParameterCount = definition.Parameters.Length,
            EntryFromRegisters = true,
            ExitFromRegisters = entryCount == definition.Parameters.Length,
        };
        tracer.Deliver(new TraceRecord { Kind = RecordKind.ThreadStarted, ProcessId = 100, ThreadId = 100 });
        tracer.Deliver(new TraceRecord { Kind = RecordKind.ThreadStarted, ProcessId = 100, ThreadId = 101 });
        tracer.Deliver(new TraceRecord { Kind = RecordKind.Enter, ProcessId = 100, ThreadId = 100, Plan = Plan(read, 1), Arguments = new SyscallArguments { Arg0 = 3, Arg2 = 4096 } });
        tracer.Deliver(new TraceRecord { Kind = RecordKind.Enter, ProcessId = 100, ThreadId = 101, Plan = Plan(getpid, 0) });
        tracer.Deliver(new TraceRecord { Kind = RecordKind.Exit, ProcessId = 100, ThreadId = 101, Result = 100 });
        tracer.Deliver(new TraceRecord { Kind = RecordKind.Exit, ProcessId = 100, ThreadId = 100, Result = 3, Text = new ExitText(["\"abc\"", "4096"], "3") });
        tracer.Deliver(new TraceRecord { Kind = RecordKind.ThreadExited, ProcessId = 100, ThreadId = 101 });
        tracer.Deliver(new TraceRecord { Kind = RecordKind.ProcessExited, ProcessId = 100, ThreadId = 100, Text = "+++ exited with 0 +++" });
        tracer.Finish();

        Assert.Equal(
            "[pid   100] read(3,  <unfinished ...>\n" +
            "[pid   101] getpid()                    = 100\n" +
            "[pid   100] <... read resumed>\"abc\", 4096) = 3\n" +
            // The other thread has ended: one task left, no prefix.
            "+++ exited with 0 +++\n",
            output.ToString());
    }
}
