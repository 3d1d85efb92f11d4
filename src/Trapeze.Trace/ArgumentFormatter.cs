using Trapeze.Kernel;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Net;
using Trapeze.Kernel.Syscalls;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Trace;

/// <summary>
/// Turns a syscall's raw arguments into strace's text, from the declared parameter types and
/// [Argument] attributes alone: nothing here knows a syscall by name.
/// </summary>
public sealed class ArgumentFormatter(TraceOptions options)
{
    /// <summary>AT_FDCWD: "the current directory" for *at calls.</summary>
    private const int CurrentDirectory = -100;

    private readonly EnumFormatter enums = new();
    private readonly StructFormatter structs = new(options);
    private SocketFormatter? sockets;

    private SocketFormatter Sockets => sockets ??= new SocketFormatter(options, enums, structs);

    public TraceOptions Options => options;

    /// <summary>How many leading arguments are printed at entry: those before the first the kernel writes.</summary>
    public static int EntryCount(SyscallDefinition? definition)
    {
        if (definition is null)
            return 6;
        var parameters = definition.Parameters;
        for (var index = 0; index < parameters.Length; index++)
        {
            if (parameters[index].Direction == Direction.Out)
                return index;
        }
        return parameters.Length;
    }

    /// <summary>
    /// Whether an argument's text comes from register values alone, so it can be formatted later,
    /// away from the dispatch path, with no thread. Must agree with <see cref="FormatOne"/>.
    /// </summary>
    public bool FromRegisters(SyscallParameter parameter) => parameter.Kind switch
    {
        ArgumentKind.Fd or ArgumentKind.DirectoryFd => !options.DecodeDescriptors,
        ArgumentKind.Octal or ArgumentKind.Hex or ArgumentKind.Address or ArgumentKind.FlagsOnly
            or ArgumentKind.Signal or ArgumentKind.FcntlArgument or ArgumentKind.SocketType or ArgumentKind.SocketProtocol or ArgumentKind.SocketOption
            or ArgumentKind.Pages => true,
        ArgumentKind.Default => parameter.Enum is not null || parameter.Type != typeof(CString),
        _ => false,
    };

    /// <summary>Whether the result's text comes from its value alone (see <see cref="FromRegisters"/>).</summary>
    public bool ResultFromRegisters(SyscallDefinition? definition)
        => definition?.Returns switch
        {
            ResultKind.Fd => !options.DecodeDescriptors,
            ResultKind.PollReady or ResultKind.SelectReady => false,
            _ => true,
        };

    /// <summary>
    /// Formats arguments [from, to) of the call; <paramref name="result"/> is null at entry.
    /// <paramref name="thread"/> may be null when every one of them is <see cref="FromRegisters"/>.
    /// </summary>
    public void Format(GuestThread? thread, in SyscallCall call, int from, int to, Result? result, List<string> into)
    {
        if (call.Definition is not { } definition)
        {
            // strace prints an unknown call's six registers in hex.
            for (var index = from; index < to; index++)
                into.Add(Hex(call.Arguments[index]));
            return;
        }
        for (var index = from; index < to && index < definition.Parameters.Length; index++)
        {
            if (FormatOne(thread, call, definition.Parameters[index], index, result) is { } text)
                into.Add(text);
        }
    }

    /// <summary>strace leaves out a parameter shown only with some flag (open's mode without O_CREAT).</summary>
    private static bool Shown(in SyscallCall call, SyscallParameter parameter)
        => parameter.ShownIf < 0 || ((long)call.Arguments[parameter.ShownIf] & parameter.ShownIfAny) != 0;

