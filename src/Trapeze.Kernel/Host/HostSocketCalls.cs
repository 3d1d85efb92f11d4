namespace Trapeze.Kernel.Host;

/// <summary>The host's socket calls (for <see cref="Net.HostSocket"/>).</summary>
internal static partial class HostSyscall
{
    public static readonly int Socket = Number("socket");
    public static readonly int Socketpair = Number("socketpair");
    public static readonly int Bind = Number("bind");
    public static readonly int Listen = Number("listen");
    public static readonly int Accept4 = Number("accept4");
    public static readonly int Connect = Number("connect");
    public static readonly int Sendmsg = Number("sendmsg");
    public static readonly int Recvmsg = Number("recvmsg");
    public static readonly int Shutdown = Number("shutdown");
    public static readonly int Getsockopt = Number("getsockopt");
    public static readonly int Setsockopt = Number("setsockopt");
}
