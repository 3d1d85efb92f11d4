using System.Runtime.InteropServices;

namespace Trapeze.Cpu.Unicorn;

/// <summary>
/// Only for Unicorn 2.0 (tools/fetch-unicorn normally brings 2.1, which needs none of this).
/// Unicorn 2.0.1 (Debian 12's libunicorn2) stubs out QEMU's dirty-memory bitmap so that every page
/// always looks "clean": each TLB entry of a writable page gets TLB_NOTDIRTY, and every guest store
/// leaves translated code for the slow path (notdirty_write, which allocates and frees a page
/// collection tree per store). Guest code that writes memory runs 10-30x slower than under qemu-user
/// for it (upstream issue "Performance difference of Unicorn 1 and 2", fixed after 2.0.1).
///
/// This removes the single instruction that sets TLB_NOTDIRTY in tlb_set_page_with_attrs_x86_64 of the
/// loaded library, found by its exact bytes; a library built differently is left alone. What is lost is
/// Unicorn's detection of guest stores into already-translated code: <see cref="UnicornX64Cpu"/> drops
/// translations itself whenever executable memory is mapped, unmapped or re-protected, which covers
/// loaders and W^X code generators; a guest that rewrites code on a writable and executable page without
/// an mprotect would run stale translations.
/// </summary>
internal static unsafe partial class UnicornStoreFastPath
{
    private const string Function = "tlb_set_page_with_attrs_x86_64";
    private const int FunctionLength = 0x510;

    // or $0x400,%r9 (TLB_NOTDIRTY = 1 << (TARGET_PAGE_BITS_MIN - 2)); then cmpb $0,0x30(%rsi) (section->readonly)
    private static ReadOnlySpan<byte> Signature => [0x49, 0x81, 0xc9, 0x00, 0x04, 0x00, 0x00, 0x80, 0x7e, 0x30, 0x00];
    private static ReadOnlySpan<byte> SevenByteNop => [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00];

    private static readonly Lazy<bool> Applied = new(Apply);

    /// <summary>True when stores to guest RAM take Unicorn's fast path in this process.</summary>
    public static bool IsApplied => Applied.Value;

    private static bool Apply()
    {
        // Unicorn 2.1 marks only pages holding translated code, and keeps detecting stores into them.
        if (UnicornNative.Version(0, 0) >> 16 != 0x0200 || Environment.GetEnvironmentVariable("TRAPEZE_UNICORN_SLOW_STORES") == "1")
            return false;
        if (FindFunction() is not { } function)
            return false;
        var code = new ReadOnlySpan<byte>((void*)function, FunctionLength);
        var at = code.IndexOf(Signature);
        if (at < 0 || code[(at + 1)..].IndexOf(Signature) >= 0)
            return false;
        var target = (byte*)function + at;
        const ulong page = 4096;
        var pageStart = (nint)((ulong)target & ~(page - 1));
        var length = (nuint)(((ulong)target + (ulong)SevenByteNop.Length - (ulong)pageStart + page - 1) & ~(page - 1));
        if (MemoryProtect(pageStart, length, ProtectRead | ProtectWrite | ProtectExecute) != 0)
            return false;
        SevenByteNop.CopyTo(new Span<byte>(target, SevenByteNop.Length));
        MemoryProtect(pageStart, length, ProtectRead | ProtectExecute);
        return true;
    }

    /// <summary>
    /// Unicorn is either linked into the NativeAOT executable, which exports nothing, so the build
    /// records the function's offset in a file beside it (unicorn-symbols: "NAME HEX" lines); or it
    /// is loaded as libunicorn.so.2 (JIT builds, tests), which exports it.
    /// </summary>
    private static nint? FindFunction()
    {
        var symbols = Path.Combine(AppContext.BaseDirectory, "unicorn-symbols");
        if (File.Exists(symbols))
        {
            foreach (var line in File.ReadLines(symbols))
            {
                var parts = line.Split(' ');
                if (parts.Length == 2 && parts[0] == Function && ulong.TryParse(parts[1], System.Globalization.NumberStyles.HexNumber, null, out var offset)
                    && ExecutableRange() is { } range && offset < range.Length - FunctionLength)
                    return (nint)(range.Start + offset);
            }
            return null;
        }
        if (NativeLibrary.TryLoad("libunicorn.so.2", typeof(UnicornStoreFastPath).Assembly, null, out var library)
            && NativeLibrary.TryGetExport(library, Function, out var function))
            return function;
        return null;
    }

    /// <summary>Where this executable is mapped: from its first mapping (file offset 0) to the end of its last.</summary>
    private static (ulong Start, ulong Length)? ExecutableRange()
    {
        var executable = Environment.ProcessPath;
        ulong start = 0, end = 0;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // start-end perms offset dev inode path
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[5].Trim() != executable)
                continue;
            var dash = fields[0].IndexOf('-');
            if (dash < 0
                || !ulong.TryParse(fields[0].AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out var from)
                || !ulong.TryParse(fields[0].AsSpan(dash + 1), System.Globalization.NumberStyles.HexNumber, null, out var to)
                || !ulong.TryParse(fields[2], System.Globalization.NumberStyles.HexNumber, null, out var fileOffset))
                return null;
            if (start == 0 && fileOffset == 0)
                start = from;
            end = Math.Max(end, to);
        }
        return start == 0 ? null : (start, end - start);
    }

    private const int ProtectRead = 1, ProtectWrite = 2, ProtectExecute = 4;

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int MemoryProtect(nint address, nuint length, int protection);
}
