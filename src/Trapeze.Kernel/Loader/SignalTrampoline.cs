using Trapeze.Cpu;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Loader;

/// <summary>
/// The page of code a kernel places in each process for signal handlers to return through (FreeBSD's
/// sigcode, which calls sigreturn): mapped at exec from <see cref="ISignalFrames.Trampoline"/>, found
/// again by its name when a frame is built. fork copies it with the rest of the address space.
/// </summary>
internal static class SignalTrampoline
{
    public const string MappingName = "[sigcode]";

    /// <summary>Maps the personality's trampoline, if it has one; false when there is no room.</summary>
    public static bool Map(Process process)
    {
        if (process.Personality.SignalFrames?.Trampoline is not { } code)
            return true;
        var memory = process.Memory;
        if (process.AddressSpace.FindFree(AddressSpace.PageSize) is not { } page
            || memory.Space.Map(page, AddressSpace.PageSize, MemoryProtection.Read | MemoryProtection.Execute, MappingName) is null)
            return false;
        memory.Poke(page, code);
        return true;
    }

    /// <summary>Where the trampoline is in the process; null when it has none.</summary>
    public static ulong? Address(Process process)
    {
        foreach (var mapping in process.AddressSpace.Mappings)
        {
            if (mapping.Name == MappingName)
                return mapping.Start;
        }
        return null;
    }
}
