using Trapeze.Kernel.Abi.Linux;
using Trapeze.Trace;

namespace Trapeze.Tests.Tracing;

/// <summary>strace's notation for strings, flags, values, signal sets, modes.</summary>
public sealed class FormattingTests
{
    [Theory]
    [InlineData(new byte[] { (byte)'a', 0x1b, (byte)'b', (byte)'\t', 1, 0x7f, 0x80, (byte)'\n' }, 0, "\"a\\33b\\t\\1\\177\\200\\n\"")]
    [InlineData(new byte[] { 0, (byte)'1' }, 0, "\"\\0001\"")]
    [InlineData(new byte[] { (byte)'a', 0x1b }, 1, "\"\\x61\\x1b\"")]
    [InlineData(new byte[] { (byte)'a', (byte)'b' }, 1, "\"ab\"")]
    [InlineData(new byte[] { (byte)'a', (byte)'b' }, 2, "\"\\x61\\x62\"")]
    [InlineData(new byte[] { (byte)'"', (byte)'\\' }, 0, "\"\\\"\\\\\"")]
    public void QuotesLikeStrace(byte[] bytes, int hexMode, string expected)
        => Assert.Equal(expected, StringQuoter.Quote(bytes, hexMode, truncated: false));

    [Fact]
    public void FlagsPrintInStraceOrderWithTheAccessMode()
    {
        var enums = new EnumFormatter();
        Assert.Equal("O_RDONLY|O_CLOEXEC", enums.Format(typeof(OpenFlags), 0x80000));
        Assert.Equal("O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY", enums.Format(typeof(OpenFlags), 0x90800));
        Assert.Equal("O_RDWR|O_SYNC", enums.Format(typeof(OpenFlags), 0x101002));
        Assert.Equal("O_CLOEXEC", enums.Format(typeof(OpenFlags), 0x80000, accessMode: false));
        Assert.Equal("0", enums.Format(typeof(OpenFlags), 0, accessMode: false));
        Assert.Equal("MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|MAP_STACK", enums.Format(typeof(MapFlags), 0x24022));
        Assert.Equal("PROT_NONE", enums.Format(typeof(ProtectionFlags), 0));
        Assert.Equal("R_OK|W_OK", enums.Format(typeof(AccessMode), 6));
        Assert.Equal("PROT_READ|0x100", enums.Format(typeof(ProtectionFlags), 0x101));
    }

    [Fact]
    public void InotifyMasksPrintAsStraceNamesThem()
    {
        var enums = new EnumFormatter();
        Assert.Equal("IN_MODIFY|IN_CREATE|IN_DELETE", enums.Format(typeof(InotifyMask), 0x302));
        Assert.Equal("IN_ATTRIB|IN_MASK_CREATE|IN_MASK_ADD", enums.Format(typeof(InotifyMask), 0x30000004));
        Assert.Equal("IN_CREATE|IN_ONLYDIR|IN_DONT_FOLLOW|IN_ONESHOT", enums.Format(typeof(InotifyMask), 0x83000100));
        Assert.Equal("IN_NONBLOCK|IN_CLOEXEC", enums.Format(typeof(InotifyFlags), 0x80800));
    }

    [Fact]
    public void UnknownValuesGetAComment()
    {
        var enums = new EnumFormatter();
        Assert.Equal("CLOCK_MONOTONIC", enums.Format(typeof(ClockId), 1));
        Assert.Equal("0x4d2 /* CLOCK_??? */", enums.Format(typeof(ClockId), 1234));
    }

    [Fact]
    public void SignalSetsModesAndSignals()
    {
        Assert.Equal("[]", StructFormatter.SignalSet(0));
        Assert.Equal("[USR1 TERM]", StructFormatter.SignalSet((1UL << 9) | (1UL << 14)));
        Assert.Equal("~[KILL STOP]", StructFormatter.SignalSet(~((1UL << 8) | (1UL << 18))));
        Assert.Equal("000", ArgumentFormatter.Octal(0));
        Assert.Equal("022", ArgumentFormatter.Octal(18));
        Assert.Equal("0755", ArgumentFormatter.Octal(493));
        Assert.Equal("SIGSEGV", ArgumentFormatter.SignalName(11));
        Assert.Equal("SIGRT_2", ArgumentFormatter.SignalName(34));
    }

    [Theory]
    [InlineData("trace=%file", "openat", true)]
    [InlineData("trace=%file", "read", false)]
    [InlineData("trace=!write", "write", false)]
    [InlineData("trace=!write", "read", true)]
    [InlineData("trace=/^mm", "mmap", true)]
    [InlineData("trace=none", "read", false)]
    [InlineData("read,write", "write", true)]
    public void TraceExpressions(string expression, string name, bool traced)
    {
        var filter = new TraceFilter();
        Assert.Null(filter.Apply(expression));
        Assert.Equal(traced, filter.Traces(name));
    }

    [Fact]
    public void BadExpressionsAreReported()
    {
        Assert.Equal("invalid system call class '%nonsense' (known: %file, %process, %network, %net, %signal, %ipc, %desc, %memory, %clock, %creds, %stat, %lstat, %fstat, %%stat, %pure)",
            new TraceFilter().Apply("trace=%nonsense"));
        Assert.Equal("invalid -e qualifier 'bogus' (known: trace, status, signal)", new TraceFilter().Apply("bogus=1"));
        Assert.Equal("invalid signal 'SIGNOPE'", new TraceFilter().Apply("signal=SIGNOPE"));
    }
}
