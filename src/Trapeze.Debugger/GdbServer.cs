using System.Net.Sockets;
using System.Text;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Debugger;

/// <summary>
/// The gdb remote protocol over the kernel's stops (`trapeze run --gdb ADDRESS`). One host thread
/// answers packets while the guest is stopped and waits for the next stop (or Ctrl-C) while it runs.
/// </summary>
public sealed partial class GdbServer : IDisposable
{
    private readonly DebugSupervisor supervisor;
    private readonly Socket listener;
    private readonly string address;
    private readonly Thread host;
    private GdbConnection? connection;
    private DebugStop? current;
    private GuestThread? general;
    private bool running = true, finished;
    private readonly ManualResetEventSlim done = new();

    private GdbServer(Kernel.Kernel kernel, string address)
    {
        this.address = address;
        supervisor = new DebugSupervisor(kernel);
        listener = GdbConnection.Listen(address);
        host = new Thread(Serve) { IsBackground = true, Name = "gdb server" };
    }

    /// <summary>
    /// Listens on <paramref name="address"/> (HOST:PORT or a Unix socket path) and becomes the kernel's
    /// supervisor: the first process stops before its first instruction until gdb connects and resumes it.
    /// </summary>
    public static GdbServer Start(Kernel.Kernel kernel, string address, Trapeze.Kernel.Record.Replayer? replay = null)
    {
        var server = new GdbServer(kernel, address);
        if (replay is not null)
            server.supervisor.Reverse = new ReverseExecution(replay);
        kernel.Supervisor = server.supervisor;
        server.host.Start();
        return server;
    }

    /// <summary>The first process to debug (call before the kernel runs it).</summary>
    public void Attach(Process process) => supervisor.Attach(process);

    public string Address => address;

    internal static string ThreadId(GuestThread thread) => $"p{thread.Process.Id:x}.{thread.Id:x}";

    private void Serve()
    {
        try
        {
            connection = GdbConnection.Accept(listener);
        }
        catch (SocketException)
        {
            return;
        }
        // Nothing is answered before the first stop: the program waits at its first instruction.
        current = supervisor.Stops.Take();
        running = false;
        general = current.Thread;
        while (!finished)
        {
            if (running)
            {
                WaitWhileRunning();
                continue;
            }
            switch (connection.Inputs.Take())
            {
                case PacketInput packet:
                    Handle(packet.Data);
                    break;
                case ClosedInput:
                    Disconnected();
                    break;
            }
        }
        done.Set();
    }

    /// <summary>Until the guest stops (a breakpoint, a signal, an exit) or gdb sends Ctrl-C.</summary>
    private void WaitWhileRunning()
    {
        var inputs = connection!.Inputs;
        while (running && !finished)
        {
            if (supervisor.Stops.TryTake(out var stop, 20))
            {
                Stopped(stop);
                return;
            }
            while (inputs.TryTake(out var input))
            {
                switch (input)
                {
                    case InterruptInput:
                        supervisor.Interrupt();
                        break;
                    case ClosedInput:
                        Disconnected();
                        return;
                    case PacketInput packet:
                        Handle(packet.Data); // gdb sends nothing else while the guest runs; answer anyway
                        break;
                }
            }
        }
    }

    private void Stopped(DebugStop stop)
    {
        running = false;
        connection!.Send(stop.Reply);
        if (stop.IsExit)
        {
            stop.Resumed.Release();
            current = null;
            if (supervisor.Attached.Count == 0)
                general = null;
            return;
        }
        current = stop;
        general = stop.Thread;
    }

    /// <summary>gdb went away without detaching: what it started dies, as gdbserver does.</summary>
    private void Disconnected()
    {
        Kill(null);
        finished = true;
    }

    private void Handle(byte[] data)
    {
        var text = Encoding.Latin1.GetString(data);
        string? reply;
        try
        {
            reply = Answer(text, data);
        }
        catch (Exception error) when (error is FormatException or OverflowException or ArgumentException or IndexOutOfRangeException or InvalidOperationException)
        {
            reply = "E01";
        }
        if (reply is not null)
            connection!.Send(reply);
    }

