using System.Buffers.Binary;
using System.Text;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Debugger;

/// <summary>The q and Q packets: features, threads, and the qXfer objects (target.xml, auxv, exec-file, libraries, threads).</summary>
public sealed partial class GdbServer
{
    private string Query(string packet)
    {
        var name = packet.Split(':', 2)[0];
        var argument = packet.Length > name.Length ? packet[(name.Length + 1)..] : "";
        switch (name)
        {
            case "qSupported":
                return Supported(argument);
            case "QStartNoAckMode":
                connection!.Acknowledge = false;
                return "OK";
            case "qAttached":
                return "0";
            case "qC":
                return general is { } thread ? $"QC{ThreadId(thread)}" : "";
            case "qfThreadInfo":
                {
                    var ids = supervisor.Attached.SelectMany(p => p.Threads).Where(t => !t.Killed).Select(ThreadId).ToArray();
                    return ids.Length == 0 ? "l" : "m" + string.Join(',', ids);
                }
            case "qsThreadInfo":
                return "l";
            case "qThreadExtraInfo":
                return FindThread(argument.TrimStart(',')) is { } named ? Convert.ToHexStringLower(Encoding.UTF8.GetBytes(ThreadName(named))) : "E01";
            case "qXfer":
                return Transfer(argument);
            case "QPassSignals":
                supervisor.PassedSignals = [.. SignalList(argument)];
                return "OK";
            case "QProgramSignals":
                return "OK";
            case "QCatchSyscalls":
                supervisor.CaughtSyscalls = argument.StartsWith('1') ? [.. argument.Split(';').Skip(1).Select(n => Convert.ToInt32(n, 16))] : null;
                return "OK";
            case "qSymbol":
                return "OK";
            case "QThreadEvents":
            case "QNonStop":
            case "QDisableRandomization":
                return "";
            default:
                return "";
        }
    }

    private static IEnumerable<int> SignalList(string argument)
        => argument.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(n => GdbSignals.ToLinux(Convert.ToInt32(n, 16))).Where(n => n != 0);

    private string Supported(string features)
    {
        var offered = features.Split(';');
        supervisor.ReportForks = offered.Contains("fork-events+");
        supervisor.ReportVforks = offered.Contains("vfork-events+");
        supervisor.ReportExecs = offered.Contains("exec-events+");
        var reply = new StringBuilder("PacketSize=10000;QStartNoAckMode+;multiprocess+;swbreak+;hwbreak+;vContSupported+");
        reply.Append(";qXfer:features:read+;qXfer:auxv:read+;qXfer:exec-file:read+;qXfer:libraries-svr4:read+;qXfer:threads:read+;qXfer:siginfo:read+");
        reply.Append(";QPassSignals+;QProgramSignals+;QCatchSyscalls+");
        if (supervisor.Reverse is not null)
            reply.Append(";ReverseStep+;ReverseContinue+");
        if (supervisor.ReportForks)
            reply.Append(";fork-events+");
        if (supervisor.ReportVforks)
            reply.Append(";vfork-events+");
        if (supervisor.ReportExecs)
            reply.Append(";exec-events+");
        return reply.ToString();
    }

    private static string ThreadName(GuestThread thread) => thread.Process.Command;

    /// <summary>qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH: a piece of the object, 'l' when it is the last.</summary>
    private string Transfer(string argument)
    {
        var parts = argument.Split(':');
        if (parts.Length < 4 || parts[1] != "read")
            return "";
        var (offset, length) = AddressAndLength(parts[3]);
        byte[]? data = parts[0] switch
        {
            "features" when parts[2] == "target.xml" => Encoding.UTF8.GetBytes(X64Target.Description),
            "auxv" => MemoryProcess?.AuxiliaryVector,
            "exec-file" => ExecFile(parts[2]),
            "libraries-svr4" => MemoryProcess is { } process ? Encoding.UTF8.GetBytes(LibraryList(process)) : null,
            "threads" => Encoding.UTF8.GetBytes(ThreadList()),
            "siginfo" => current?.Signal?.ToBytes(),
            _ => null,
        };
        if (data is null)
            return parts[0] is "features" or "auxv" or "exec-file" or "libraries-svr4" or "threads" or "siginfo" ? "E00" : "";
        if (offset >= (ulong)data.Length)
            return "l";
        var count = (int)Math.Min(length, (ulong)data.Length - offset);
        var last = offset + (ulong)count >= (ulong)data.Length;
        return (last ? "l" : "m") + Encoding.Latin1.GetString(data, (int)offset, count);
    }

