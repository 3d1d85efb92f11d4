using System.Diagnostics;
using System.Net.Sockets;
using Trapeze.Tests.Support;

namespace Trapeze.Tests.Vfs;

/// <summary>`trapeze run --root R`: programs run from another root file system and cannot reach outside it.</summary>
public sealed class RootTests
{
    private static void Shell(string command)
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/bash", ["-c", command]) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{command}: {error}");
    }

    /// <summary>A root with busybox, a dynamic program with its libraries, /proc and /tmp; the secret lies beside it.</summary>
    private static string MakeRoot(string top)
    {
        var root = Path.Combine(top, "root");
        Shell($"""
            set -e
            mkdir -p {root}/bin {root}/etc {root}/proc {root}/dev {root}/tmp {root}/ro {top}/robind
            cp /bin/busybox {root}/bin/busybox
            for applet in sh ls wc cat echo head stat tr; do ln -s busybox {root}/bin/$applet; done
            printf 'NAME="Trapeze test root"\nID=trapeze\n' > {root}/etc/os-release
            echo SECRET > {top}/secret
            echo robind > {top}/robind/file
            for file in /bin/true $(ldd /bin/true | grep -o '/[^ ]*'); do mkdir -p {root}$(dirname $file); cp -L $file {root}$file; done
            """);
        return root;
    }

    [Fact]
    public void BusyboxRunsFromAnotherRoot()
    {
        var top = Directory.CreateTempSubdirectory("trapeze-root-").FullName;
        try
        {
            var root = MakeRoot(top);
            var result = Runner.RunTrapeze("run", "--root", root, "/bin/sh", "-c", "ls / | wc -l; cat /etc/os-release");
            Assert.Equal(0, result.ExitCode);
            var entries = Directory.GetFileSystemEntries(root).Length;
            var lines = result.Stdout.Split('\n', 2);
            Assert.Equal(entries.ToString(System.Globalization.CultureInfo.InvariantCulture), lines[0].Trim()); // busybox wc pads the count
            Assert.Equal("NAME=\"Trapeze test root\"\nID=trapeze\n", lines[1]);
            var dynamic = Runner.RunTrapeze("run", "--root", root, "/bin/true");
            Assert.True(dynamic.ExitCode == 0, dynamic.Stderr);
            var exe = Runner.RunTrapeze("run", "--root", root, "/bin/sh", "-c", "readlink /proc/self/exe; cd /tmp && pwd; cat /proc/self/mounts | wc -l");
            Assert.Equal("/bin/busybox\n/tmp\n3\n", exe.Stdout.Replace(" ", ""));
        }
        finally
        {
            Shell($"rm -rf {top}"); // .NET cannot name the non-UTF-8 file the guest made
        }
    }

    [Fact]
    public void DevicesUnderAnotherRootAreTrapezes()
    {
        var top = Directory.CreateTempSubdirectory("trapeze-dev-").FullName;
        try
        {
            var root = MakeRoot(top);
            var script = """
                ls /dev | tr '\n' ' '; echo
                head -c 5 /dev/zero | wc -c; cat /dev/null | wc -c; head -c 16 /dev/urandom | wc -c
                echo x > /dev/full || echo full refuses
                echo to-stdout > /dev/stdout; ls /dev/fd/ | grep -c '^[012]$'
                stat -c '%F %t,%T' /dev/null /dev/zero; stat -c '%a' /dev/shm
                echo shared > /dev/shm/f && cat /dev/shm/f
                """;
            var result = Runner.RunTrapeze("run", "--root", root, "/bin/sh", "-c", script);
            Assert.Equal("""
                console fd full null pts random shm stderr stdin stdout tty urandom zero
                5
                0
                16
                full refuses
                to-stdout
                3
                character special file 1,3
                character special file 1,5
                1777
                shared

                """, string.Join('\n', result.Stdout.Split('\n').Select(line => line.Trim()))); // busybox wc pads counts
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(root, "dev")));
        }
        finally
        {
            Shell($"rm -rf {top}");
        }
    }

    private static Socket Listen(UnixDomainSocketEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(endPoint);
        socket.Listen(4);
        return socket;
    }

    [Fact]
    public void EscapeAttemptsFailInsideTheRoot()
    {
        var top = Directory.CreateTempSubdirectory("trapeze-jail-").FullName;
        try
        {
            var root = MakeRoot(top);
            var source = Path.Combine(Runner.Root, "tests", "Trapeze.Tests", "Vfs", "jail.c");
            Shell($"gcc -O1 -static -pthread -o {root}/jail {source}");
            // Host sockets outside the root, by path and by abstract name: the guest must reach neither.
            using var hostSocket = Listen(new UnixDomainSocketEndPoint($"{top}/host.sock"));
            var abstractName = $"trapeze-jail-{Environment.ProcessId}-{Environment.TickCount64}";
            using var abstractSocket = Listen(new UnixDomainSocketEndPoint("\0" + abstractName));
            var result = Runner.RunTrapeze("run", "--root", root, "--bind", $"{top}/robind:/ro:ro", "/jail", $"{top}/secret",
                Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{top}/host.sock", abstractName);
            Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
            Assert.DoesNotContain("FAIL", result.Stdout);
            var count = int.Parse(result.Stdout.Split('\n').Single(line => line.StartsWith("checks: ", StringComparison.Ordinal))["checks: ".Length..]);
            Assert.True(count >= 60, result.Stdout);
            Assert.False(hostSocket.Poll(0, SelectMode.SelectRead), "a guest connected to the host's socket");
            Assert.False(abstractSocket.Poll(0, SelectMode.SelectRead), "a guest connected to the host's abstract socket");
            // Nothing outside the root changed: the names the guest aimed there exist inside it instead.
            Assert.False(File.Exists(Path.Combine(top, "moved-out")));
            Assert.False(Directory.Exists(Path.Combine(top, "made-out")));
            Assert.True(File.Exists(Path.Combine(root, "moved-out")));
            Assert.Equal("SECRET\n", File.ReadAllText(Path.Combine(top, "secret")));
            Assert.Equal("robind\n", File.ReadAllText(Path.Combine(top, "robind", "file")));
            Shell($"test -e {root}/tmp/caf$'\\xe9'");
        }
        finally
        {
            Shell($"rm -rf {top}"); // .NET cannot name the non-UTF-8 file the guest made
        }
    }
}
