using System.Diagnostics;
using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// Real gdb in batch mode against `trapeze run --gdb`: the programs of tests/cases/debug (built -g -O0).
/// Every run has a deadline; gdb and trapeze are killed when it passes.
/// </summary>
public sealed class GdbTests
{
    private static string Case(string name) => Path.Combine(Runner.CasesBuild, "debug", name);

    [Fact]
    public void BreaksAtAFunctionOfAStaticProgram()
    {
        var run = Debug("debuggee.static", "break add", "continue", "bt");
        Assert.Contains("Breakpoint 1, add (a=0, b=10) at debug/debuggee.c:10", run.Gdb);
        Assert.Matches(@"#1 +0x[0-9a-f]+ in main \(\) at debug/debuggee.c:17", run.Gdb);
    }

    [Fact]
    public void BreaksAtAFunctionOfADynamicProgram()
    {
        var run = Debug("debuggee.dynamic", "break add", "continue", "continue", "info sharedlibrary");
        Assert.Contains("Breakpoint 1, add (a=1, b=10) at debug/debuggee.c:10", run.Gdb);
        Assert.Matches(@"0x[0-9a-f]+ +0x[0-9a-f]+ +Yes +/lib/x86_64-linux-gnu/libc.so.6", run.Gdb);
        Assert.Matches(@"Yes +/lib64/ld-linux-x86-64.so.2", run.Gdb);
    }

    [Fact]
    public void ReadsAndWritesRegistersAndMemory()
    {
        var run = Debug("debuggee.static", "break add", "continue", "p $rdi", "p $rsi", "p $rax = 0x1234", "p/x $rax",
            "p $eflags", "x/s message", "set var message[0] = 'J'", "set var counter = 100", "p counter", "delete", "continue");
        Assert.Contains("$1 = 0\n", run.Gdb);
        Assert.Contains("$2 = 10\n", run.Gdb);
        Assert.Contains("$4 = 0x1234\n", run.Gdb);
        Assert.Matches(@"\$5 = \[ .*IF.* \]", run.Gdb);
        Assert.Contains("<message>:\t\"hello from the debuggee\"", run.Gdb);
        Assert.Contains("$6 = 100\n", run.Gdb);
        Assert.Contains("[Inferior 1 (process", run.Gdb);
        // The writes reached the program: 100 + 10 + 11 + 12, and the changed first letter.
        Assert.Equal("Jello from the debuggee\ncounter=133\n", run.Guest);
    }

    [Fact]
    public void WatchesAVariable()
    {
        var run = Debug("debuggee.static", "watch counter", "continue", "continue");
        Assert.Contains("Hardware watchpoint 1: counter", run.Gdb);
        Assert.Contains("Old value = 0\nNew value = 10\n", run.Gdb);
        Assert.Contains("Old value = 10\nNew value = 21\n", run.Gdb);
    }

    [Fact]
    public void StepsLinesAndInstructions()
    {
        var run = Debug("debuggee.static", "break add", "continue", "next", "p sum", "stepi", "step", "step");
        Assert.Contains("11\t    return sum;", run.Gdb);
        Assert.Contains("$1 = 10\n", run.Gdb);
        Assert.Contains("12\t}\n", run.Gdb);
        Assert.Contains("main () at debug/debuggee.c:16\n16\t    for (int i = 0; i < 3; i++)\n17\t        counter += add(i, 10);", run.Gdb);
    }

    [Fact]
    public void ListsTheThreadsOfAPthreadProgram()
    {
        var run = Debug("threads.dynamic", "break all_started", "continue", "info threads", "thread 3", "continue");
        Assert.Matches(@"\* 1 +Thread \d+\.\d+ ""threads.dynamic"" all_started \(\)", run.Gdb);
        for (var id = 2; id <= 4; id++)
            Assert.Matches($@"\n +{id} +Thread \d+\.\d+ ""threads.dynamic""", run.Gdb);
        Assert.Contains("[Switching to thread 3", run.Gdb);
        Assert.Equal("all started\njoined\n", run.Guest);
    }

    [Fact]
    public void CatchesASegmentationFault()
    {
        var run = Debug("segv.static", "continue", "p $_siginfo.si_signo", "p $_siginfo._sifields._sigfault.si_addr", "continue");
        Assert.Contains("Program received signal SIGSEGV, Segmentation fault.\nmain () at debug/segv.c:10", run.Gdb);
        Assert.Contains("$1 = 11\n", run.Gdb);
        Assert.Contains("$2 = (void *) 0x0\n", run.Gdb);
        Assert.Contains("Program terminated with signal SIGSEGV, Segmentation fault.", run.Gdb);
        Assert.Equal("about to fault\n", run.Guest);
    }