    /// <summary>The reply to one packet; null when the packet gets none (a resume, k).</summary>
    private string? Answer(string packet, byte[] data)
    {
        if (packet.Length == 0)
            return "";
        switch (packet[0])
        {
            case '?':
                return current?.Reply ?? "W00";
            case 'g':
                return WithThread(thread => Convert.ToHexStringLower(X64Target.ReadAll(thread.Process.Cpu, OriginalRax(thread))));
            case 'G':
                return WithThread(thread =>
                {
                    X64Target.WriteAll(thread.Process.Cpu, Convert.FromHexString(packet[1..]));
                    return "OK";
                });
            case 'p':
                return WithThread(thread => X64Target.Read(thread.Process.Cpu, Convert.ToInt32(packet[1..], 16), OriginalRax(thread)) is { } value ? Convert.ToHexStringLower(value) : "E01");
            case 'P':
                {
                    var equals = packet.IndexOf('=');
                    var number = Convert.ToInt32(packet[1..equals], 16);
                    return WithThread(thread => X64Target.Write(thread.Process.Cpu, number, Convert.FromHexString(packet[(equals + 1)..])) ? "OK" : "E01");
                }
            case 'm':
                return ReadMemory(packet[1..]);
            case 'M':
                {
                    var colon = packet.IndexOf(':');
                    return WriteMemory(packet[1..colon], Convert.FromHexString(packet[(colon + 1)..]));
                }
            case 'X':
                {
                    var colon = Array.IndexOf(data, (byte)':');
                    return WriteMemory(packet[1..colon], Unescape(data.AsSpan(colon + 1)));
                }
            case 'Z':
            case 'z':
                return DebugPoint(packet[0] == 'Z', packet[1..]);
            case 'H':
                return SetThread(packet[2..]);
            case 'T':
                return FindThread(packet[1..]) is { Killed: false } ? "OK" : "E01";
            case 'c':
                return Resume($"vCont;c");
            case 's':
                return Resume(general is { } stepping ? $"vCont;s:{ThreadId(stepping)};c" : "vCont;s");
            case 'C':
                return Resume($"vCont;C{packet[1..].Split(';')[0]}");
            case 'S':
                return Resume($"vCont;S{packet[1..].Split(';')[0]}");
            case 'D':
                return Detach(packet);
            case 'b' when packet is "bs" or "bc" && supervisor.Reverse is { } reverse:
                reverse.Request(toBreakpoint: packet == "bc");
                Continue();
                return null;
            case 'k':
                Kill(null);
                finished = true;
                return null;
            case 'q':
            case 'Q':
                return Query(packet);
            case 'v':
                return VerbosePacket(packet);
            default:
                return "";
        }
    }

    private string? VerbosePacket(string packet)
    {
        if (packet == "vCont?")
            return "vCont;c;C;s;S;t";
        if (packet.StartsWith("vCont;", StringComparison.Ordinal))
            return Resume(packet);
        if (packet.StartsWith("vKill;", StringComparison.Ordinal))
        {
            Kill(supervisor.Attached.FirstOrDefault(p => p.Id == Convert.ToInt32(packet[6..], 16)));
            return "OK";
        }
        if (packet == "vCtrlC")
        {
            supervisor.Interrupt();
            return "OK";
        }
        return "";
    }

    /// <summary>The register file of gdb's general thread (Hg), put on its CPU first.</summary>
    private string WithThread(Func<GuestThread, string> read)
    {
        // A thread is still when gdb holds the world stopped, or it is a new child held at its start.
        if (general is not { Killed: false } thread || (current is null && !supervisor.ControlOf(thread).Held))
            return "E01";
        thread.Process.MemoryContext.Load(thread);
        return read(thread);
    }

