using System.Runtime.InteropServices;

namespace Trapeze.Oci;

/// <summary>The host calls the runtime makes itself (not the guest's): processes, FIFOs, ptys, the console socket.</summary>
internal static unsafe partial class Native
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_NOCTTY = 0x100, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    public const int F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;
    public const int EINTR = 4, EAGAIN = 11, ESRCH = 3;
    public const int POLLIN = 1;
    public const ulong TIOCSCTTY = 0x540E, TIOCSWINSZ = 0x5414;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillCall(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    public static partial int SetSession();

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MakeFifoCall(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MakeNodeCall(string path, uint mode, ulong device);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenCall(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int descriptor);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadCall(int descriptor, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteCall(int descriptor, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static partial int PipeCall(int* descriptors, int flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int descriptor, int command, int argument);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2Call(int from, int to);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int PollCall(PollDescriptor* descriptors, ulong count, int timeout);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int descriptor, ulong request, void* argument);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static partial int GrantPt(int descriptor);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static partial int UnlockPt(int descriptor);

    [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
    private static partial int PtsName(int descriptor, byte* buffer, nint length);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int SocketCall(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static partial int ConnectCall(int socket, byte* address, uint length);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMessage(int socket, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint SetSignalHandler(int signal, nint handler);

    [LibraryImport("libc", EntryPoint = "umask")]
    public static partial uint SetUmask(uint mask);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollDescriptor
    {
        public int Descriptor;
        public short Events;
        public short Returned;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public void* Base;
        public nint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nint VectorCount;
        public void* Control;
        public nint ControlLength;
        public int Flags;
    }

    private static string LastError() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());

    /// <summary>kill(2): null on success, else the error text; ESRCH as "not running".</summary>
    public static string? Kill(int pid, int signal)
    {
        if (KillCall(pid, signal) == 0)
            return null;
        return Marshal.GetLastPInvokeError() == ESRCH ? "not running" : LastError();
    }

    public static bool Alive(int pid) => pid > 0 && (KillCall(pid, 0) == 0 || Marshal.GetLastPInvokeError() != ESRCH);

    public static void MakeFifo(string path)
    {
        if (MakeFifoCall(path, 0b110_000_000) != 0)
            throw new OciException($"mkfifo {path}: {LastError()}");
    }

    /// <summary>mknod(2) of a device node; the error text, or null.</summary>
    public static string? MakeNode(string path, bool block, uint permissions, long major, long minor)
    {
        const uint CharacterDevice = 0x2000, BlockDevice = 0x6000;
        var device = (ulong)((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffL) << 12) | ((major & ~0xfffL) << 32));
        return MakeNodeCall(path, (block ? BlockDevice : CharacterDevice) | (permissions & 0xfff), device) == 0 ? null : LastError();
    }

    public static int Open(string path, int flags)
    {
        var descriptor = OpenCall(path, flags | O_CLOEXEC, 0);
        if (descriptor < 0)
            throw new OciException($"open {path}: {LastError()}");
        return descriptor;
    }

    /// <summary>Opens a FIFO for writing, waiting (as runc's init does on exec.fifo) until a reader comes.</summary>
    public static int OpenBlockingForWrite(string path)
    {
        while (true)
        {
            var descriptor = OpenCall(path, O_WRONLY | O_CLOEXEC, 0);
            if (descriptor >= 0)
                return descriptor;
            if (Marshal.GetLastPInvokeError() != EINTR)
                throw new OciException($"open {path}: {LastError()}");
        }
    }

    public static int Read(int descriptor, Span<byte> buffer)
    {
        fixed (byte* bytes = buffer)
        {
            while (true)
            {
                var count = ReadCall(descriptor, bytes, buffer.Length);
                if (count >= 0)
                    return (int)count;
                if (Marshal.GetLastPInvokeError() is not (EINTR or EAGAIN))
                    return -1;
                if (Marshal.GetLastPInvokeError() == EAGAIN)
                    return -EAGAIN;
            }
        }
    }

    public static void WriteAll(int descriptor, ReadOnlySpan<byte> data)
    {
        fixed (byte* bytes = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var count = WriteCall(descriptor, bytes + done, data.Length - done);
                if (count < 0 && Marshal.GetLastPInvokeError() == EINTR)
                    continue;
                if (count <= 0)
                    return;
                done += (int)count;
            }
        }
    }

    /// <summary>A pipe whose write end <paramref name="inheritWrite"/> a spawned child inherits.</summary>
    public static (int Read, int Write) Pipe(bool inheritWrite)
    {
        var ends = stackalloc int[2];
        if (PipeCall(ends, O_CLOEXEC) != 0)
            throw new OciException($"pipe: {LastError()}");
        if (inheritWrite)
            Fcntl(ends[1], F_SETFD, 0);
        return (ends[0], ends[1]);
    }

    public static void SetCloseOnExec(int descriptor) => Fcntl(descriptor, F_SETFD, FD_CLOEXEC);

    public static bool IsOpen(int descriptor) => Fcntl(descriptor, F_GETFD, 0) >= 0;

    public static void Dup2(int from, int to)
    {
        if (Dup2Call(from, to) < 0)
            throw new OciException($"dup2: {LastError()}");
    }

    /// <summary>Waits up to <paramref name="milliseconds"/> for <paramref name="descriptor"/> to be readable.</summary>
    public static bool WaitReadable(int descriptor, int milliseconds)
    {
        var entry = new PollDescriptor { Descriptor = descriptor, Events = POLLIN };
        return PollCall(&entry, 1, milliseconds) > 0;
    }

    /// <summary>A new pseudo-terminal: the master, and the slave made this process's controlling terminal.</summary>
    public static (int Master, int Slave) OpenPty(ConsoleSize? size)
    {
        var master = OpenCall("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
        if (master < 0)
            throw new OciException($"open /dev/ptmx: {LastError()}");
        var name = stackalloc byte[128];
        if (GrantPt(master) != 0 || UnlockPt(master) != 0 || PtsName(master, name, 128) != 0)
            throw new OciException($"pseudo-terminal: {LastError()}");
        var slavePath = Marshal.PtrToStringUTF8((nint)name)!;
        var slave = OpenCall(slavePath, O_RDWR | O_CLOEXEC, 0);
        if (slave < 0)
            throw new OciException($"open {slavePath}: {LastError()}");
        if (size is { Height: > 0, Width: > 0 })
        {
            var window = stackalloc ushort[4];
            window[0] = (ushort)size.Height;
            window[1] = (ushort)size.Width;
            Ioctl(slave, TIOCSWINSZ, window);
        }
        Ioctl(slave, TIOCSCTTY, null);
        return (master, slave);
    }

    /// <summary>Sends <paramref name="descriptor"/> over the AF_UNIX socket at <paramref name="path"/> (SCM_RIGHTS), as runc does with --console-socket.</summary>
    public static void SendDescriptor(string path, int descriptor, string name)
    {
        const int AF_UNIX = 1, SOCK_STREAM = 1, SOL_SOCKET = 1, SCM_RIGHTS = 1;
        var socket = SocketCall(AF_UNIX, SOCK_STREAM | O_CLOEXEC, 0);
        if (socket < 0)
            throw new OciException($"console socket: {LastError()}");
        try
        {
            var address = stackalloc byte[110];
            var pathBytes = System.Text.Encoding.UTF8.GetBytes(path);
            if (pathBytes.Length > 107)
                throw new OciException($"console socket {path}: path too long");
            address[0] = AF_UNIX;
            pathBytes.CopyTo(new Span<byte>(address + 2, 108));
            if (ConnectCall(socket, address, (uint)(2 + pathBytes.Length + 1)) != 0)
                throw new OciException($"console socket {path}: {LastError()}");
            // One byte of data at least must travel with the descriptor; runc sends the pty's name.
            var data = System.Text.Encoding.UTF8.GetBytes(name);
            // struct cmsghdr { size_t len; int level; int type; } + one int, padded to 8.
            var control = stackalloc byte[24];
            new Span<byte>(control, 24).Clear();
            *(ulong*)control = 20;
            *(int*)(control + 8) = SOL_SOCKET;
            *(int*)(control + 12) = SCM_RIGHTS;
            *(int*)(control + 16) = descriptor;
            fixed (byte* bytes = data)
            {
                var vector = new IoVector { Base = bytes, Length = data.Length };
                var message = new MessageHeader { Vectors = &vector, VectorCount = 1, Control = control, ControlLength = 24 };
                if (SendMessage(socket, &message, 0) < 0)
                    throw new OciException($"console socket {path}: {LastError()}");
            }
        }
        finally
        {
            Close(socket);
        }
    }

    /// <summary>Ends this process by <paramref name="signal"/>, so a waiting engine sees WIFSIGNALED as with runc.</summary>
    public static void DieBy(int signal)
    {
        SetSignalHandler(signal, 0); // SIG_DFL
        KillCall(Environment.ProcessId, signal);
    }
}