    /// <summary>One argument's text, or null when strace leaves it out (open's mode without O_CREAT).</summary>
    private string? FormatOne(GuestThread? thread, in SyscallCall call, SyscallParameter parameter, int index, Result? result)
    {
        var raw = call.Arguments[index];
        if (!Shown(call, parameter))
            return null;
        if (parameter.Kind == ArgumentKind.SocketLength)
            return SocketFormatter.Length(MemoryOf(thread), raw, EntryValue(call, index), result is { IsError: false });
        if (parameter.Direction == Direction.Out && result is { IsError: true })
            return Address(raw);
        var size = SizeOf(call, parameter, result);
        switch (parameter.Kind)
        {
            case ArgumentKind.Fd: return Descriptor(thread, (int)raw);
            case ArgumentKind.DirectoryFd: return (int)raw == CurrentDirectory ? WorkingDirectory(thread) : Descriptor(thread, (int)raw);
            case ArgumentKind.Octal: return Octal(raw & 0xffffffff);
            case ArgumentKind.Hex: return Hex(parameter.Type == typeof(int) || parameter.Type == typeof(uint) ? raw & 0xffffffff : raw);
            case ArgumentKind.Address: return Address(raw);
            case ArgumentKind.Pages: return Hex(raw * 4096);
            case ArgumentKind.FlagsOnly: return enums.Format(parameter.Type, raw, accessMode: false);
            case ArgumentKind.Signal: return SignalName((int)raw);
            case ArgumentKind.SignalReturnFrame: return StructFormatter.SignalReturnFrame(ThreadOf(thread));
            case ArgumentKind.RestartedCall: return ThreadOf(thread).RestartedCall is { } resumed ? $"<... resuming interrupted {resumed} ...>" : null;
            case ArgumentKind.String: return Path(MemoryOf(thread), raw);
            case ArgumentKind.Buffer: return Buffer(MemoryOf(thread), raw, size, parameter.Hex);
            case ArgumentKind.IoVectors: return structs.IoVectors(ThreadOf(thread), raw, size, parameter.Direction == Direction.Out ? result?.Raw : null);
            case ArgumentKind.StringArray: return structs.StringArray(MemoryOf(thread), raw);
            case ArgumentKind.FcntlArgument: return FcntlFormatter.Argument(Command(call), raw, enums);
            case ArgumentKind.ReceivedBuffer: return Buffer(MemoryOf(thread), raw, Math.Min(size, (long)call.Arguments[index + 1]), parameter.Hex);
            case ArgumentKind.DescriptorPair:
                return MemoryOf(thread).Read(new GuestAddress(raw), out long pair) == Errno.None ? $"[{(int)pair}, {(int)(pair >> 32)}]" : Address(raw);
            case ArgumentKind.SocketType: return Sockets.Type(raw);
            case ArgumentKind.SocketProtocol: return Sockets.Protocol((AddressFamily)(int)call.Arguments[0], raw);
            case ArgumentKind.SocketOption: return Sockets.Option((SocketLevel)(int)call.Arguments[index - 1], raw);
            case ArgumentKind.SocketAddress: return Sockets.Address(MemoryOf(thread), raw, SocketSize(thread, call, parameter, size));
            case ArgumentKind.SocketOptionValue:
                return Sockets.OptionValue(MemoryOf(thread), (SocketLevel)(int)call.Arguments[index - 2], (int)call.Arguments[index - 1], raw, SocketSize(thread, call, parameter, size));
            case ArgumentKind.MessageHeader:
                return Sockets.Message(ThreadOf(thread), Layouts(thread), raw, parameter.Direction == Direction.Out ? result?.Raw : null, EntryValue(call, index));
            case ArgumentKind.MultipleMessageHeaders: return Sockets.Messages(ThreadOf(thread), Layouts(thread), raw, size);
            case ArgumentKind.Default: break;
            default: return structs.Format(parameter.Kind, ThreadOf(thread), raw, size, enums);
        }
        if (parameter.Enum is { } displayed)
            return enums.Format(displayed, raw);
        var type = parameter.Type;
        if (type.IsEnum)
            return enums.Format(type, raw);
        if (type == typeof(CString))
            return Path(MemoryOf(thread), raw);
        if (type == typeof(GuestAddress))
            return Address(raw);
        if (type == typeof(int))
            return ((int)raw).ToString();
        if (type == typeof(long))
            return ((long)raw).ToString();

        if (type == typeof(uint))
            return ((uint)raw).ToString();
        return raw.ToString();
    }

