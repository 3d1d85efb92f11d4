using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// Real servers and clients under Trapeze, talking over loopback with native programs and with each
/// other. Every port but reference 00's fixed 8080 is one the host just handed out, and every wait
/// has a deadline.
/// </summary>
public sealed class NetworkTests
{
    private static readonly string Builds = Runner.CasesBuild;

    /// <summary>Reference 00's TCP server on port 8080 answers curl running natively and curl running under Trapeze in the same Trapeze instance.</summary>
    [Fact]
    public void ReferenceServerAnswersNativeAndEmulatedClients()
    {
        var server = Path.Combine(Builds, "servers", "tcp_server");
        var script = $"{server} & s=$!; curl -s --retry-connrefused --retry 200 --retry-delay 0 --max-time 20 http://127.0.0.1:8080/; wait $s; echo server exit $?";
        using var emulated = Background(Runner.Trapeze, ["run", "/bin/sh", "-c", script]);
        var native = Runner.Run("curl", ["-s", "--retry-connrefused", "--retry", "200", "--retry-delay", "0", "--max-time", "20", "http://127.0.0.1:8080/"], timeoutSeconds: 40);
        Assert.Equal("Hello from assembly!\n", native.Stdout);
        var output = emulated.Finish();
        Assert.Equal("Hello from assembly!\nserver exit 0\n", output);
    }