    [Fact]
    public void CatchesASyscall()
    {
        var run = Debug("debuggee.static", "catch syscall write", "continue", "p $rdi", "continue", "p $rax", "delete", "continue");
        Assert.Contains("Catchpoint 1 (call to syscall write)", run.Gdb);
        Assert.Contains("$1 = 1\n", run.Gdb);
        Assert.Contains("Catchpoint 1 (returned from syscall write)", run.Gdb);
        Assert.Contains("$2 = 23\n", run.Gdb);
        Assert.Contains("exited normally", run.Gdb);
    }

    [Fact]
    public void FollowsAForkIntoTheChild()
    {
        var run = Debug("forker.dynamic", "set follow-fork-mode child", "break child_work", "continue", "info inferiors", "continue");
        Assert.Contains("[Attaching after Thread", run.Gdb);
        Assert.Contains("hit Breakpoint 1, child_work (value=21) at debug/forker.c:8", run.Gdb);
        Assert.Matches(@"\* 2 +process \d+", run.Gdb);
        Assert.Matches(@"\[Inferior 2 \(process \d+\) exited normally\]", run.Gdb);
        Assert.Equal("child working on 21\nchild exited with 0\n", run.Guest);
    }

    [Fact]
    public void ListensOnTcp()
    {
        var port = FreePort();
        var run = Debug("debuggee.static", $"127.0.0.1:{port}", ["break add", "continue", "kill"]);
        Assert.Contains("Breakpoint 1, add (a=0, b=10)", run.Gdb);
        Assert.Contains("[Inferior 1 (process", run.Gdb);
    }

    /// <summary>reverse-next and reverse-step go back over lines already run; reverse-continue to the first hit of a breakpoint.</summary>
    [Fact]
    public void ReverseStepsOverAReplay()
    {
        var run = DebugReplay("debuggee.static", "break 17", "continue", "next", "next", "next", "p i",
            "reverse-next", "p i", "reverse-next", "reverse-step", "p a", "reverse-continue", "p i", "delete", "continue");
        // Forward: line 17 with i = 0, the loop's 16, 17 again (the breakpoint) and 16 with i = 1.
        Assert.Contains("$1 = 1\n", run.Gdb);
        // Back one line: 17 of the second round, then 16 of the first, then into the end of its add(0, 10).
        Assert.Contains("$1 = 1\n\nBreakpoint 1, main () at debug/debuggee.c:17\n17\t        counter += add(i, 10);\n$2 = 1\n"
            + "16\t    for (int i = 0; i < 3; i++)\nadd (a=0, b=10) at debug/debuggee.c:12\n12\t}\n$3 = 0\n", run.Gdb);
        // The first hit of the breakpoint, then forward to the end: the output printed once.
        Assert.Contains("Breakpoint 1, main () at debug/debuggee.c:17\n17\t        counter += add(i, 10);\n$4 = 0\n", run.Gdb);
        Assert.Contains("[Inferior 1 (process 1000) exited normally]", run.Gdb);
        Assert.Equal("hello from the debuggee\ncounter=33\n", run.Guest);
    }

    /// <summary>Back over system calls the replay already made (the writes of line 18), in a dynamic program, and forward again.</summary>
    [Fact]
    public void ReverseContinuesOverSystemCallsOfADynamicReplay()
    {
        var run = DebugReplay("debuggee.dynamic", "break 20", "continue", "break 18", "reverse-continue", "p counter",
            "reverse-step", "reverse-step", "p a", "delete", "next", "next", "continue");
        Assert.Contains("Breakpoint 1, main () at debug/debuggee.c:20", run.Gdb);
        Assert.Contains("Breakpoint 2, main () at debug/debuggee.c:18\n18\t    write(1, message, 23);\n$1 = 33\n", run.Gdb);
        Assert.Contains("16\t    for (int i = 0; i < 3; i++)\nadd (a=2, b=10) at debug/debuggee.c:12\n12\t}\n$2 = 2\n", run.Gdb);
        Assert.Contains("[Inferior 1 (process 1000) exited normally]", run.Gdb);
        Assert.Equal("hello from the debuggee\ncounter=33\n", run.Guest);
    }