    /// <summary>The result as strace prints it: "-1 ENOENT (No such file or directory)", an address, a descriptor...</summary>
    public string Result(GuestThread? thread, in SyscallCall call)
    {
        var result = call.Result;
        if (result.IsError)
        {
            var errno = (int)result.Error;
            // The kernel's internal restart codes, which strace shows for a call a signal interrupted.
            switch (errno)
            {
                case 512: return "? ERESTARTSYS (To be restarted if SA_RESTART is set)";
                case 513: return "? ERESTARTNOINTR (To be restarted)";
                case 514: return "? ERESTARTNOHAND (To be restarted if no handler)";
                case 516: return "? ERESTART_RESTARTBLOCK (Interrupted by signal)";
            }
            var message = errno < ErrnoMessages.Text.Length ? ErrnoMessages.Text[errno] : $"Unknown error {errno}";
            // A BSD-derived guest gets its own system's errno: its name and number (Linux's are implied).
            if (thread?.Process.Personality is Trapeze.Kernel.Personalities.BsdPersonality bsd)
            {
                var own = bsd.Abi.ErrnoFromLinux(errno);
                return $"-1 {bsd.Abi.ErrnoName(own)} ({own}: {message})";
            }
            return $"-1 {result.Error} ({message})";
        }
        return (call.Definition?.Returns ?? ResultKind.Decimal) switch
        {
            ResultKind.Address => $"0x{result.Raw:x}",
            ResultKind.Hex => Hex((ulong)result.Raw),
            ResultKind.Octal => Octal((ulong)result.Raw),
            ResultKind.Fd => Descriptor(thread, (int)result.Raw),
            ResultKind.Fcntl => FcntlFormatter.Result(Command(call), result.Raw, enums),
            ResultKind.PollReady or ResultKind.SelectReady => Ready(ThreadOf(thread), call),
            ResultKind.Signal => $"{result.Raw} ({SignalName((int)result.Raw)})",
            _ => result.Raw.ToString(),
        };
    }

    /// <summary>
    /// poll's and select's count with what came back, as strace writes it: "0 (Timeout)", or
    /// "1 ([{fd=5, revents=POLLIN}], left {tv_sec=0, tv_nsec=0})" and "3 (in [5 7], out [6])".
    /// </summary>
    private string Ready(GuestThread thread, in SyscallCall call)
    {
        var count = call.Result.Raw;
        if (count == 0)
            return "0 (Timeout)";
        var parameters = call.Definition!.Parameters;
        var arguments = call.Arguments;
        var answers = call.Definition.Returns == ResultKind.PollReady
            ? PollFormatter.PollAnswers(thread.Memory, arguments[0], (long)(uint)arguments[1], enums)
            : PollFormatter.SelectAnswers(thread.Memory, (int)arguments[0], arguments[1], arguments[2], arguments[3]);
        if (answers is null)
            return count.ToString();
        var timeout = Array.FindIndex(parameters, parameter => parameter.Kind is ArgumentKind.Timespec or ArgumentKind.Timeval);
        var left = timeout >= 0 && arguments[timeout] != 0 ? $", left {structs.Format(parameters[timeout].Kind, thread, arguments[timeout], 0, enums)}" : "";
        return $"{count} ({answers}{left})";
    }

    /// <summary>A value an in-out argument had at entry, kept by the tracer (<see cref="EntryValues"/>).</summary>
    private static long? EntryValue(in SyscallCall call, int index)
        => call.State is EntryValues { Values: var values } && index < values.Length ? values[index] : null;

    private static MessageLayouts Layouts(GuestThread? thread) => MessageLayouts.For(ThreadOf(thread).Process.Personality.Structures.Model);

    /// <summary>A sockaddr's or option's length: a value, or (written by the kernel) what the socklen_t says now, no more than it said at entry.</summary>
    private static long SocketSize(GuestThread? thread, in SyscallCall call, SyscallParameter parameter, long size)
    {
        if (parameter.Direction == Direction.In || parameter.SizeFrom < 0)
            return size;
        if (MemoryOf(thread).Read(new GuestAddress(call.Arguments[parameter.SizeFrom]), out int now) != Errno.None)
            return -1;
        return EntryValue(call, parameter.SizeFrom) is { } before ? Math.Min(before, now) : now;
    }

    /// <summary>What the tracer keeps at entry for the call's in-out arguments (null when it has none).</summary>
    internal static EntryValues? EntryValuesOf(GuestThread thread, in SyscallCall call, object owner)
    {
        if (call.Definition is not { } definition)
            return null;
        long?[]? values = null;
        for (var index = 0; index < definition.Parameters.Length; index++)
        {
            var parameter = definition.Parameters[index];
            var address = new GuestAddress(call.Arguments[index]);
            if (address.IsNull)
                continue;
            if (parameter.Kind == ArgumentKind.SocketLength && thread.Memory.Read(address, out int length) == Errno.None)
                (values ??= new long?[definition.Parameters.Length])[index] = length;
            else if (parameter.Kind == ArgumentKind.MessageHeader && parameter.Direction == Direction.Out
                && thread.Memory.Read(address + (ulong)Layouts(thread).NameLengthOffset, out int nameLength) == Errno.None)
                (values ??= new long?[definition.Parameters.Length])[index] = nameLength;
        }
        return values is null ? null : new EntryValues(owner, values);
    }