    /// <summary>orig_rax: the call's number at a syscall stop, -1 elsewhere (what Linux shows).</summary>
    private long OriginalRax(GuestThread thread)
    {
        var entered = supervisor.ControlOf(thread).SyscallEntered;
        return entered >= 0 ? entered : -1;
    }

    private Process? MemoryProcess => general is { Killed: false } thread ? thread.Process : current?.Thread?.Process;

    private string ReadMemory(string arguments)
    {
        var (start, length) = AddressAndLength(arguments);
        if (MemoryProcess is not { } process)
            return "E01";
        var bytes = new byte[Math.Min(length, 0x10000UL)];
        var count = process.Memory.Peek(new GuestAddress(start), bytes);
        return count == 0 && bytes.Length > 0 ? "E14" : Convert.ToHexStringLower(bytes, 0, count);
    }

    private string WriteMemory(string arguments, byte[] bytes)
    {
        var (start, length) = AddressAndLength(arguments);
        if (MemoryProcess is not { } process)
            return "E01";
        var count = process.Memory.Poke(new GuestAddress(start), bytes.AsSpan(0, (int)Math.Min(length, (ulong)bytes.Length)));
        if (process.AddressSpace.Find(start) is { } mapping && (mapping.Protection & MemoryProtection.Execute) != 0)
            process.Cpu.FlushTranslations();
        return count == (int)length ? "OK" : "E14";
    }

    private static (ulong Start, ulong Length) AddressAndLength(string arguments)
    {
        var comma = arguments.IndexOf(',');
        return (Convert.ToUInt64(arguments[..comma], 16), Convert.ToUInt64(arguments[(comma + 1)..], 16));
    }

    private static byte[] Unescape(ReadOnlySpan<byte> data)
    {
        var bytes = new List<byte>(data.Length);
        for (var i = 0; i < data.Length; i++)
            bytes.Add(data[i] == (byte)'}' && i + 1 < data.Length ? (byte)(data[++i] ^ 0x20) : data[i]);
        return [.. bytes];
    }

    /// <summary>Z0/z0 software and Z1 hardware breakpoints, Z2-Z4 watchpoints: all engine hooks.</summary>
    private string DebugPoint(bool insert, string arguments)
    {
        var parts = arguments.Split(',', ';');
        var type = int.Parse(parts[0]);
        var start = Convert.ToUInt64(parts[1], 16);
        var length = Convert.ToUInt64(parts[2], 16);
        if (MemoryProcess is not { } process || process.Cpu is not ICpuDebugging cpu)
            return "E01";
        switch (type)
        {
            case 0:
            case 1:
                if (insert)
                    cpu.AddBreakpoint(start);
                else
                    cpu.RemoveBreakpoint(start);
                if (type == 1 && insert)
                    supervisor.HardwareBreakpoints.Add((process, start));
                else if (type == 1)
                    supervisor.HardwareBreakpoints.Remove((process, start));
                return "OK";
            case 2:
            case 3:
            case 4:
                var kind = type switch { 2 => WatchKind.Write, 3 => WatchKind.Read, _ => WatchKind.Access };
                if (insert)
                    cpu.AddWatchpoint(start, length, kind);
                else
                    cpu.RemoveWatchpoint(start, length, kind);
                return "OK";
            default:
                return "";
        }
    }

    private string SetThread(string id)
    {
        if (id is "0" or "-1" or "p0.0" || id.EndsWith(".-1", StringComparison.Ordinal) || id.EndsWith(".0", StringComparison.Ordinal))
        {
            var process = id.StartsWith('p') && !id.StartsWith("p0.", StringComparison.Ordinal) && !id.StartsWith("p-1", StringComparison.Ordinal)
                ? supervisor.Attached.FirstOrDefault(p => p.Id == Convert.ToInt32(id[1..id.IndexOf('.')], 16))
                : null;
            general = process?.Threads.FirstOrDefault() ?? general ?? current?.Thread;
            return "OK";
        }
        if (FindThread(id) is not { } thread)
            return "E01";
        general = thread;
        return "OK";
    }

