using System.Text;
using Trapeze.Cpu;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Personalities;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// execve's second half for FreeBSD and Darwin programs: the image, then the stack each kernel builds.
/// FreeBSD (sys/kern/imgact_elf.c): argc, argv, envp and an auxiliary vector in FreeBSD's AT_* numbering
/// (sys/sys/elf_common.h). Darwin (bsd/kern/kern_exec.c): argc, argv, envp and apple[] with
/// executable_path=; LC_MAIN's main is called as dyld calls it, returning into exit.
/// </summary>
internal static class BsdProgramStart
{
    // FreeBSD's auxiliary vector types (sys/sys/elf_common.h).
    private const ulong AtNull = 0, AtPhdr = 3, AtPhent = 4, AtPhnum = 5, AtPagesz = 6, AtBase = 7, AtFlags = 8, AtEntry = 9,
        AtUid = 11, AtEuid = 12, AtGid = 13, AtEgid = 14, AtExecPath = 15, AtCanary = 16, AtCanaryLength = 17, AtOsReleaseDate = 18,
        AtCpuCount = 19, AtPageSizes = 20, AtPageSizesLength = 21, AtStackProtection = 23;

    /// <summary>__FreeBSD_version of FreeBSD 14.0-RELEASE, what kern.osreldate reports.</summary>
    public const int OsReleaseDate = 1400097;

    /// <summary>As <see cref="ProgramStart.Load"/>: a failure is past execve's point of no return.</summary>
    public static LoadFailure? Load(Process process, ProgramToRun toRun, IReadOnlyList<string> environment, BsdPersonality personality)
    {
        var (image, path, arguments) = (toRun.Image, toRun.Path, toRun.Arguments);
        var memory = process.Memory;
        var layout = personality.Layout;
        process.AddressSpace.MmapBase = layout.MmapBase;
        var bias = image.IsPositionIndependent ? layout.ProgramBase : 0;
        if (image.Interpreter is { } interpreter)
            return new LoadFailure(Errno.ENOEXEC, $"{LoadFailure.Printable(path)}: needs the dynamic linker {LoadFailure.Printable(interpreter)}; Trapeze runs static {personality.Abi.Os} programs");
        if (ElfLoader.Load(image, memory, bias, layout.UserTop, toRun.ShownPath, path, out var program) is { } failure)
            return failure;
        process.ExecutablePath = toRun.ShownPath;
        process.Executable?.Node.Dispose();
        process.Executable = toRun.Location;
        var command = Path.GetFileName(path);
        process.Command = command.Length > 15 ? command[..15] : command;
        process.BreakStart = process.Break = AddressSpace.PageUp(program.End);

        var wordSize = personality.Structures.Model.WordSize;
        if (InitialStack.Create(memory, layout.StackTop, wordSize) is not { } stack)
            return new LoadFailure(Errno.ENOMEM, $"{LoadFailure.Printable(path)}: out of memory for the stack");
        if (!SignalTrampoline.Map(process))
            return new LoadFailure(Errno.ENOMEM, $"{LoadFailure.Printable(path)}: no room for the signal trampoline");
        var words = new List<ulong>();
        var entry = program.Entry;
        if (personality.Abi == BsdAbi.Darwin && image.MachOStart is { } start)
        {
            var (argumentPointers, environmentPointers) = PushVectors(stack, arguments, environment, process);
            var apple = stack.PushString("executable_path=" + path);
            words.Add((ulong)arguments.Count);
            words.AddRange(argumentPointers);
            words.Add(0);
            words.AddRange(environmentPointers);
            words.Add(0);
            words.Add(apple);
            words.Add(0);
            var pointer = WriteWords(memory, stack, words, wordSize);
            process.AuxiliaryVector = [];
            if (start.CallsMain)
                return CallMain(process, personality, start.Entry, pointer, arguments.Count, environmentPointers.Length)
                    ? null : new LoadFailure(Errno.ENOMEM, $"{LoadFailure.Printable(path)}: no room for dyld's exit stub");
            // XNU sets the thread state LC_UNIXTHREAD gives; a zero stack pointer means the one it built.
            personality.StartProgram(process.Cpu, entry, start.StackPointer != 0 ? start.StackPointer : pointer);
            process.Cpu.WriteRegister(X64Register.Rax, start.Accumulator);
            return null;
        }

        var path0 = stack.PushString(path);
        var canary = stack.PushBytes(process.Kernel.Random.GetBytes(64));
        var pageSizes = new byte[3 * wordSize];
        WriteWord(pageSizes, 0, AddressSpace.PageSize, wordSize);
        WriteWord(pageSizes, 1, 2 << 20, wordSize);
        WriteWord(pageSizes, 2, wordSize == 8 ? 1UL << 30 : 0, wordSize);
        var sizes = stack.PushBytes(pageSizes);
        var (argv, envp) = PushVectors(stack, arguments, environment, process);
        words.Add((ulong)arguments.Count);
        words.AddRange(argv);
        words.Add(0);
        words.AddRange(envp);
        words.Add(0);
        var auxiliaryStart = words.Count;
        (ulong, ulong)[] auxiliary =
        [
            (AtPhdr, program.ProgramHeaders), (AtPhent, image.ProgramHeaderSize), (AtPhnum, image.ProgramHeaderCount),
            (AtPagesz, AddressSpace.PageSize), (AtBase, 0), (AtFlags, 0), (AtEntry, program.Entry),
            (AtUid, (ulong)HostIdentity.UserId), (AtEuid, (ulong)HostIdentity.EffectiveUserId),
            (AtGid, (ulong)HostIdentity.GroupId), (AtEgid, (ulong)HostIdentity.EffectiveGroupId),
            (AtExecPath, path0), (AtCanary, canary), (AtCanaryLength, 64), (AtOsReleaseDate, OsReleaseDate),
            (AtCpuCount, (ulong)Environment.ProcessorCount), (AtPageSizes, sizes), (AtPageSizesLength, (ulong)pageSizes.Length),
            (AtStackProtection, 3), (AtNull, 0),
        ];
        foreach (var (type, value) in auxiliary)
        {
            words.Add(type);
            words.Add(value);
        }
        var vector = new byte[(words.Count - auxiliaryStart) * wordSize];
        for (var index = auxiliaryStart; index < words.Count; index++)
            WriteWord(vector, index - auxiliaryStart, words[index], wordSize);
        process.AuxiliaryVector = vector;
        personality.StartProgram(process.Cpu, entry, WriteWords(memory, stack, words, wordSize));
        return null;
    }

