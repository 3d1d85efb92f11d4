using System.Text;
using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// Builds the stack a Linux program starts with: argc, argv, envp and the auxiliary vector,
/// with the strings, AT_PLATFORM and AT_RANDOM bytes above them, as fs/binfmt_elf.c lays it out.
/// </summary>
public sealed class InitialStack(GuestMemory memory, ulong top, int wordSize = 8)
{
    private readonly List<(AuxiliaryVectorType Type, ulong Value)> auxiliary = [];
    private ulong cursor = top;

    public const ulong Size = 8 * 1024 * 1024;
    public const ulong Top = 0x7fff_ffff_f000;

    /// <summary>Maps the stack below <paramref name="top"/>, its words <paramref name="wordSize"/> bytes (4 for 32-bit programs); null when the host has no memory for it.</summary>
    public static InitialStack? Create(GuestMemory memory, ulong top = Top, int wordSize = 8)
        => memory.Space.Map(top - Size, Size, MemoryProtection.Read | MemoryProtection.Write, "[stack]") is null ? null : new InitialStack(memory, top, wordSize);

    /// <summary>Where the argument and environment strings lie, for /proc/PID/cmdline and environ.</summary>
    public (ulong Start, ulong End) Arguments { get; private set; }
    public (ulong Start, ulong End) Environment { get; private set; }

    /// <summary>The auxiliary vector as written (type, value pairs through AT_NULL), for /proc/PID/auxv.</summary>
    public byte[] AuxiliaryVector { get; private set; } = [];

    public void AddAuxiliary(AuxiliaryVectorType type, ulong value) => auxiliary.Add((type, value));

    public ulong PushString(string text)
    {
        var bytes = Memory.GuestText.Encode(text + "\0");
        return PushBytes(bytes);
    }

    /// <summary>Pushes strings last first, so they read first to last in memory; returns their addresses in order.</summary>
    private ulong[] PushStrings(IReadOnlyList<string> texts)
    {
        var addresses = new ulong[texts.Count];
        for (var index = texts.Count - 1; index >= 0; index--)
            addresses[index] = PushString(texts[index]);
        return addresses;
    }

    public ulong PushBytes(ReadOnlySpan<byte> bytes)
    {
        cursor -= (ulong)bytes.Length;
        memory.Poke(cursor, bytes);
        return cursor;
    }

    /// <summary>Writes the vectors and returns the initial stack pointer (pointing at argc).</summary>
    public ulong Finish(IReadOnlyList<string> arguments, IReadOnlyList<string> environment, string executableName, byte[] random, string platformName = "x86_64")
    {
        var executable = PushString(executableName);
        // Pushed in reverse so that each block reads forwards in memory, as Linux lays them out.
        var environmentEnd = cursor;
        var environmentPointers = PushStrings(environment);
        Environment = (cursor, environmentEnd);
        var argumentsEnd = cursor;
        var argumentPointers = PushStrings(arguments);
        Arguments = (cursor, argumentsEnd);
        var platform = PushString(platformName);
        var randomBytes = PushBytes(random);
        AddAuxiliary(AuxiliaryVectorType.AT_PLATFORM, platform);
        AddAuxiliary(AuxiliaryVectorType.AT_RANDOM, randomBytes);
        AddAuxiliary(AuxiliaryVectorType.AT_EXECFN, executable);
        AddAuxiliary(AuxiliaryVectorType.AT_NULL, 0);

        var words = new List<ulong> { (ulong)argumentPointers.Length };
        words.AddRange(argumentPointers);
        words.Add(0);
        words.AddRange(environmentPointers);
        words.Add(0);
        var auxiliaryStart = words.Count;
        foreach (var (type, value) in auxiliary)
        {
            words.Add((ulong)type);
            words.Add(value);
        }
        AuxiliaryVector = new byte[(words.Count - auxiliaryStart) * wordSize];
        for (var index = auxiliaryStart; index < words.Count; index++)
            WriteWord(AuxiliaryVector.AsSpan((index - auxiliaryStart) * wordSize), words[index]);
        cursor = (cursor - (ulong)(words.Count * wordSize)) & ~15UL;
        var bytes = new byte[words.Count * wordSize];
        for (var index = 0; index < words.Count; index++)
            WriteWord(bytes.AsSpan(index * wordSize), words[index]);
        memory.Poke(cursor, bytes);
        return cursor;
    }

    private void WriteWord(Span<byte> destination, ulong value)
    {
        if (wordSize == 4)
            BitConverter.TryWriteBytes(destination, (uint)value);
        else
            BitConverter.TryWriteBytes(destination, value);
    }
}
