using Trapeze.Tests.Support;

namespace Trapeze.Tests;

/// <summary>Trapeze's own /proc as a guest sees it (tests/cases/c/proc.c checks it against Linux too).</summary>
public sealed class ProcTests
{
    [Fact]
    public void MapsShowsTheProgramInterpreterVdsoHeapAndStack()
    {
        var result = Runner.RunTrapeze("run", "/bin/cat", "/proc/self/maps");
        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.TrimEnd('\n').Split('\n');
        Assert.Contains(lines, line => line.Contains(" r-xp ") && line.EndsWith(" /usr/bin/cat", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains(" r-xp ") && line.EndsWith("/ld-linux-x86-64.so.2", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains(" r-xp 00000000 00:00 0 ") && line.EndsWith(" [vdso]", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains(" rw-p ") && line.EndsWith(" [heap]", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains(" rw-p ") && line.EndsWith(" [stack]", StringComparison.Ordinal));
        // Names start in column 74, as fs/proc pads them.
        Assert.All(lines.Where(line => line.EndsWith("[stack]", StringComparison.Ordinal)), line => Assert.Equal(73, line.IndexOf('[')));
        // Sorted and not overlapping.
        var ranges = lines.Select(line => line[..line.IndexOf(' ')].Split('-').Select(part => Convert.ToUInt64(part, 16)).ToArray()).ToList();
        Assert.All(ranges.Zip(ranges.Skip(1)), pair => Assert.True(pair.First[1] <= pair.Second[0]));
    }

    [Fact]
    public void StatusNamesTheGuestNotTrapeze()
    {
        var result = Runner.RunTrapeze("run", "/bin/cat", "/proc/self/status");
        Assert.StartsWith("Name:\tcat\n", result.Stdout);
        Assert.Contains("\nThreads:\t1\n", result.Stdout);
        var listing = Runner.RunTrapeze("run", "/bin/ls", "/proc");
        Assert.Contains("\nself\n", "\n" + listing.Stdout);
        Assert.Contains("\ncpuinfo\n", "\n" + listing.Stdout);
        // Only the guest's processes: one, besides self and thread-self.
        Assert.Single(listing.Stdout.Split('\n'), name => name.Length > 0 && name.All(char.IsAsciiDigit));
    }

    [Fact]
    public void ProcIsReadOnly()
    {
        var result = Runner.RunTrapeze("run", "/bin/mkdir", "/proc/self/new");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Permission denied", result.Stderr);
        var touch = Runner.RunTrapeze("run", "/usr/bin/touch", "/proc/self/comm");
        Assert.NotEqual(0, touch.ExitCode);
    }

    [Fact]
    public void CpuinfoDescribesTheEmulatedCpu()
    {
        var result = Runner.RunTrapeze("run", "/bin/cat", "/proc/cpuinfo");
        var flags = result.Stdout.Split('\n').First(line => line.StartsWith("flags", StringComparison.Ordinal)).Split(' ');
        Assert.Contains("sse4_2", flags);
        Assert.Contains("popcnt", flags);
        Assert.DoesNotContain("avx", flags);
        Assert.DoesNotContain("avx2", flags);
        Assert.Contains($"model name\t: {Trapeze.Cpu.X64CpuModel.ModelName}\n", result.Stdout);
    }

    [Fact]
    public void GuestInheritsTheDescriptorsTrapezeWasGiven()
    {
        // As exec passes open descriptors on: fd 7 opened by the shell reaches the guest as fd 7.
        var result = Runner.Run("/bin/bash", ["-c", $"'{Runner.Trapeze}' run /bin/cat /dev/fd/7 7</etc/hostname"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(File.ReadAllText("/etc/hostname"), result.Stdout);
    }
}