    /// <summary>Ctrl-C (the 0x03 byte) stops a running program: a thread spinning in guest code, and a run with only that thread to stop.</summary>
    [Fact]
    public void CtrlCInterruptsARunningProgram()
    {
        var directory = Directory.CreateTempSubdirectory("trapeze-gdb-");
        var address = Path.Combine(directory.FullName, "gdb.sock");
        var trapeze = Start(Runner.Trapeze, ["run", "--gdb", address, Case("spinner.static")]);
        try
        {
            WaitUntilListening(trapeze);
            using var client = new RemoteClient(address);
            Assert.Contains("multiprocess+", client.Ask("qSupported:multiprocess+;swbreak+"));
            Assert.StartsWith("T05thread:p", client.Ask("?"));
            for (var round = 0; round < 2; round++)
            {
                client.Send("vCont;c");
                Thread.Sleep(300);
                client.Interrupt();
                Assert.StartsWith("T02thread:p", client.Receive());
                // Every thread is listed while stopped: the spinner and the sleeper.
                Assert.Equal(2, client.Ask("qfThreadInfo").Split(',').Length);
            }
            client.Send("k");
            Assert.True(trapeze.WaitForExit(TimeSpan.FromSeconds(30)), "trapeze did not end after k");
        }
        finally
        {
            if (!trapeze.HasExited)
                trapeze.Kill(entireProcessTree: true);
            trapeze.Dispose();
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The remote protocol by hand: $packet#checksum, with acknowledgements, and a 10 s deadline on every read.</summary>
    private sealed class RemoteClient : IDisposable
    {
        private readonly System.Net.Sockets.Socket socket = new(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);

        public RemoteClient(string path)
        {
            socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
            socket.ReceiveTimeout = 10_000;
        }

        public void Send(string packet)
        {
            var sum = packet.Aggregate(0, (total, c) => (total + c) & 0xff);
            socket.Send(System.Text.Encoding.ASCII.GetBytes($"${packet}#{sum:x2}"));
        }

        public void Interrupt() => socket.Send([0x03]);

        public string Ask(string packet)
        {
            Send(packet);
            return Receive();
        }

        public string Receive()
        {
            var text = new System.Text.StringBuilder();
            var one = new byte[1];
            while (socket.Receive(one) == 1 && one[0] != (byte)'$')
            {
            }
            while (socket.Receive(one) == 1 && one[0] != (byte)'#')
                text.Append((char)one[0]);
            socket.Receive(one);
            socket.Receive(one);
            socket.Send("+"u8.ToArray());
            return text.ToString();
        }

        public void Dispose() => socket.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record GdbRun(string Gdb, string Guest, string Trapeze);

    private static GdbRun Debug(string program, params string[] commands)
    {
        var directory = Directory.CreateTempSubdirectory("trapeze-gdb-");
        try
        {
            return Debug(program, Path.Combine(directory.FullName, "gdb.sock"), commands);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>trapeze record of the program, then gdb with the commands against trapeze replay --gdb of the recording.</summary>
    private static GdbRun DebugReplay(string program, params string[] commands)
    {
        var directory = Directory.CreateTempSubdirectory("trapeze-gdb-");
        try
        {
            var recording = Path.Combine(directory.FullName, "run.tzr");
            var recorded = Runner.RunTrapeze("record", "-o", recording, Case(program));
            Assert.True(recorded.ExitCode == 0, recorded.Stderr);
            Assert.Equal("hello from the debuggee\ncounter=33\n", recorded.Stdout);
            return Debug(program, Path.Combine(directory.FullName, "gdb.sock"), commands, recording);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>
    /// trapeze run --gdb ADDRESS PROGRAM (or trapeze replay --gdb ADDRESS RECORDING), then gdb -batch
    /// with the commands; both killed after a minute.
    /// </summary>
    private static GdbRun Debug(string program, string address, string[] commands, string? recording = null)
    {
        var path = Case(program);
        Assert.True(File.Exists(path), $"{path} is missing: run tests/cases/build.sh");
        var trapeze = Start(Runner.Trapeze, recording is null ? ["run", "--gdb", address, path] : ["replay", "--gdb", address, recording]);
        try
        {
            WaitUntilListening(trapeze);
            var stderr = trapeze.StandardError.ReadToEndAsync();
            var stdout = trapeze.StandardOutput.ReadToEndAsync();
            string[] arguments = ["-nx", "-batch", "-ex", "set pagination off", "-ex", $"target remote {address}", .. commands.SelectMany(c => new[] { "-ex", c }), path];
            var gdb = Start("gdb", arguments, workingDirectory: Runner.Root);
            var gdbOutput = gdb.StandardOutput.ReadToEndAsync();
            var gdbErrors = gdb.StandardError.ReadToEndAsync();
            if (!gdb.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                gdb.Kill(entireProcessTree: true);
                Assert.Fail($"gdb did not finish: {gdbOutput.Result}");
            }
            if (!trapeze.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                trapeze.Kill(entireProcessTree: true);
                Assert.Fail($"trapeze did not end after gdb: {gdbOutput.Result}");
            }
            return new GdbRun(gdbOutput.Result + gdbErrors.Result, stdout.Result, stderr.Result);
        }
        finally
        {
            if (!trapeze.HasExited)
                trapeze.Kill(entireProcessTree: true);
            trapeze.Dispose();
        }
    }

    /// <summary>trapeze says it listens once the socket is bound.</summary>
    private static void WaitUntilListening(Process trapeze)
    {
        var ready = trapeze.StandardError.ReadLineAsync();
        Assert.True(ready.Wait(TimeSpan.FromSeconds(60)), "trapeze did not start listening");
        Assert.Contains("waiting for gdb", ready.Result ?? "");
    }

    private static Process Start(string program, string[] arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Runner.Root,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }
}
