using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>
/// `trapeze record` and `trapeze replay`: tests/cases/deterministic/recorded.c prints clocks, random
/// bytes, pids, tids and a counter four threads race on, and reads, stats and lists a host file; the
/// replay prints the same with that file deleted or changed. Recordings it cannot replay are refused
/// with one line and a non-zero status.
/// </summary>
public sealed class RecordReplayTests : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("trapeze-record-");

    public void Dispose() => directory.Delete(recursive: true);

    private string Here(string name) => Path.Combine(directory.FullName, name);

    private static string Case(string name) => Path.Combine(Runner.CasesBuild, "deterministic", name);

    /// <summary>Records the program reading input.txt (which holds <paramref name="text"/>) into run.tzr; returns what it printed.</summary>
    private string Record(string program, string text)
    {
        File.WriteAllText(Here("input.txt"), text);
        var recorded = Runner.RunTrapeze("record", "-o", Here("run.tzr"), Case(program), Here("input.txt"));
        Assert.True(recorded.ExitCode == 0, recorded.Stderr);
        return recorded.Stdout;
    }

    [Theory]
    [InlineData("recorded.static")]
    [InlineData("recorded.dynamic")]
    public void ReplayPrintsTheRecordedOutputWithTheHostFileDeleted(string program)
    {
        var recorded = Record(program, "what the host file said\n");
        Assert.StartsWith("pid 1000, parent 999, realtime 946684800.", recorded);
        Assert.Contains("input.txt: 24 bytes, mode 644", recorded);
        Assert.Contains("read 24 bytes: what the host file said\n", recorded);
        for (var i = 0; i < 4; i++)
            Assert.Contains($"thread {i}: tid {1001 + i}, monotonic 1000.", recorded);
        Assert.Matches(@"counter \d+ of 800000\n$", recorded);

        File.Delete(Here("input.txt"));
        var replayed = Runner.RunTrapeze("replay", Here("run.tzr"));
        Assert.True(replayed.ExitCode == 0, replayed.Stderr);
        Assert.Equal(recorded, replayed.Stdout);
        // Without the recording, the run now sees the file missing: the replay did not read the host.
        var live = Runner.RunTrapeze("run", "--deterministic", Case(program), Here("input.txt"));
        Assert.Contains("read -1 bytes: ", live.Stdout);
    }

    [Fact]
    public void ReplayIgnoresAChangedHostFile()
    {
        var recorded = Record("recorded.static", "first words\n");
        File.WriteAllText(Here("input.txt"), "something much longer than the first words\n");
        File.WriteAllText(Here("another.txt"), "a new neighbour\n");
        var replayed = Runner.RunTrapeze("replay", Here("run.tzr"));
        Assert.Equal(0, replayed.ExitCode);
        Assert.Contains("read 12 bytes: first words\n", replayed.Stdout);
        Assert.Equal(recorded, replayed.Stdout);
    }

    [Fact]
    public void ARecordingOfAnotherFormatVersionIsRefused()
    {
        Record("recorded.static", "text\n");
        var bytes = File.ReadAllBytes(Here("run.tzr"));
        // The format version is the little-endian ushort after the 8-byte magic.
        Assert.Equal(1, BitConverter.ToUInt16(bytes, 8));
        bytes[8] = 7;
        File.WriteAllBytes(Here("other.tzr"), bytes);
        AssertRefused("other.tzr", "(format 7); this is Trapeze");
    }

    [Fact]
    public void ARecordingOfAnotherTrapezeIsRefused()
    {
        Record("recorded.static", "text\n");
        var bytes = File.ReadAllBytes(Here("run.tzr"));
        // After the version, the writer's version string (length-prefixed): its first character changed.
        bytes[11] ^= 0x01;
        File.WriteAllBytes(Here("other.tzr"), bytes);
        AssertRefused("other.tzr", "which may answer system calls differently");
    }

    [Fact]
    public void ATruncatedRecordingIsRefused()
    {
        Record("recorded.static", "text\n");
        var bytes = File.ReadAllBytes(Here("run.tzr"));
        File.WriteAllBytes(Here("cut.tzr"), bytes[..(bytes.Length / 2)]);
        AssertRefused("cut.tzr", "truncated");
    }

    [Fact]
    public void GarbageIsRefused()
    {
        File.WriteAllText(Here("garbage.tzr"), string.Concat(Enumerable.Repeat("not a recording at all\n", 20)));
        AssertRefused("garbage.tzr", "not a Trapeze recording");
        File.WriteAllBytes(Here("empty.tzr"), []);
        AssertRefused("empty.tzr", "empty.tzr");
        AssertRefused("missing.tzr", "missing.tzr");
    }

    [Fact]
    public void ACorruptBodyIsRefused()
    {
        Record("recorded.static", "text\n");
        var bytes = File.ReadAllBytes(Here("run.tzr"));
        for (var i = bytes.Length / 3; i < bytes.Length; i += 7)
            bytes[i] ^= 0x5a;
        File.WriteAllBytes(Here("corrupt.tzr"), bytes);
        AssertRefused("corrupt.tzr", "corrupt.tzr: ");
    }

    private void AssertRefused(string name, string reason)
    {
        var replayed = Runner.RunTrapeze("replay", Here(name));
        Assert.NotEqual(0, replayed.ExitCode);
        Assert.Equal("", replayed.Stdout);
        var lines = replayed.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"not one line: {replayed.Stderr}");
        Assert.StartsWith($"trapeze replay: {Here(name)}: ", lines[0]);
        Assert.Contains(reason, lines[0]);
        Assert.DoesNotContain("   at ", replayed.Stderr);
    }
}