    /// <summary>The value of the call's FcntlCommand parameter, which decides what fcntl's argument and result mean.</summary>
    private static FcntlCommand Command(in SyscallCall call)
    {
        var parameters = call.Definition!.Parameters;
        for (var index = 0; index < parameters.Length; index++)
        {
            if (parameters[index].Type == typeof(FcntlCommand))
                return (FcntlCommand)(int)call.Arguments[index];
        }
        return (FcntlCommand)(-1);
    }

    /// <summary>The length of a buffer: another argument's value, or the result (then only known at exit).</summary>
    private static long SizeOf(in SyscallCall call, SyscallParameter parameter, Result? result) => parameter.SizeFrom switch
    {
        SyscallParameter.SizeFromResult => result is { IsError: false } value ? value.Raw : -1,
        SyscallParameter.NoSize => -1,
        var index => (long)call.Arguments[index],
    };

    /// <summary>A descriptor; with -y followed by what it refers to, as the host's /proc/self/fd names it (as strace reads /proc/PID/fd).</summary>
    public string Descriptor(GuestThread? thread, int fd)
    {
        if (!options.DecodeDescriptors || ThreadOf(thread).Process.Files.Get(fd) is not { } file)
            return fd.ToString();
        var target = file.HostDescriptor is { } host ? new FileInfo($"/proc/self/fd/{host}").LinkTarget : null;
        return $"{fd}<{target ?? file.Path}>";
    }

    /// <summary>AT_FDCWD; with -y followed by the working directory.</summary>
    private string WorkingDirectory(GuestThread? thread)
    {
        if (!options.DecodeDescriptors)
            return "AT_FDCWD";
        var process = ThreadOf(thread).Process;
        var path = process.WorkingDirectory >= 0 ? new FileInfo($"/proc/self/fd/{process.WorkingDirectory}").LinkTarget : null;
        return $"AT_FDCWD<{path ?? process.WorkingDirectoryPath}>";
    }

    /// <summary>A text that reads the guest was asked for off the dispatch path: <see cref="FromRegisters"/> is wrong.</summary>
    private static GuestThread ThreadOf(GuestThread? thread)
        => thread ?? throw new InvalidOperationException("an argument that reads guest state was formatted without its thread");

    private static GuestMemory MemoryOf(GuestThread? thread) => ThreadOf(thread).Memory;

    public string Path(GuestMemory memory, ulong address)
    {
        if (address == 0)
            return "NULL";
        // Paths are not cut at -s (strace prints them whole, up to PATH_MAX).
        return memory.ReadCStringBytes(new CString(address), out var bytes, GuestMemory.PathMax) == Errno.None
            ? StringQuoter.Quote(bytes, options.HexStrings, truncated: false)
            : Address(address);
    }

    public string Buffer(GuestMemory memory, ulong address, long length, bool forceHex)
    {
        if (address == 0)
            return "NULL";
        if (length < 0)
            return Address(address);
        var shown = (int)Math.Min(length, options.StringLimit);
        var bytes = new byte[shown];
        if (memory.Read(new GuestAddress(address), bytes) != Errno.None)
            return Address(address);
        return StringQuoter.Quote(bytes, options.HexStrings, truncated: length > shown, forceHex);
    }

    public static string Address(ulong value) => value == 0 ? "NULL" : $"0x{value:x}";

    public static string Hex(ulong value) => value == 0 ? "0" : $"0x{value:x}";

    /// <summary>strace's %#03o: a leading 0, at least three digits.</summary>
    public static string Octal(ulong value) => ("0" + Convert.ToString((long)value, 8)).PadLeft(3, '0');

    public static string SignalName(int number)
    {
        if (number is > 0 and < 32 && Enum.IsDefined((Signal)number))
            return ((Signal)number).ToString();
        return number is >= 32 and <= 64 ? (number == 32 ? "SIGRTMIN" : $"SIGRT_{number - 32}") : number.ToString();
    }
}
