using Trapeze.Cpu;
using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Host;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Loader;

/// <summary>Puts a fresh program into a process: image, interpreter, stack, registers (execve's second half).</summary>
internal static class ProgramStart
{
    /// <summary>
    /// Loads <paramref name="toRun"/> into <paramref name="process"/>, whose address space must be
    /// empty. A failure here is past execve's point of no return (Linux then kills the process).
    /// </summary>
    public static LoadFailure? Load(Process process, ProgramToRun toRun, IReadOnlyList<string> environment)
    {
        if (process.Personality is Personalities.SunOsSparcPersonality sunOs)
            return SunOsProgramStart.Load(process, toRun, environment, sunOs);
        if (process.Personality is Personalities.BsdPersonality bsd)
            return BsdProgramStart.Load(process, toRun, environment, bsd);
        var (image, path, arguments) = (toRun.Image, toRun.Path, toRun.Arguments);
        var memory = process.Memory;
        var personality = process.Personality;
        var layout = personality.Layout;
        process.AddressSpace.MmapBase = layout.MmapBase;
        var bias = image.IsPositionIndependent ? layout.ProgramBase - image.Start : 0;
        // Linux names a program by the file it opened: /proc/PID/exe and maps show the canonical path.
        var realPath = toRun.ShownPath;
        if (ElfLoader.Load(image, memory, bias, layout.UserTop, realPath, path, out var program) is { } programFailure)
            return programFailure;

        var entry = program.Entry;
        ulong interpreterBase = 0;
        if (toRun.InterpreterImage is { } interpreter)
        {
            var name = image.Interpreter!;
            if (interpreter.IsPositionIndependent)
            {
                if (ElfLoader.Fits(interpreter, 0, name, layout.UserTop) is { } tooLarge)
                    return tooLarge;
                if (process.AddressSpace.FindFree(interpreter.End - interpreter.Start) is not { } free)
                    return new LoadFailure(Errno.ENOMEM, $"{LoadFailure.Printable(path)}: no room for the interpreter");
                interpreterBase = free - interpreter.Start;
            }
            if (ElfLoader.Load(interpreter, memory, interpreterBase, layout.UserTop, toRun.InterpreterShownPath, name, out var loaded) is { } interpreterFailure)
                return interpreterFailure;
            entry = loaded.Entry;
        }

        // Linux places the vDSO below the interpreter, top-down like any other mapping.
        (ulong Image, ulong Vsyscall)? mapped = personality.Architecture switch
        {
            CpuArchitecture.X86_64 => Vdso.Map(memory) is { } image64 ? (image64, 0UL) : null,
            CpuArchitecture.I386 => Vdso32.Map(memory),
            _ => KuserHelpers.Map(memory) ? (0UL, 0UL) : null,
        };
        if (mapped is not { } pair || InitialStack.Create(memory, layout.StackTop, personality.Structures.Model.WordSize) is not { } stack)
            return new LoadFailure(Errno.ENOMEM, $"{LoadFailure.Printable(path)}: out of memory for the stack or vDSO");
        var (vdso, vsyscall) = pair;

        process.ExecutablePath = realPath;
        process.Executable?.Node.Dispose();
        process.Executable = toRun.Location;
        var command = Path.GetFileName(path);
        process.Command = command.Length > 15 ? command[..15] : command;
        process.BreakStart = process.Break = AddressSpace.PageUp(program.End);

        if (vsyscall != 0)
            stack.AddAuxiliary((AuxiliaryVectorType)32, vsyscall); // AT_SYSINFO (asm/auxvec.h, i386 only)
        if (vdso != 0)
            stack.AddAuxiliary(AuxiliaryVectorType.AT_SYSINFO_EHDR, vdso);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_HWCAP, process.Cpu.IsHostCpu ? Host.HostAuxiliary.HardwareCapabilities : personality.HardwareCapabilities);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PAGESZ, AddressSpace.PageSize);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_CLKTCK, 100);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PHDR, program.ProgramHeaders);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PHENT, image.ProgramHeaderSize);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_PHNUM, image.ProgramHeaderCount);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_BASE, interpreterBase + (toRun.InterpreterImage?.Start ?? 0));
        stack.AddAuxiliary(AuxiliaryVectorType.AT_FLAGS, 0);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_ENTRY, program.Entry);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_UID, (ulong)HostIdentity.UserId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_EUID, (ulong)HostIdentity.EffectiveUserId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_GID, (ulong)HostIdentity.GroupId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_EGID, (ulong)HostIdentity.EffectiveGroupId);
        stack.AddAuxiliary(AuxiliaryVectorType.AT_SECURE, 0);
        var stackPointer = stack.Finish(arguments, environment, path, process.Kernel.Random.GetBytes(16), personality.Platform);
        process.Arguments = stack.Arguments;
        process.Environment = stack.Environment;
        process.AuxiliaryVector = stack.AuxiliaryVector;

        personality.StartProgram(process.Cpu, entry, stackPointer);
        return null;
    }
}