    private byte[]? ExecFile(string annex)
    {
        var process = annex.Length > 0 && int.TryParse(annex, System.Globalization.NumberStyles.HexNumber, null, out var pid)
            ? supervisor.Attached.FirstOrDefault(p => p.Id == pid)
            : MemoryProcess;
        return process is null ? null : Encoding.UTF8.GetBytes(process.ExecutablePath);
    }

    private string ThreadList()
    {
        var xml = new StringBuilder("<?xml version=\"1.0\"?>\n<threads>\n");
        foreach (var thread in supervisor.Attached.SelectMany(p => p.Threads).Where(t => !t.Killed))
            xml.Append($"<thread id=\"{ThreadId(thread)}\" core=\"0\" name=\"{System.Security.SecurityElement.Escape(ThreadName(thread))}\"/>\n");
        return xml.Append("</threads>\n").ToString();
    }

    /// <summary>
    /// The shared objects ld.so has loaded, read from its r_debug (found through the program's
    /// DT_DEBUG): the main program's link_map is main-lm, every other entry one library.
    /// </summary>
    private static string LibraryList(Process process)
    {
        var memory = process.Memory;
        var empty = "<library-list-svr4 version=\"1.0\"/>";
        if (DebugRendezvous(process) is not { } rendezvous || rendezvous == 0)
            return empty;
        var mainMap = ReadWord(memory, rendezvous + 8);
        if (mainMap == 0)
            return empty;
        var xml = new StringBuilder($"<library-list-svr4 version=\"1.0\" main-lm=\"0x{mainMap:x}\">");
        var map = ReadWord(memory, mainMap + 24);
        for (var count = 0; map != 0 && count < 4096; count++)
        {
            var name = ReadString(memory, ReadWord(memory, map + 8));
            xml.Append($"<library name=\"{System.Security.SecurityElement.Escape(name)}\" lm=\"0x{map:x}\" l_addr=\"0x{ReadWord(memory, map):x}\" l_ld=\"0x{ReadWord(memory, map + 16):x}\" lmid=\"0x0\"/>");
            map = ReadWord(memory, map + 24);
        }
        return xml.Append("</library-list-svr4>").ToString();
    }

    /// <summary>DT_DEBUG of the main program's dynamic section (ld.so fills it in); null for a static program.</summary>
    private static ulong? DebugRendezvous(Process process)
    {
        const int AtPhdr = 3, AtPhnum = 5, PtDynamic = 2, PtPhdr = 6, DtDebug = 21;
        ulong phdr = 0, count = 0;
        var auxv = process.AuxiliaryVector;
        for (var i = 0; i + 16 <= auxv.Length; i += 16)
        {
            var type = BinaryPrimitives.ReadUInt64LittleEndian(auxv.AsSpan(i));
            var value = BinaryPrimitives.ReadUInt64LittleEndian(auxv.AsSpan(i + 8));
            if (type == AtPhdr)
                phdr = value;
            else if (type == AtPhnum)
                count = value;
        }
        ulong bias = 0, dynamic = 0;
        var memory = process.Memory;
        Span<byte> header = stackalloc byte[56];
        for (ulong i = 0; i < Math.Min(count, 256); i++)
        {
            if (memory.Peek(new GuestAddress(phdr + i * 56), header) != 56)
                return null;
            var type = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var address = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
            if (type == PtPhdr)
                bias = phdr - address;
            else if (type == PtDynamic)
                dynamic = address;
        }
        if (dynamic == 0)
            return null;
        for (ulong entry = dynamic + bias, n = 0; n < 4096; entry += 16, n++)
        {
            var tag = ReadWord(memory, entry);
            if (tag == 0)
                break;
            if (tag == DtDebug)
                return ReadWord(memory, entry + 8);
        }
        return null;
    }

    private static ulong ReadWord(GuestMemory memory, ulong address)
    {
        Span<byte> word = stackalloc byte[8];
        return memory.Peek(new GuestAddress(address), word) == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(word) : 0;
    }

    private static string ReadString(GuestMemory memory, ulong address)
    {
        var bytes = new List<byte>();
        Span<byte> one = stackalloc byte[1];
        while (bytes.Count < 4096 && memory.Peek(new GuestAddress(address + (ulong)bytes.Count), one) == 1 && one[0] != 0)
            bytes.Add(one[0]);
        return Encoding.UTF8.GetString([.. bytes]);
    }
}