    private static (ulong[] Arguments, ulong[] Environment) PushVectors(InitialStack stack, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, Process process)
    {
        var environmentEnd = stack.PushBytes([]);
        var environmentPointers = PushStrings(stack, environment);
        process.Environment = (environmentPointers.Length > 0 ? environmentPointers[0] : environmentEnd, environmentEnd);
        var argumentsEnd = stack.PushBytes([]);
        var argumentPointers = PushStrings(stack, arguments);
        process.Arguments = (argumentPointers.Length > 0 ? argumentPointers[0] : argumentsEnd, argumentsEnd);
        return (argumentPointers, environmentPointers);
    }

    private static ulong[] PushStrings(InitialStack stack, IReadOnlyList<string> texts)
    {
        var addresses = new ulong[texts.Count];
        for (var index = texts.Count - 1; index >= 0; index--)
            addresses[index] = stack.PushString(texts[index]);
        return addresses;
    }

    /// <summary>The words below the strings, 16-byte aligned at argc; returns that address.</summary>
    private static ulong WriteWords(GuestMemory memory, InitialStack stack, List<ulong> words, int wordSize)
    {
        var bytes = new byte[words.Count * wordSize];
        for (var index = 0; index < words.Count; index++)
            WriteWord(bytes, index, words[index], wordSize);
        var top = stack.PushBytes([]);
        var pointer = (top - (ulong)bytes.Length) & ~15UL;
        memory.Poke(pointer, bytes);
        return pointer;
    }

    private static void WriteWord(byte[] into, int index, ulong value, int wordSize)
    {
        if (wordSize == 4)
            BitConverter.TryWriteBytes(into.AsSpan(index * 4), (uint)value);
        else
            BitConverter.TryWriteBytes(into.AsSpan(index * 8), value);
    }

    /// <summary>
    /// What dyld does for LC_MAIN: main(argc, argv, envp, apple) with a return address into a stub that
    /// passes main's result to exit. x86-64 passes them in RDI RSI RDX RCX; i386 on the stack, with EAX = main.
    /// </summary>
    private static bool CallMain(Process process, BsdPersonality personality, ulong main, ulong vectors, int argumentCount, int environmentCount)
    {
        var memory = process.Memory;
        var wide = personality.Architecture == CpuArchitecture.X86_64;
        // mov %eax,%edi; mov $0x2000001,%eax; syscall  -  push %eax; push %eax; mov $1,%eax; int $0x80
        byte[] code = wide
            ? [0x89, 0xc7, 0xb8, 0x01, 0x00, 0x00, 0x02, 0x0f, 0x05]
            : [0x50, 0x50, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80];
        if (process.AddressSpace.FindFree(AddressSpace.PageSize) is not { } stub
            || memory.Space.Map(stub, AddressSpace.PageSize, MemoryProtection.Read | MemoryProtection.Execute, "[dyld exit]") is null)
            return false;
        memory.Poke(stub, code);
        var word = (ulong)(wide ? 8 : 4);
        var argv = vectors + word;
        var envp = argv + word * (ulong)(argumentCount + 1);
        var apple = envp + word * (ulong)(environmentCount + 1);
        var cpu = process.Cpu;
        if (wide)
        {
            var pointer = vectors - 8;
            memory.Poke(pointer, BitConverter.GetBytes(stub));
            personality.StartProgram(cpu, main, pointer);
            cpu.WriteRegister(X64Register.Rdi, (ulong)argumentCount);
            cpu.WriteRegister(X64Register.Rsi, argv);
            cpu.WriteRegister(X64Register.Rdx, envp);
            cpu.WriteRegister(X64Register.Rcx, apple);
            return true;
        }
        // A cdecl frame below the vectors: return address, argc, argv, envp, apple; 16-byte aligned after the return address.
        var frame = ((vectors - 16) & ~15UL) - 4;
        var bytes = new byte[20];
        BitConverter.TryWriteBytes(bytes.AsSpan(0), (uint)stub);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), (uint)argumentCount);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), (uint)argv);
        BitConverter.TryWriteBytes(bytes.AsSpan(12), (uint)envp);
        BitConverter.TryWriteBytes(bytes.AsSpan(16), (uint)apple);
        memory.Poke(frame, bytes);
        personality.StartProgram(cpu, main, frame);
        cpu.WriteRegister(X64Register.Rax, main);
        return true;
    }
}
