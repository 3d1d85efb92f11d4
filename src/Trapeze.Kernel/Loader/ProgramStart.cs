using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Loader;

/// <summary>Puts a fresh program into a process: image, interpreter, stack, registers (execve's second half).</summary>
internal static class ProgramStart
{
    public static void Load(Process process, ProgramToRun toRun, IReadOnlyList<string> environment)
    {
        if (process.Personality is Personalities.BsdPersonality bsd)
        {
            BsdProgramStart.Load(process, toRun, environment, bsd);
            return;
        }
        var (image, path, arguments) = (toRun.Image, toRun.Path, toRun.Arguments);
        var memory = process.Memory;
        var personality = process.Personality;
        var layout = personality.Layout;
        process.AddressSpace.MmapBase = layout.MmapBase;
        var bias = image.IsPositionIndependent ? layout.ProgramBase : 0;
        // Linux names a program by the file it opened: /proc/PID/exe and maps show the canonical path.
        var realPath = toRun.ShownPath;
        var program = ElfLoader.Load(image, memory, bias, realPath);

        var entry = program.Entry;
        ulong interpreterBase = 0;
        if (image.Interpreter is { } interpreterPath)
        {
            // The interpreter comes from the process's root, like any file the program names.
            if (Vfs.KernelFileSystems.ReadProgram(null, process.FileSystem, interpreterPath, out var interpreterFile, out var message, process.Kernel.FileSystems.Sysroot) is not Errno.None)
                throw new ExecutableNotFoundException($"{path}: interpreter {message}");
            interpreterFile!.Location.Node.Dispose();
            var interpreter = ElfImage.Parse(interpreterFile.Data, interpreterPath);
            if (interpreter.Architecture != image.Architecture)
                throw new ExecutableFormatException($"{interpreterPath}: the interpreter is for {interpreter.Architecture}, the program for {image.Architecture}");
            var span = interpreter.Segments.Max(s => s.VirtualAddress + s.MemorySize) - AddressSpace.PageDown(interpreter.Segments.Min(s => s.VirtualAddress));
            interpreterBase = interpreter.IsPositionIndependent ? process.AddressSpace.FindFree(span) ?? throw new ExecutableFormatException($"{path}: no room for the interpreter") : 0;
            entry = ElfLoader.Load(interpreter, memory, interpreterBase, interpreterFile.ShownPath).Entry;
        }

        // Linux places the vDSO below the interpreter, top-down like any other mapping.
        var (vdso, vsyscall) = personality.Architecture switch
        {
            CpuArchitecture.X86_64 => (Vdso.Map(memory), 0UL),
            CpuArchitecture.I386 => Vdso32.Map(memory),
            _ => (0UL, 0UL),
        };
        if (personality.Architecture == CpuArchitecture.Arm)
            KuserHelpers.Map(memory);

        process.ExecutablePath = realPath;
        process.Executable?.Node.Dispose();
        process.Executable = toRun.Location;
        var command = Path.GetFileName(path);
        process.Command = command.Length > 15 ? command[..15] : command;
        process.BreakStart = process.Break = AddressSpace.PageUp(program.End);

        var stack = InitialStack.Create(memory, layout.StackTop, personality.Structures.Model.WordSize);
        if (vsyscall != 0)
            stack.AddAuxiliary((AuxiliaryVectorType)32, vsyscall); // AT_SYSINFO (asm/auxvec.h, i386 only)
        if (vdso != 0)
            stack.AddAuxiliary(AuxiliaryVectorType.AT_SYSINFO_EHDR, vdso);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_HWCAP, personality.HardwareCapabilities);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PAGESZ, AddressSpace.PageSize);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_CLKTCK, 100);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PHDR, program.ProgramHeaders);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PHENT, image.ProgramHeaderSize);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PHNUM, image.ProgramHeaderCount);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_BASE, interpreterBase);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_FLAGS, 0);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_ENTRY, program.Entry);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_UID, (ulong)HostIdentity.UserId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_EUID, (ulong)HostIdentity.EffectiveUserId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_GID, (ulong)HostIdentity.GroupId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_EGID, (ulong)HostIdentity.EffectiveGroupId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_SECURE, 0);
        var stackPointer = stack.Finish(arguments, environment, path, HostRandom.GetBytes(16), personality.Platform);
        process.Arguments = stack.Arguments;
        process.Environment = stack.Environment;
        process.AuxiliaryVector = stack.AuxiliaryVector;

        personality.StartProgram(process.Cpu, entry, stackPointer);
    }
}
