using System.Text.Json;
using System.Text.Json.Nodes;
using Trapeze.Tests.Support;
using Xunit.Abstractions;

namespace Trapeze.Tests;

/// <summary>
/// `trapeze oci` driven as an engine drives an OCI runtime: create, start, state, kill, delete
/// on a bundle whose root file system is this machine's busybox-static; exit codes and state
/// JSON as the runtime specification (runtime.md) defines them.
/// </summary>
public sealed class OciTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), $"trapeze-oci-{Guid.NewGuid():N}");
    private readonly string stateRoot;

    public OciTests()
    {
        stateRoot = Path.Combine(directory, "state");
        Directory.CreateDirectory(directory);
    }

    public void Dispose()
    {
        // Whatever a failed test left running goes first.
        foreach (var container in Directory.Exists(stateRoot) ? Directory.GetDirectories(stateRoot) : [])
            Oci("delete", "--force", Path.GetFileName(container));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void CreateStartStateDeleteFollowTheRuntimeSpec()
    {
        var greeting = Path.Combine(directory, "greeting");
        File.WriteAllText(greeting, "hello from the host\n");
        // A file bound on a file, as engines bind /etc/hosts; read-only, so the write fails.
        var bundle = Bundle("b", ["sh", "-c", "echo hi; ls /; hostname; cat /etc/greeting; echo no >> /etc/greeting || exit 3"], config => config["mounts"]!.AsArray()
            .Add(new JsonObject { ["destination"] = "/etc/greeting", ["type"] = "bind", ["source"] = greeting, ["options"] = new JsonArray("rbind", "ro") }));
        var pidFile = Path.Combine(directory, "pid");
        var create = Create(bundle, "c1", "--pid-file", pidFile);
        Assert.True(create.ExitCode == 0, create.Stderr);

        var created = State("c1");
        Assert.Equal("created", created["status"]!.GetValue<string>());
        Assert.Equal("c1", created["id"]!.GetValue<string>());
        Assert.Equal(bundle, created["bundle"]!.GetValue<string>());
        Assert.StartsWith("1.", created["ociVersion"]!.GetValue<string>());
        Assert.Equal("value", created["annotations"]!["org.trapeze.test"]!.GetValue<string>());
        var pid = created["pid"]!.GetValue<int>();
        Assert.Equal(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(pidFile));
        Assert.True(Directory.Exists($"/proc/{pid}"));
        // Until start, the program has not run.
        Assert.Equal("", File.ReadAllText(Path.Combine(directory, "c1.out")));

        Assert.Equal(0, Oci("start", "c1").ExitCode);
        var stopped = WaitForStatus("c1", "stopped");
        Assert.Equal(0, stopped["pid"]!.GetValue<int>());
        Assert.Equal("hi\nbin\ndev\netc\nproc\nsys\noci-test\nhello from the host\n", File.ReadAllText(Path.Combine(directory, "c1.out")));
        Assert.Equal("hello from the host\n", File.ReadAllText(greeting));
        Assert.Equal(3, JsonNode.Parse(File.ReadAllText(Path.Combine(stateRoot, "c1", "exit.json")))!["code"]!.GetValue<int>());

        Assert.NotEqual(0, Oci("start", "c1").ExitCode);
        Assert.NotEqual(0, Oci("kill", "c1", "KILL").ExitCode);
        Assert.Equal(0, Oci("delete", "c1").ExitCode);
        var gone = Oci("state", "c1");
        Assert.NotEqual(0, gone.ExitCode);
        Assert.Contains("does not exist", gone.Stderr);
    }

    [Fact]
    public void KillSignalsTheProgramAndDeleteNeedsForceWhileRunning()
    {
        var bundle = Bundle("b", ["sleep", "60"]);
        Assert.Equal(0, Create(bundle, "k1").ExitCode);
        Assert.Equal(0, Oci("start", "k1").ExitCode);
        Assert.Equal("running", State("k1")["status"]!.GetValue<string>());
        var refused = Oci("delete", "k1");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("not stopped", refused.Stderr);

        Assert.Equal(0, Oci("kill", "k1", "15").ExitCode);
        WaitForStatus("k1", "stopped");
        Assert.Equal(15, JsonNode.Parse(File.ReadAllText(Path.Combine(stateRoot, "k1", "exit.json")))!["signal"]!.GetValue<int>());
        Assert.Equal(0, Oci("delete", "k1").ExitCode);

        Assert.Equal(0, Create(bundle, "k2").ExitCode);
        Assert.NotEqual(0, Oci("kill", "k2", "NOSUCHSIGNAL").ExitCode);
        Assert.Equal(0, Oci("delete", "--force", "k2").ExitCode);
        Assert.NotEqual(0, Oci("state", "k2").ExitCode);
        // runc's rule: forcing the delete of a container that is not there is no error.
        Assert.Equal(0, Oci("delete", "--force", "k2").ExitCode);
    }

    [Fact]
    public void ExecRunsInTheContainersFileSystem()
    {
        var bundle = Bundle("b", ["sleep", "60"]);
        Assert.Equal(0, Create(bundle, "e1").ExitCode);
        Assert.NotEqual(0, Oci("exec", "e1", "/bin/true").ExitCode); // created, not running
        Assert.Equal(0, Oci("start", "e1").ExitCode);
        var exec = Oci("exec", "--env", "WHO=exec", "e1", "/bin/sh", "-c", "echo $WHO; ls /dev/null; hostname; exit 4");
        Assert.Equal("exec\n/dev/null\noci-test\n", exec.Stdout);
        Assert.Equal(4, exec.ExitCode);
        var pids = JsonNode.Parse(Oci("ps", "--format", "json", "e1").Stdout)!.AsArray();
        Assert.Equal(State("e1")["pid"]!.GetValue<int>(), pids[0]!.GetValue<int>());
        Assert.Equal(0, Oci("delete", "--force", "e1").ExitCode);
    }

    [Fact]
    public void WhatTrapezeCannotProvideIsRefusedAtCreate()
    {
        var bundle = Bundle("b", ["true"], config => config["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/mnt",
            ["type"] = "nfs",
            ["source"] = "server:/export",
        }));
        var create = Create(bundle, "r1");
        Assert.Equal(1, create.ExitCode);
        Assert.Contains("mount type \"nfs\" at /mnt is not supported", create.Stderr);
        Assert.NotEqual(0, Oci("state", "r1").ExitCode);

        var missing = Create(Bundle("m", ["nosuchprogram"]), "r2");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("executable file not found in $PATH", missing.Stderr);
    }

    [Fact]
    public void HooksGetTheStateOnStdinAtTheirPoints()
    {
        var log = Path.Combine(directory, "hooks.log");
        var hook = Path.Combine(directory, "hook.sh");
        File.WriteAllText(hook, $"#!/bin/sh\n{{ echo \"$1\"; cat; echo; }} >> {log}\n");
        File.SetUnixFileMode(hook, (UnixFileMode)0b111_101_101);
        JsonObject Host(string name) => new() { ["path"] = hook, ["args"] = new JsonArray("hook.sh", name) };
        var bundle = Bundle("b", ["true"], config => config["hooks"] = new JsonObject
        {
            ["createRuntime"] = new JsonArray(Host("createRuntime")),
            ["poststart"] = new JsonArray(Host("poststart")),
            ["poststop"] = new JsonArray(Host("poststop")),
            // In the container: the container's /bin/sh, run by Trapeze inside the root file system.
            ["startContainer"] = new JsonArray(new JsonObject { ["path"] = "/bin/sh", ["args"] = new JsonArray("sh", "-c", "cat > /started") }),
        });
        Assert.Equal(0, Create(bundle, "h1").ExitCode);
        Assert.Equal(0, Oci("start", "h1").ExitCode);
        WaitForStatus("h1", "stopped");
        Assert.Equal(0, Oci("delete", "h1").ExitCode);

        var lines = File.ReadAllLines(log);
        Assert.Equal(["createRuntime", "poststart", "poststop"], lines.Where((_, index) => index % 2 == 0));
        var states = lines.Where((_, index) => index % 2 == 1).Select(line => JsonNode.Parse(line)!).ToList();
        Assert.All(states, state => Assert.Equal("h1", state["id"]!.GetValue<string>()));
        Assert.Equal("creating", states[0]["status"]!.GetValue<string>());
        Assert.Equal("stopped", states[2]["status"]!.GetValue<string>());
        var inContainer = JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "rootfs", "started")))!;
        Assert.Equal("created", inContainer["status"]!.GetValue<string>());
    }

    [Fact]
    public void FeaturesListAndLogAreJson()
    {
        // Global flags as containerd and podman pass them; errors also go to --log as runc's JSON lines.
        var log = Path.Combine(directory, "log.json");
        var missing = Runner.Run(Runner.Trapeze, ["oci", "--root", stateRoot, "--log", log, "--log-format", "json", "--systemd-cgroup", "--cgroup-manager", "cgroupfs", "state", "nosuch"]);
        Assert.Equal(1, missing.ExitCode);
        var line = JsonNode.Parse(File.ReadAllLines(log).Last())!;
        Assert.Equal("error", line["level"]!.GetValue<string>());
        Assert.Contains("does not exist", line["msg"]!.GetValue<string>());
        Assert.True(DateTime.TryParse(line["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, out _));

        var features = JsonNode.Parse(Oci("features").Stdout)!;
        Assert.Equal("1.0.0", features["ociVersionMin"]!.GetValue<string>());
        Assert.Contains("startContainer", features["hooks"]!.AsArray().Select(hook => hook!.GetValue<string>()));
        Assert.Equal(0, Create(Bundle("b", ["true"]), "l1").ExitCode);
        var list = JsonNode.Parse(Oci("list", "--format", "json").Stdout)!.AsArray();
        Assert.Equal("created", Assert.Single(list)!["status"]!.GetValue<string>());
        Assert.Equal(0, Oci("delete", "--force", "l1").ExitCode);
    }

    /// <summary>A bundle: rootfs from /bin/busybox with applet links, and a config.json like an engine's.</summary>
    private string Bundle(string name, string[] args, Action<JsonObject>? edit = null)
    {
        var bundle = Path.Combine(directory, name);
        var bin = Path.Combine(bundle, "rootfs", "bin");
        Directory.CreateDirectory(bin);
        File.Copy("/bin/busybox", Path.Combine(bin, "busybox"));
        foreach (var applet in new[] { "sh", "ls", "cat", "echo", "sleep", "true", "hostname" })
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        var config = new JsonObject
        {
            ["ociVersion"] = "1.0.2",
            ["process"] = new JsonObject
            {
                ["terminal"] = false,
                ["user"] = new JsonObject { ["uid"] = 0, ["gid"] = 0 },
                ["args"] = new JsonArray([.. args.Select(arg => (JsonNode)arg)]),
                ["env"] = new JsonArray("PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
                ["cwd"] = "/",
                ["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["hard"] = 1024, ["soft"] = 1024 }),
            },
            ["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = false },
            ["hostname"] = "oci-test",
            ["mounts"] = new JsonArray(
                new JsonObject { ["destination"] = "/proc", ["type"] = "proc", ["source"] = "proc" },
                new JsonObject { ["destination"] = "/dev", ["type"] = "tmpfs", ["source"] = "tmpfs", ["options"] = new JsonArray("nosuid", "mode=755") },
                new JsonObject { ["destination"] = "/dev/pts", ["type"] = "devpts", ["source"] = "devpts" },
                new JsonObject { ["destination"] = "/sys", ["type"] = "sysfs", ["source"] = "sysfs", ["options"] = new JsonArray("ro") }),
            ["annotations"] = new JsonObject { ["org.trapeze.test"] = "value" },
            ["linux"] = new JsonObject { ["namespaces"] = new JsonArray(new JsonObject { ["type"] = "pid" }, new JsonObject { ["type"] = "mount" }) },
        };
        edit?.Invoke(config);
        File.WriteAllText(Path.Combine(bundle, "config.json"), config.ToJsonString());
        return bundle;
    }

    /// <summary>create with stdio on files, as an engine gives the container its own pipes (the supervisor keeps them).</summary>
    private RunResult Create(string bundle, string id, params string[] extra)
    {
        var output = Path.Combine(directory, id + ".out");
        var errors = Path.Combine(directory, id + ".err");
        var result = Runner.Run("sh", ["-c", "out=$1; err=$2; shift 2; exec \"$@\" < /dev/null > \"$out\" 2> \"$err\"", "sh", output, errors,
            Runner.Trapeze, "oci", "--root", stateRoot, "create", "--bundle", bundle, .. extra, id]);
        return result with { Stderr = File.ReadAllText(errors) };
    }

    private RunResult Oci(params string[] arguments) => Runner.Run(Runner.Trapeze, ["oci", "--root", stateRoot, .. arguments]);

    private JsonNode State(string id)
    {
        var result = Oci("state", id);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return JsonNode.Parse(result.Stdout)!;
    }

    private JsonNode WaitForStatus(string id, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var state = State(id);
            if (state["status"]!.GetValue<string>() == status)
                return state;
            Assert.True(DateTime.UtcNow < deadline, $"{id} still {state["status"]} after 120 s");
            Thread.Sleep(50);
        }
    }
}

/// <summary>
/// Debian's podman running a busybox image through `trapeze oci` (storage driver vfs, cgroupfs,
/// no network), with its storage under the test's own directory.
/// </summary>
public sealed class OciPodmanTests(ITestOutputHelper output) : IDisposable
{
    // podman refuses a run root path longer than 50 characters.
    private readonly string directory = Path.Combine(Path.GetTempPath(), $"tzp-{Guid.NewGuid():N}"[..12]);

    public void Dispose()
    {
        if (!Directory.Exists(directory))
            return;
        Podman("rm", "--all", "--force");
        Podman("rmi", "--all", "--force");
        // podman mounts a tmpfs for each container's /dev/shm under its run root.
        foreach (var line in File.ReadAllLines("/proc/self/mounts"))
        {
            var point = line.Split(' ')[1];
            if (point.StartsWith(directory, StringComparison.Ordinal))
                Runner.Run("umount", ["-l", point]);
        }
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void PodmanRunsABusyboxImage()
    {
        if (!Prepare())
            return;
        var result = Podman("run", "--rm", "--network", "none", "localhost/trapeze-busybox:test", "/bin/sh", "-c", "echo hi; ls /");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("hi\nbin\ndev\netc\nproc\nrun\nsys\n", result.Stdout);

        var status = Podman("run", "--rm", "--network", "none", "localhost/trapeze-busybox:test", "/bin/sh", "-c", "exit 7");
        Assert.Equal(7, status.ExitCode);
        var missing = Podman("run", "--rm", "--network", "none", "localhost/trapeze-busybox:test", "nosuchprogram");
        Assert.Equal(127, missing.ExitCode);
    }

    [Fact]
    public void PodmanTerminalGetsThePtyOverTheConsoleSocket()
    {
        if (!Prepare())
            return;
        // script(1) gives podman a terminal, so -t asks the runtime for one (--console-socket).
        var command = string.Join(' ', PodmanCommand("run", "--rm", "-t", "--network", "none", "localhost/trapeze-busybox:test", "/bin/sh", "-c", "[ -t 1 ] && echo on-a-terminal")
            .Select(word => "'" + word.Replace("'", "'\\''") + "'"));
        var result = Runner.Run("script", ["-qec", command, "/dev/null"], environment: StorageEnvironment, timeoutSeconds: 180);
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains("on-a-terminal", result.Stdout);
    }

    /// <summary>Storage, the runtime wrapper and the image; false (the reason printed) where podman cannot run at all.</summary>
    private bool Prepare()
    {
        if (Runner.Run("sh", ["-c", "command -v podman"]).ExitCode != 0)
        {
            output.WriteLine("SKIPPED: podman is not installed (tools/ensure-packages test installs it)");
            return false;
        }
        if (Environment.UserName != "root")
        {
            output.WriteLine("SKIPPED: rootless podman needs subordinate ids (newuidmap); this test runs podman as root");
            return false;
        }
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "storage.conf"), $"[storage]\ndriver = \"vfs\"\nrunroot = \"{directory}/run\"\ngraphroot = \"{directory}/graph\"\n");
        var wrapper = Path.Combine(directory, "trapeze-oci");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec {Runner.Trapeze} oci --root {directory}/oci-state \"$@\"\n");
        File.SetUnixFileMode(wrapper, (UnixFileMode)0b111_101_101);
        var rootfs = Path.Combine(directory, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin", "busybox"));
        foreach (var applet in new[] { "sh", "ls", "echo", "cat" })
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        var tarball = Path.Combine(directory, "rootfs.tar");
        Assert.Equal(0, Runner.Run("tar", ["-C", rootfs, "-cf", tarball, "."]).ExitCode);
        var info = Podman("info");
        if (info.ExitCode != 0)
        {
            output.WriteLine($"SKIPPED: podman cannot run here: podman info failed: {info.Stderr.Trim()}");
            return false;
        }
        var import = Podman("import", tarball, "localhost/trapeze-busybox:test");
        Assert.True(import.ExitCode == 0, import.Stderr);
        return true;
    }

    private Dictionary<string, string?> StorageEnvironment => new() { ["CONTAINERS_STORAGE_CONF"] = Path.Combine(directory, "storage.conf") };

    private string[] PodmanCommand(params string[] arguments) =>
    [
        "podman", "--root", $"{directory}/graph", "--runroot", $"{directory}/run", "--storage-driver", "vfs",
        "--cgroup-manager", "cgroupfs", "--events-backend", "none", "--tmpdir", $"{directory}/tmp",
        "--runtime", Path.Combine(directory, "trapeze-oci"), .. arguments,
    ];

    private RunResult Podman(params string[] arguments)
    {
        var command = PodmanCommand(arguments);
        return Runner.Run(command[0], command[1..], environment: StorageEnvironment, timeoutSeconds: 180);
    }
}
