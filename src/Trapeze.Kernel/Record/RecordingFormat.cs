using System.IO.Compression;
using System.Reflection;
using System.Text;

namespace Trapeze.Kernel.Record;

/// <summary>
/// The .tzr file (docs/DEBUGGING.md): a plain header (magic, format version, the Trapeze version
/// that wrote it), then a deflate stream with the run (program, argv, envp, seed, working
/// directory) and the records in the order the kernel saw them, ending with an End record.
/// </summary>
public static class RecordingFormat
{
    public static ReadOnlySpan<byte> Magic => "TZREC\r\n\x1a"u8;

    public const ushort FormatVersion = 1;

    /// <summary>A recording is only replayed by the Trapeze that wrote it: another kernel answers calls differently.</summary>
    public static string TrapezeVersion { get; } =
        typeof(RecordingFormat).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(RecordingFormat).Assembly.GetName().Version?.ToString() ?? "unknown";

    internal enum Tag : byte
    {
        Call = 1,
        Outcome = 2,
        Signal = 3,
        End = 4,
    }
}

/// <summary>What was run: enough to start the same guest again.</summary>
public sealed record RecordedRun(string Program, IReadOnlyList<string> Arguments, IReadOnlyList<string> Environment, ulong Seed, string WorkingDirectory);

/// <summary>One system call entry, in the kernel's order: who asked for what.</summary>
public readonly record struct RecordedCall(int Thread, int Number);

/// <summary>A range of guest memory a call wrote, with the bytes it held when the call returned.</summary>
public readonly record struct RecordedWrite(ulong Address, byte[] Bytes);

/// <summary>
/// What a call served from outside gave the guest: its result, the memory it wrote, and, for a call
/// that made a descriptor, the stand-in's path and close-on-exec flag.
/// </summary>
public sealed class RecordedOutcome
{
    public long Result { get; init; }
    public List<RecordedWrite> Writes { get; init; } = [];
    public bool NewDescriptor { get; init; }
    public bool CloseOnExec { get; init; }
    public string Path { get; init; } = "";
}

/// <summary>A host signal (Ctrl-C, kill) that reached the guest before call number <see cref="BeforeCall"/>.</summary>
public readonly record struct RecordedSignal(int BeforeCall, int Signal, ulong Executed);

/// <summary>A recording read whole into memory.</summary>
public sealed class Recording
{
    public required string TrapezeVersion { get; init; }
    public required RecordedRun Run { get; init; }
    public List<RecordedCall> Calls { get; } = [];
    public Dictionary<int, RecordedOutcome> Outcomes { get; } = [];
    public List<RecordedSignal> Signals { get; } = [];

    /// <summary>The recorded run's exit status: the code, or 128 + the signal.</summary>
    public int ExitCode { get; set; }