    [Fact]
    public void PythonHttpServerServesAFileToCurl()
    {
        var directory = Directory.CreateTempSubdirectory("trapeze-net-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "page.txt"), "served by python under trapeze\n");
            var port = FreePort();
            using var server = Background(Runner.Trapeze, ["run", "/usr/bin/python3", "-m", "http.server", port.ToString(), "--bind", "127.0.0.1", "--directory", directory]);
            WaitForPort(port);
            var result = Runner.Run("curl", ["-s", "--max-time", "20", $"http://127.0.0.1:{port}/page.txt"], timeoutSeconds: 30);
            Assert.Equal("served by python under trapeze\n", result.Stdout);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void BusyboxHttpdServesCurl()
    {
        var directory = Directory.CreateTempSubdirectory("trapeze-net-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "index.html"), "<p>busybox httpd</p>\n");
            var port = FreePort();
            using var server = Background(Runner.Trapeze, ["run", "/bin/busybox", "httpd", "-f", "-p", $"127.0.0.1:{port}", "-h", directory]);
            WaitForPort(port);
            var result = Runner.Run("curl", ["-s", "--max-time", "20", $"http://127.0.0.1:{port}/index.html"], timeoutSeconds: 30);
            Assert.Equal("<p>busybox httpd</p>\n", result.Stdout);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task BusyboxNcListensAndConnects()
    {
        // nc -l under Trapeze prints what a native client sends.
        var port = FreePort();
        using (var listening = Background(Runner.Trapeze, ["run", "/bin/busybox", "nc", "-l", "-p", port.ToString()]))
        {
            using (var client = Connect(port))
                client.GetStream().Write("to nc -l\n"u8);
            Assert.Equal("to nc -l\n", listening.Finish());
        }
        // nc under Trapeze prints what a native server sends.
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var serverPort = ((IPEndPoint)server.LocalEndpoint).Port;
        using var connecting = Background(Runner.Trapeze, ["run", "/bin/busybox", "nc", "127.0.0.1", serverPort.ToString()]);
        using (var accepted = await server.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(30)))
            accepted.GetStream().Write("from a server\n"u8);
        Assert.Equal("from a server\n", connecting.Finish());
    }

    [Fact]
    public void CurlAndWgetFetchFromALoopbackServer()
    {
        var directory = Directory.CreateTempSubdirectory("trapeze-net-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "data.txt"), "fetched over loopback\n");
            var port = FreePort();
            using var server = Background("/usr/bin/python3", ["-m", "http.server", port.ToString(), "--bind", "127.0.0.1", "--directory", directory]);
            WaitForPort(port);
            var url = $"http://127.0.0.1:{port}/data.txt";
            Assert.Equal("fetched over loopback\n", Runner.Run(Runner.Trapeze, ["run", "/usr/bin/curl", "-s", "--max-time", "20", url], timeoutSeconds: 60).Stdout);
            Assert.Equal("fetched over loopback\n", Runner.Run(Runner.Trapeze, ["run", "/usr/bin/wget", "-q", "-O", "-", url], timeoutSeconds: 60).Stdout);
            // --net none: the host's network is out of reach.
            var isolated = Runner.Run(Runner.Trapeze, ["run", "--net", "none", "/usr/bin/curl", "-s", "--max-time", "10", url], timeoutSeconds: 60);
            Assert.NotEqual(0, isolated.ExitCode);
            Assert.Equal("", isolated.Stdout);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A static Go program (built by tests/cases/build.sh): its net/http server and client, in one process.</summary>
    [Theory]
    [InlineData("host")]
    [InlineData("none")]
    public void GoNetHttpServerAndClient(string network)
    {
        var program = Path.Combine(Builds, "go", "httpdemo");
        var result = Runner.Run(Runner.Trapeze, ["run", "--net", network, program], timeoutSeconds: 120);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("200 hello from go, GET 0\n200 hello from go, GET 1\n200 hello from go, GET 2\n200 hello from go, GET fresh\n", result.Stdout);
    }

    [Fact]
    public void PythonAsyncioEchoServerAndClients()
    {
        const string Script = """
            import asyncio
            async def handle(reader, writer):
                while data := await reader.readline():
                    writer.write(data.upper())
                    await writer.drain()
                writer.close()
            async def main():
                server = await asyncio.start_server(handle, "127.0.0.1", 0)
                port = server.sockets[0].getsockname()[1]
                async def client(n):
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    replies = []
                    for i in range(3):
                        writer.write(f"client {n} line {i}\n".encode())
                        await writer.drain()
                        replies.append((await reader.readline()).decode().strip())
                    writer.close()
                    await writer.wait_closed()
                    return ", ".join(replies)
                print("\n".join(await asyncio.gather(*(client(n) for n in range(5)))))
                server.close()
                await server.wait_closed()
            asyncio.run(main())
            """;
        var native = Runner.Run("/usr/bin/python3", ["-c", Script], timeoutSeconds: 60);
        var emulated = Runner.Run(Runner.Trapeze, ["run", "/usr/bin/python3", "-c", Script], timeoutSeconds: 120);
        Assert.Equal(0, emulated.ExitCode);
        Assert.Contains("CLIENT 4 LINE 2", native.Stdout);
        Assert.Equal(native.Stdout, emulated.Stdout);
    }

    /// <summary>A port the host just handed out and took back: free unless someone takes it in between.</summary>
    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static TcpClient Connect(int port)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new TcpClient("127.0.0.1", port);
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(50);
            }
        }
    }

    private static void WaitForPort(int port) => Connect(port).Dispose();

    private static BackgroundProcess Background(string program, string[] arguments) => new(program, arguments);

    /// <summary>A program running while the test talks to it; killed (with its children) when disposed.</summary>
    private sealed class BackgroundProcess : IDisposable
    {
        private readonly Process process;
        private readonly Task<string> stdout;

        public BackgroundProcess(string program, string[] arguments)
        {
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = Runner.Root };
            foreach (var argument in arguments)
                start.ArgumentList.Add(argument);
            process = Process.Start(start)!;
            stdout = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
        }

        /// <summary>Waits (at most a minute) for the program to end by itself and returns its output.</summary>
        public string Finish()
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(60_000))
                throw new TimeoutException($"{process.StartInfo.FileName} did not end");
            return stdout.Result;
        }

        public void Dispose()
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
            process.Dispose();
        }
    }
}
