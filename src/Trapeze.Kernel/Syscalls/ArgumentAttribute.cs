namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// What a syscall argument means beyond its C# type, so the tracer can print it as strace does:
/// descriptors, octal modes, buffers whose length is another argument, structs behind pointers.
/// </summary>
public enum ArgumentKind
{
    /// <summary>Decided by the C# type: numbers in decimal, enums symbolically, CString as a string, GuestAddress in hex.</summary>
    Default,
    Fd,
    /// <summary>A directory descriptor that may be AT_FDCWD.</summary>
    DirectoryFd,
    Octal,
    Hex,
    /// <summary>OpenFlags used as a plain flag set (dup3, pipe2): no access mode is printed.</summary>
    FlagsOnly,
    /// <summary>A pointer held in an integer parameter: NULL or hex.</summary>
    Address,
    /// <summary>A signal number (SIGUSR1).</summary>
    Signal,
    /// <summary>A NUL-terminated string the kernel reads or writes (a path, a directory name).</summary>
    String,
    /// <summary>Bytes; their length is <see cref="ArgumentAttribute.SizeFrom"/>.</summary>
    Buffer,
    Stat,
    Timespec,
    Timeval,
    /// <summary>An iovec array; its count is <see cref="ArgumentAttribute.SizeFrom"/>.</summary>
    IoVectors,
    SignalSet,
    /// <summary>A siginfo_t (rt_sigqueueinfo's, rt_sigtimedwait's).</summary>
    SignalInformation,
    /// <summary>A stack_t (sigaltstack).</summary>
    SignalStack,
    /// <summary>
    /// sigreturn's frame at the stack pointer, shown as strace shows it: {mask=[...]}, the mask it
    /// puts back. The register value is not used (the call has no arguments).
    /// </summary>
    SignalReturnFrame,
    /// <summary>restart_syscall's text, as strace shows it: &lt;... resuming interrupted nanosleep ...&gt;. The register value is not used.</summary>
    RestartedCall,
    SignalAction,
    ResourceLimit,
    SystemName,
    CpuSet,
    /// <summary>A NULL-terminated array of string pointers (argv, envp).</summary>
    StringArray,
    /// <summary>A pointer to one int, printed as [value].</summary>
    IntPointer,
    /// <summary>linux_dirent64 records filled by getdents64; their length is the result.</summary>
    DirectoryEntries,
    /// <summary>struct statx.</summary>
    Statx,
    /// <summary>fcntl's third argument, whose meaning depends on the command parameter.</summary>
    FcntlArgument,
    /// <summary>A pointer to one 64-bit integer (loff_t), printed as [value].</summary>
    LongLongPointer,
    /// <summary>i386's struct user_desc (set_thread_area, get_thread_area).</summary>
    UserDescriptor,
    /// <summary>A file offset in 4096-byte pages (mmap2), printed as strace does: the byte offset in hex.</summary>
    Pages,
    /// <summary>An array of struct pollfd; its count is <see cref="ArgumentAttribute.SizeFrom"/>.</summary>
    PollDescriptors,
    /// <summary>An fd_set bitmap of select; its descriptor count is <see cref="ArgumentAttribute.SizeFrom"/>.</summary>
    FdSet,
    /// <summary>pselect6's sixth argument: a signal set's address and size side by side.</summary>
    SelectSignalMask,
    /// <summary>One struct epoll_event (epoll_ctl).</summary>
    EpollEvent,
    /// <summary>struct epoll_event records filled by epoll_wait; their count is the result.</summary>
    EpollEvents,
    /// <summary>struct itimerspec (timerfd_settime, timerfd_gettime).</summary>
    IntervalTimerSpec,
    /// <summary>A struct sockaddr; its length is <see cref="ArgumentAttribute.SizeFrom"/>: a value, or (Direction.Out) a socklen_t pointer.</summary>
    SocketAddress,
    /// <summary>A socklen_t the kernel reads and rewrites, printed [in] or [in => out].</summary>
    SocketLength,
    /// <summary>socket's type: SOCK_STREAM|SOCK_CLOEXEC.</summary>
    SocketType,
    /// <summary>socket's protocol, named by the family in the first parameter (IPPROTO_TCP, NETLINK_ROUTE).</summary>
    SocketProtocol,
    /// <summary>getsockopt/setsockopt's option name, named by the level in the previous parameter.</summary>
    SocketOption,
    /// <summary>An option's value; its length is <see cref="ArgumentAttribute.SizeFrom"/> (a value, or with Direction.Out a socklen_t pointer).</summary>
    SocketOptionValue,
    /// <summary>A struct msghdr (sendmsg at entry, recvmsg at exit with the result's length).</summary>
    MessageHeader,
    /// <summary>Bytes received into a buffer whose size is the next parameter: the result's length, no more than the buffer (recv with MSG_TRUNC returns more).</summary>
    ReceivedBuffer,
    /// <summary>Two descriptors the kernel writes (socketpair's sv[2]): [3, 4].</summary>
    DescriptorPair,
    /// <summary>An array of struct mmsghdr; its count is <see cref="ArgumentAttribute.SizeFrom"/> (or the result).</summary>
    MultipleMessageHeaders,
    /// <summary>struct mq_attr (mq_open, mq_getsetattr).</summary>
    MessageQueueAttributes,
}

/// <summary>Whether the kernel reads the pointed-to data (printed at entry) or writes it (printed at exit, on success).</summary>
public enum Direction
{
    In,
    Out,
}

/// <summary>How the tracer prints a syscall's result.</summary>
public enum ResultKind
{
    Decimal,
    /// <summary>A new descriptor (with -y, its path).</summary>
    Fd,
    /// <summary>An address, in hex (mmap, brk).</summary>
    Address,
    Octal,
    Hex,
    /// <summary>fcntl's result, whose meaning depends on the command (flags for F_GETFD, F_GETFL).</summary>
    Fcntl,
    /// <summary>poll's count of ready descriptors, followed by their answers (revents) and the time left.</summary>
    PollReady,
    /// <summary>select's count of ready descriptors, followed by the sets that came back and the time left.</summary>
    SelectReady,
    /// <summary>A signal number, printed as strace does: 10 (SIGUSR1).</summary>
    Signal,
}

/// <summary>
/// Describes a syscall parameter for the tracer; the generator records it in
/// <see cref="SyscallParameter"/>. It changes nothing in how the argument is decoded.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class ArgumentAttribute(ArgumentKind kind) : Attribute
{
    /// <summary>For attributes that only set <see cref="Enum"/> or <see cref="ShownIf"/>.</summary>
    public ArgumentAttribute()
        : this(ArgumentKind.Default)
    {
    }

    /// <summary>The value the generator stores when the size is the syscall's result.</summary>
    public const string Result = "return";

    public ArgumentKind Kind { get; } = kind;
    public Direction Direction { get; init; } = Direction.In;

    /// <summary>The parameter holding the length or count, or <see cref="Result"/>.</summary>
    public string? SizeFrom { get; init; }

    /// <summary>Print the bytes in hex whatever they hold, as strace does for random data.</summary>
    public bool Hex { get; init; }

    /// <summary>Print an integer as this generated flag or value enum.</summary>
    public Type? Enum { get; init; }

    /// <summary>The parameter that decides whether this one is printed at all (open's mode, mremap's new address)...</summary>
    public string? ShownIf { get; init; }

    /// <summary>...namely when it has one of these bits.</summary>
    public long ShownIfAny { get; init; }
}