    /// <summary>A thread by gdb's id: pPID.TID, or TID alone.</summary>
    private GuestThread? FindThread(string id)
    {
        var tid = id.Contains('.') ? id[(id.IndexOf('.') + 1)..] : id.TrimStart('p');
        if (!int.TryParse(tid, System.Globalization.NumberStyles.HexNumber, null, out var number))
            return null;
        return supervisor.Attached.SelectMany(p => p.Threads).FirstOrDefault(t => t.Id == number);
    }

    /// <summary>vCont: which threads step, which continue, and the signal the stopped thread gets.</summary>
    private string? Resume(string packet)
    {
        var actions = packet[6..].Split(';', StringSplitOptions.RemoveEmptyEntries);
        var threads = supervisor.Attached.SelectMany(p => p.Threads).ToArray();
        var resumed = new HashSet<GuestThread>();
        foreach (var action in actions)
        {
            var colon = action.IndexOf(':');
            var verb = colon < 0 ? action : action[..colon];
            var target = colon < 0 ? "-1" : action[(colon + 1)..];
            foreach (var thread in threads)
            {
                if (resumed.Contains(thread) || !Matches(target, thread))
                    continue;
                resumed.Add(thread);
                var control = supervisor.ControlOf(thread);
                control.Step = verb[0] is 's' or 'S';
                if (verb[0] is 'C' or 'S' && current?.Thread == thread)
                    current.ResumeSignal = GdbSignals.ToLinux(Convert.ToInt32(verb[1..], 16));
                DebugSupervisor.Release(control);
            }
        }
        Continue();
        return null;
    }

    private static bool Matches(string target, GuestThread thread)
    {
        if (target is "-1" or "0")
            return true;
        if (target.StartsWith('p'))
        {
            var dot = target.IndexOf('.');
            var pid = Convert.ToInt32(target[1..(dot < 0 ? target.Length : dot)], 16);
            if (pid != thread.Process.Id)
                return false;
            var tid = dot < 0 ? "-1" : target[(dot + 1)..];
            return tid is "-1" or "0" || Convert.ToInt32(tid, 16) == thread.Id;
        }
        return Convert.ToInt32(target, 16) == thread.Id;
    }

    /// <summary>Lets the stopped thread (or the kernel's stop) go; the server waits for the next stop.</summary>
    private void Continue()
    {
        running = true;
        if (current is { } stop)
        {
            current = null;
            stop.Resumed.Release();
        }
    }

    private string? Detach(string packet)
    {
        var process = packet.StartsWith("D;", StringComparison.Ordinal) ? supervisor.Attached.FirstOrDefault(p => p.Id == Convert.ToInt32(packet[2..], 16)) : null;
        supervisor.Detach(process);
        if (supervisor.Detached || (current?.Thread is { } thread && thread.Process == process))
        {
            connection!.Send("OK");
            if (current is { } stop)
            {
                current = null;
                stop.Resumed.Release();
            }
            if (supervisor.Detached)
                finished = true;
            return null;
        }
        return "OK";
    }

    private void Kill(Process? only)
    {
        var victims = only is null ? supervisor.Attached.ToArray() : [only];
        void Terminate()
        {
            foreach (var process in victims)
                process.Terminate(ExitStatus.Killed(Signal.SIGKILL));
        }
        // A stopped guest holds the run lock for gdb; a running one must be stopped for the kernel's work.
        if (current is null)
            supervisor.Kernel.RunAsKernel(Terminate);
        else
            Terminate();
        supervisor.Detach(only);
        if (current is { } stop)
        {
            current = null;
            stop.Resumed.Release();
        }
    }

    /// <summary>After the kernel is done: give the server a moment to say so, then close.</summary>
    public void Dispose()
    {
        done.Wait(TimeSpan.FromSeconds(2));
        finished = true;
        connection?.Dispose();
        listener.Dispose();
        if (!address.Contains(':') && File.Exists(address))
            File.Delete(address);
    }
}