    /// <summary>Reads a .tzr file; a <see cref="RecordingException"/> with a one-line reason when it is not one this Trapeze can replay.</summary>
    public static Recording Load(string path)
    {
        Stream file;
        try
        {
            file = File.OpenRead(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new RecordingException($"{path}: {error.Message}");
        }
        using (file)
            return Read(file, path);
    }

    public static Recording Read(Stream stream, string name)
    {
        try
        {
            var header = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
            var magic = header.ReadBytes(RecordingFormat.Magic.Length);
            if (!magic.AsSpan().SequenceEqual(RecordingFormat.Magic))
                throw new RecordingException($"{name}: not a Trapeze recording (no TZREC header)");
            var format = header.ReadUInt16();
            var version = header.ReadString();
            if (format != RecordingFormat.FormatVersion || version != RecordingFormat.TrapezeVersion)
            {
                throw new RecordingException($"{name}: recorded by Trapeze {version} (format {format}); this is Trapeze {RecordingFormat.TrapezeVersion} (format {RecordingFormat.FormatVersion}), "
                    + "which may answer system calls differently: record it again with this Trapeze");
            }
            using var body = new BinaryReader(new DeflateStream(stream, CompressionMode.Decompress, leaveOpen: true), Encoding.UTF8);
            var recording = new Recording { TrapezeVersion = version, Run = ReadRun(body) };
            while (true)
            {
                switch ((RecordingFormat.Tag)body.ReadByte())
                {
                    case RecordingFormat.Tag.Call:
                        recording.Calls.Add(new RecordedCall(body.Read7BitEncodedInt(), body.Read7BitEncodedInt()));
                        break;
                    case RecordingFormat.Tag.Outcome:
                        var index = body.Read7BitEncodedInt();
                        recording.Outcomes[index] = ReadOutcome(body);
                        break;
                    case RecordingFormat.Tag.Signal:
                        recording.Signals.Add(new RecordedSignal(body.Read7BitEncodedInt(), body.Read7BitEncodedInt(), body.ReadUInt64()));
                        break;
                    case RecordingFormat.Tag.End:
                        recording.ExitCode = body.Read7BitEncodedInt();
                        return recording;
                    case var tag:
                        throw new RecordingException($"{name}: corrupt recording (unknown record {(byte)tag} after call {recording.Calls.Count})");
                }
            }
        }
        catch (EndOfStreamException)
        {
            throw new RecordingException($"{name}: the recording is truncated (it ends before its End record; was the recording run killed?)");
        }
        catch (Exception error) when (error is InvalidDataException or FormatException or IOException or OverflowException or ArgumentException)
        {
            throw new RecordingException($"{name}: corrupt recording ({error.Message})");
        }
    }

    private static RecordedRun ReadRun(BinaryReader body)
    {
        var program = body.ReadString();
        var arguments = ReadStrings(body);
        var environment = ReadStrings(body);
        var seed = body.ReadUInt64();
        return new RecordedRun(program, arguments, environment, seed, body.ReadString());
    }

    private static List<string> ReadStrings(BinaryReader body)
    {
        var count = body.Read7BitEncodedInt();
        if (count is < 0 or > 1 << 20)
            throw new InvalidDataException($"{count} strings");
        var strings = new List<string>(count);
        for (var i = 0; i < count; i++)
            strings.Add(body.ReadString());
        return strings;
    }

    private static RecordedOutcome ReadOutcome(BinaryReader body)
    {
        var result = body.ReadInt64();
        var flags = body.ReadByte();
        var path = (flags & 1) != 0 ? body.ReadString() : "";
        var count = body.Read7BitEncodedInt();
        if (count is < 0 or > 1 << 20)
            throw new InvalidDataException($"{count} memory writes");
        var writes = new List<RecordedWrite>(count);
        for (var i = 0; i < count; i++)
        {
            var address = body.ReadUInt64();
            var length = body.Read7BitEncodedInt();
            var bytes = body.ReadBytes(length);
            if (bytes.Length != length)
                throw new EndOfStreamException();
            writes.Add(new RecordedWrite(address, bytes));
        }
        return new RecordedOutcome { Result = result, NewDescriptor = (flags & 1) != 0, CloseOnExec = (flags & 2) != 0, Path = path, Writes = writes };
    }
}

/// <summary>A recording this Trapeze cannot replay: its message is the one line the user sees.</summary>
public sealed class RecordingException(string message) : Exception(message);

/// <summary>Writes a .tzr file as the run goes; <see cref="Finish"/> adds the End record.</summary>
public sealed class RecordingWriter : IDisposable
{
    private readonly Stream file;
    private readonly BinaryWriter body;

    public RecordingWriter(Stream file, RecordedRun run)
    {
        this.file = file;
        var header = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true);
        header.Write(RecordingFormat.Magic);
        header.Write(RecordingFormat.FormatVersion);
        header.Write(RecordingFormat.TrapezeVersion);
        header.Flush();
        body = new BinaryWriter(new DeflateStream(file, CompressionLevel.Fastest, leaveOpen: true), Encoding.UTF8);
        body.Write(run.Program);
        WriteStrings(run.Arguments);
        WriteStrings(run.Environment);
        body.Write(run.Seed);
        body.Write(run.WorkingDirectory);
    }

    /// <summary>Calls written so far: the index of the next.</summary>
    public int CallCount { get; private set; }

    private void WriteStrings(IReadOnlyList<string> strings)
    {
        body.Write7BitEncodedInt(strings.Count);
        foreach (var text in strings)
            body.Write(text);
    }

    public int Call(int thread, int number)
    {
        body.Write((byte)RecordingFormat.Tag.Call);
        body.Write7BitEncodedInt(thread);
        body.Write7BitEncodedInt(number);
        return CallCount++;
    }

    public void Outcome(int call, RecordedOutcome outcome)
    {
        body.Write((byte)RecordingFormat.Tag.Outcome);
        body.Write7BitEncodedInt(call);
        body.Write(outcome.Result);
        body.Write((byte)((outcome.NewDescriptor ? 1 : 0) | (outcome.CloseOnExec ? 2 : 0)));
        if (outcome.NewDescriptor)
            body.Write(outcome.Path);
        body.Write7BitEncodedInt(outcome.Writes.Count);
        foreach (var write in outcome.Writes)
        {
            body.Write(write.Address);
            body.Write7BitEncodedInt(write.Bytes.Length);
            body.Write(write.Bytes);
        }
    }

    public void Signal(int signal, ulong executed)
    {
        body.Write((byte)RecordingFormat.Tag.Signal);
        body.Write7BitEncodedInt(CallCount);
        body.Write7BitEncodedInt(signal);
        body.Write(executed);
    }

    public void Finish(int exitCode)
    {
        body.Write((byte)RecordingFormat.Tag.End);
        body.Write7BitEncodedInt(exitCode);
        body.Flush();
    }

    public void Dispose()
    {
        body.Dispose();
        file.Dispose();
    }
}
