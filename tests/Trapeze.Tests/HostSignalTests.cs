using System.Diagnostics;
using System.Runtime.InteropServices;
using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// Signals sent to the trapeze process itself (a terminal's Ctrl-C, kill from outside) become the
/// guest's, and trapeze exits with the guest's status.
/// </summary>
public sealed partial class HostSignalTests
{
    private const int SIGINT = 2, SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    /// <summary>Ctrl-C on `trapeze run /bin/sleep 100`: the guest dies of SIGINT, trapeze exits 130 without a message, as a shell's child would.</summary>
    [Fact]
    public void InterruptEndsASleepWith130()
    {
        var (code, stdout, stderr, seconds) = RunAndSignal(["/bin/bash", "-c", "echo ready; exec /bin/sleep 100"], SIGINT, waitFor: "ready\n");
        Assert.Equal(130, code);
        Assert.Equal("ready\n", stdout);
        Assert.Equal("", stderr);
        Assert.True(seconds < 30, $"trapeze took {seconds:F1} s to end after SIGINT");
    }

    /// <summary>`yes | head -1`: the guest's write into the host pipe whose reader left raises SIGPIPE, which ends it silently with 141.</summary>
    [Fact]
    public void WriteIntoAClosedHostPipeIsSigpipe()
    {
        var result = Runner.Run("/bin/bash", ["-c", $"'{Runner.Trapeze}' run /usr/bin/yes | head -1; echo \"${{PIPESTATUS[0]}}\""], timeoutSeconds: 30);
        Assert.Equal("y\n141\n", result.Stdout);
        Assert.Equal("", result.Stderr);
    }

    /// <summary>SIGTERM from outside goes to the first guest process: 143.</summary>
    [Fact]
    public void TerminateEndsTheGuestWith143()
    {
        var (code, _, stderr, _) = RunAndSignal(["/bin/bash", "-c", "echo ready; exec /bin/sleep 100"], SIGTERM, waitFor: "ready\n");
        Assert.Equal(143, code);
        Assert.Contains("Terminated", stderr);
    }

    /// <summary>The guest's own SIGINT handler runs (bash's trap), with the signal sent to its whole foreground group.</summary>
    [Fact]
    public void InterruptReachesTheGuestsHandler()
    {
        var (code, stdout, _, _) = RunAndSignal(
            ["/bin/bash", "-c", "trap 'echo caught; exit 7' INT; echo ready; while :; do sleep 0.1; done"], SIGINT, waitFor: "ready\n");
        Assert.Equal("ready\ncaught\n", stdout);
        Assert.Equal(7, code);
    }

    /// <summary>
    /// Starts `trapeze run PROGRAM`, waits until the guest runs (it prints <paramref name="waitFor"/>),
    /// then sends the signal to trapeze.
    /// </summary>
    internal static (int Code, string Stdout, string Stderr, double Seconds) RunAndSignal(string[] program, int signal, string waitFor, string[]? options = null)
    {
        var start = new ProcessStartInfo(Runner.Trapeze)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var word in (string[])["run", .. options ?? [], "--", .. program])
            start.ArgumentList.Add(word);
        using var process = Process.Start(start)!;
        var stdout = new System.Text.StringBuilder();
        var ready = new ManualResetEventSlim(false);
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is null)
                return;
            lock (stdout)
            {
                stdout.Append(line.Data).Append('\n');
                if (stdout.ToString().Contains(waitFor, StringComparison.Ordinal))
                    ready.Set();
            }
        };
        process.BeginOutputReadLine();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!ready.IsSet && DateTime.UtcNow < deadline && !process.HasExited)
                Thread.Sleep(50);
            if (process.HasExited)
                Assert.Fail("trapeze ended before the signal: " + stderr.Result);
            Assert.True(DateTime.UtcNow < deadline, "the guest did not start within 60 s");
            // Slack for the exec and the first sleep to begin.
            Thread.Sleep(500);
            var sent = Stopwatch.StartNew();
            Assert.Equal(0, SendSignal(process.Id, signal));
            if (!process.WaitForExit(60_000))
                Assert.Fail("trapeze did not end within 60 s of the signal");
            process.WaitForExit();
            lock (stdout)
                return (process.ExitCode, stdout.ToString(), stderr.Result, sent.Elapsed.TotalSeconds);
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
    }
}
