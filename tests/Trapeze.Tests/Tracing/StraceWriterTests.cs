using Trapeze.Trace;

namespace Trapeze.Tests.Tracing;

/// <summary>
/// The multi-task lines of strace -f, driven with synthetic events: Trapeze has one thread per
/// process today, so the kernel cannot produce these yet.
/// </summary>
public sealed class StraceWriterTests
{
    private static TraceEvent Call(int thread, string name, string result, int entryArguments, params string[] arguments)
    {
        var call = new TraceEvent { ProcessId = 100, ThreadId = thread, Name = name, ResultText = result };
        call.Arguments.AddRange(arguments[..entryArguments]);
        call.EntryCount = entryArguments;
        call.HasExitArguments = entryArguments < arguments.Length;
        return call;
    }

    private static void Finish(TraceEvent call, params string[] exitArguments) => call.Arguments.AddRange(exitArguments);

    [Fact]
    public void InterleavedTasksGetUnfinishedAndResumedLinesWithPidPrefixes()
    {
        var output = new StringWriter();
        var writer = new StraceWriter(new TraceOptions { Follow = true }, output);
        writer.ThreadStarted(100, 100);
        writer.ThreadStarted(100, 101);

        var read = Call(100, "read", "3", 1, "3", "\"abc\"", "4096");
        writer.Entered(read);
        var getpid = Call(101, "getpid", "100", 0);
        writer.Entered(getpid);
        writer.Exited(getpid);
        Finish(read, "\"abc\"", "4096");
        writer.Exited(read);
        writer.ProcessExited(100, "+++ exited with 0 +++", TraceTime.Now());

        Assert.Equal(
            "[pid   100] read(3,  <unfinished ...>\n" +
            "[pid   101] getpid()                    = 100\n" +
            "[pid   100] <... read resumed>\"abc\", 4096) = 3\n" +
            // Another task still lives when the process exits, so even this line has the prefix.
            "[pid   100] +++ exited with 0 +++\n",
            output.ToString());
    }

    [Fact]
    public void SignalLinesInterruptAnOpenCall()
    {
        var output = new StringWriter();
        var writer = new StraceWriter(new TraceOptions(), output);
        var wait = Call(100, "wait4", "4242", 1, "-1", "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]", "0", "NULL");
        writer.Entered(wait);
        writer.SignalDelivered(100, 100, SignalFormatter.Line(new Trapeze.Kernel.Tasks.SignalInformation(Trapeze.Kernel.Abi.Linux.Signal.SIGCHLD, 1)
        {
            SenderProcess = 4242,
            SenderUser = 0,
            Status = 0,
        }), TraceTime.Now());
        Assert.Equal("wait4(-1,  <unfinished ...>\n--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=4242, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---\n", output.ToString());
    }

    [Fact]
    public void SignalInformationLikeStrace()
    {
        Assert.Equal("--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=7, si_uid=0} ---",
            SignalFormatter.Line(new Trapeze.Kernel.Tasks.SignalInformation(Trapeze.Kernel.Abi.Linux.Signal.SIGUSR1, 0) { SenderProcess = 7, SenderUser = 0 }));
        Assert.Equal("--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x401000} ---",
            SignalFormatter.Line(new Trapeze.Kernel.Tasks.SignalInformation(Trapeze.Kernel.Abi.Linux.Signal.SIGSEGV, 2) { Address = 0x401000 }));
        Assert.Equal("--- SIGILL {si_signo=SIGILL, si_code=SI_KERNEL} ---",
            SignalFormatter.Line(new Trapeze.Kernel.Tasks.SignalInformation(Trapeze.Kernel.Abi.Linux.Signal.SIGILL, 0x80)));
    }

    [Fact]
    public void OneTaskHasNoPrefixAndResultsAlignAtColumn40()
    {
        var output = new StringWriter();
        var writer = new StraceWriter(new TraceOptions { Follow = true }, output);
        writer.ThreadStarted(100, 100);
        var close = Call(100, "close", "0", 1, "3");
        writer.Entered(close);
        writer.Exited(close);
        Assert.Equal("close(3)                                = 0\n", output.ToString());
        Assert.Equal(40, output.ToString().IndexOf('='));
    }

    [Fact]
    public void FileOutputWithFollowStartsEachLineWithThePid()
    {
        var output = new StringWriter();
        var writer = new StraceWriter(new TraceOptions { Follow = true, OutputPath = "unused" }, output);
        var close = Call(4242, "close", "0", 1, "3");
        writer.Entered(close);
        writer.Exited(close);
        Assert.Equal("4242  close(3)                          = 0\n", output.ToString());
    }

    [Fact]
    public void StatusFilterWritesWholeLinesAtExit()
    {
        var filter = new TraceFilter();
        Assert.Null(filter.Apply("status=failed"));
        var output = new StringWriter();
        var writer = new StraceWriter(new TraceOptions { Filter = filter }, output);
        var open = Call(100, "openat", "-1 ENOENT (No such file or directory)", 3, "AT_FDCWD", "\"x\"", "O_RDONLY");
        writer.Entered(open);
        Assert.Equal("", output.ToString());
        writer.Exited(open);
        Assert.Equal("openat(AT_FDCWD, \"x\", O_RDONLY)         = -1 ENOENT (No such file or directory)\n", output.ToString());
    }
}
