using System.Buffers.Binary;
using Trapeze.Tests.Support;

namespace Trapeze.Tests.Loader;

/// <summary>Edits of a real ELF file's header and program headers, for loader tests and the fuzzer.</summary>
public sealed class MalformedElf(byte[] bytes)
{
    public byte[] Bytes { get; private set; } = bytes;

    public static MalformedElf From(string casePath) => new(File.ReadAllBytes(Path.Combine(Runner.CasesBuild, casePath)));

    public ulong ProgramHeaderOffset => BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(32));
    public int ProgramHeaderCount => BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(56));

    public int Header(int index) => (int)ProgramHeaderOffset + 56 * index;
    public uint Type(int index) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(Header(index)));

    /// <summary>The index of the first program header of <paramref name="type"/> (1 PT_LOAD, 3 PT_INTERP).</summary>
    public int Find(uint type) => Enumerable.Range(0, ProgramHeaderCount).First(i => Type(i) == type);

    public MalformedElf Set64(int offset, ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Bytes.AsSpan(offset), value);
        return this;
    }

    public MalformedElf Set32(int offset, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(offset), value);
        return this;
    }

    /// <summary>Points PT_INTERP at <paramref name="text"/> (appended to the file), as given: add the NUL yourself.</summary>
    public MalformedElf Interpreter(string text)
    {
        var interp = Header(Find(3));
        var offset = (ulong)Bytes.Length;
        Bytes = [.. Bytes, .. System.Text.Encoding.UTF8.GetBytes(text)];
        Set64(interp + 8, offset);
        return Set64(interp + 32, (ulong)System.Text.Encoding.UTF8.GetByteCount(text));
    }

    /// <summary>Writes the file executable into a fresh temporary path.</summary>
    public TemporaryFile Write()
    {
        var file = new TemporaryFile();
        File.WriteAllBytes(file.Path, Bytes);
        File.SetUnixFileMode(file.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return file;
    }
}

public sealed class TemporaryFile : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"trapeze-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (File.Exists(Path) || Directory.Exists(Path) || new FileInfo(Path).LinkTarget is not null)
            File.Delete(Path);
    }
}
