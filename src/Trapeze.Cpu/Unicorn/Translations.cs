namespace Trapeze.Cpu.Unicorn;

/// <summary>
/// The code an engine has translated, dropped region by region. Unicorn translates only from
/// executable memory, so the executable regions hold every translation there is.
/// </summary>
/// <remarks>
/// Unicorn's own flush (UC_CTL_TB_FLUSH) clears its whole translation buffer with memset, 64 MiB of
/// fresh huge pages: about 15 ms, the most of a fork's cost, paid each time a process that already
/// ran gains the block hook (a second thread or process appears). Dropping the translations of each
/// executable region costs a lookup per page. The kernel maps, unmaps and protects whole regions,
/// so a region's start names it.
/// </remarks>
internal sealed class Translations(nint engine)
{
    private readonly Dictionary<ulong, ulong> executableRegions = [];

    /// <summary>A region mapped, or its rights changed, to <paramref name="protection"/>.</summary>
    public void Mapped(ulong start, ulong length, MemoryProtection protection)
    {
        if (protection.HasFlag(MemoryProtection.Execute))
            executableRegions[start] = length;
    }

    /// <summary>
    /// Before a region goes away or changes rights, while it is still executable (Unicorn's lookup
    /// needs that): Unicorn 2.0 keeps code translated from a region after the region is unmapped,
    /// and new code mapped at the same address could then run stale translations (dlclose + dlopen).
    /// </summary>
    public void Forget(ulong start)
    {
        if (executableRegions.Remove(start, out var length))
            Remove(start, length);
    }

    /// <summary>Drops every translation, so that the next run translates again (with new hooks, in a new mode).</summary>
    public void ForgetAll()
    {
        foreach (var (start, length) in executableRegions)
            Remove(start, length);
    }

    private void Remove(ulong start, ulong length)
        => UnicornNative.Control(engine, UnicornNative.ControlRemoveTranslations | UnicornNative.ControlWriteTwoArguments, start, start + length);
}
