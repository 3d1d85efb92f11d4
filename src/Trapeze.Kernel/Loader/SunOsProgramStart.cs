using System.Buffers.Binary;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// execve's second half for SunOS 4 a.out programs: text at 0x2000, data and bss after it, the break
/// at the end of bss; the stack as SunOS's exec builds it for crt0: a 64-byte register save area at
/// %sp, then argc, argv, a null, envp, a null, with the strings above (no auxiliary vector).
/// </summary>
internal static class SunOsProgramStart
{
    private const int SaveArea = 64;

    public static LoadFailure? Load(Process process, ProgramToRun toRun, IReadOnlyList<string> environment, SunOsSparcPersonality personality)
    {
        var (image, path, arguments) = (toRun.Image, toRun.Path, toRun.Arguments);
        var memory = process.Memory;
        var layout = personality.Layout;
        process.AddressSpace.MmapBase = layout.MmapBase;
        if (ElfLoader.Load(image, memory, 0, layout.UserTop, toRun.ShownPath, path, out var program) is { } failure)
            return failure;
        process.ExecutablePath = toRun.ShownPath;
        process.Executable?.Node.Dispose();
        process.Executable = toRun.Location;
        var command = Path.GetFileName(path);
        process.Command = command.Length > 15 ? command[..15] : command;
        process.BreakStart = process.Break = image.End;

        if (InitialStack.Create(memory, layout.StackTop, 4) is not { } stack)
            return new LoadFailure(Errno.ENOMEM, $"{LoadFailure.Printable(path)}: out of memory for the stack");
        var environmentEnd = stack.PushBytes([]);
        var environmentPointers = PushStrings(stack, environment);
        process.Environment = (environmentPointers.Length > 0 ? environmentPointers[0] : environmentEnd, environmentEnd);
        var argumentsEnd = stack.PushBytes([]);
        var argumentPointers = PushStrings(stack, arguments);
        process.Arguments = (argumentPointers.Length > 0 ? argumentPointers[0] : argumentsEnd, argumentsEnd);

        var words = new List<uint> { (uint)arguments.Count };
        words.AddRange(argumentPointers.Select(pointer => (uint)pointer));
        words.Add(0);
        words.AddRange(environmentPointers.Select(pointer => (uint)pointer));
        words.Add(0);
        var bytes = new byte[words.Count * 4];
        for (var index = 0; index < words.Count; index++)
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(index * 4), words[index]);
        var vectors = (stack.PushBytes([]) - (ulong)bytes.Length) & ~7UL;
        memory.Poke(vectors, bytes);
        process.AuxiliaryVector = [];
        personality.StartProgram(process.Cpu, image.Entry, vectors - SaveArea);
        return null;
    }

    private static ulong[] PushStrings(InitialStack stack, IReadOnlyList<string> texts)
    {
        var addresses = new ulong[texts.Count];
        for (var index = texts.Count - 1; index >= 0; index--)
            addresses[index] = stack.PushString(texts[index]);
        return addresses;
    }
}
