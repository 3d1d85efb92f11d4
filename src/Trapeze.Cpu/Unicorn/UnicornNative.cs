using System.Runtime.InteropServices;

namespace Trapeze.Cpu.Unicorn;

/// <summary>The few libunicorn.so.2 entry points Trapeze uses (Unicorn 2.0.x C API).</summary>
internal static unsafe partial class UnicornNative
{
    private const string Library = "libunicorn.so.2";

    public const int ArchX86 = 4;
    public const int Mode64 = 8;
    public const int Mode32 = 4;
    public const int ArchArm = 1;
    public const int ModeArm = 0;
    public const int ArchSparc = 6;
    public const int ModeSparc32 = 1 << 2;
    public const int ModeBigEndian = 1 << 30;

    public const int HookInterrupt = 1;
    public const int HookInstruction = 2;
    public const int HookBlock = 1 << 3;
    public const int HookMemoryInvalid = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9);
    public const int HookInstructionInvalid = 1 << 14;
    public const int X86InstructionSyscall = 699;
    public const int X86InstructionCpuid = 113;

    public const int ControlCpuModel = 7;
    public const int ControlTranslationBufferSize = 13;
    public const int ControlRemoveTranslations = 9;
    public const int ControlWriteOneArgument = (1 << 26) | (1 << 30);
    public const int ControlWriteNoArgument = 1 << 30;
    public const int ControlWriteTwoArguments = (1 << 30) | (2 << 26);

    [LibraryImport(Library, EntryPoint = "uc_open")]
    private static partial int Open(int arch, int mode, out nint engine);

    /// <summary>
    /// Unicorn's default translation buffer is 1 GiB, advised for huge pages: a new engine faulted in
    /// hundreds of MiB of them (with the host compacting memory to find them), about a second of
    /// system time per fork on a busy host (measured: 3 forks 10.5 s and 1.1 GB resident, 0.8 s and
    /// 120 MB with 64 MiB). It only holds translated code: when it fills, Unicorn flushes it and
    /// translates again.
    /// </summary>
    private const uint TranslationBufferSize = 64u << 20;

    /// <summary>uc_open, and the settings that must come before the engine's first use.</summary>
    public static int OpenEngine(int arch, int mode, out nint engine)
    {
        var status = Open(arch, mode, out engine);
        // Unicorn 2.0 (Debian 12's, when tools/fetch-unicorn could not bring 2.1) has no such
        // setting (UC_ERR_ARG): it keeps its own buffer size, which only costs memory.
        if (status == 0)
            Control(engine, ControlTranslationBufferSize | ControlWriteOneArgument, TranslationBufferSize);
        return status;
    }

    [LibraryImport(Library, EntryPoint = "uc_close")]
    public static partial int Close(nint engine);

    [LibraryImport(Library, EntryPoint = "uc_strerror")]
    public static partial nint StrError(int code);

    [LibraryImport(Library, EntryPoint = "uc_ctl")]
    public static partial int Control(nint engine, int control, long argument);

    [LibraryImport(Library, EntryPoint = "uc_ctl")]
    public static partial int Control(nint engine, int control, ulong first, ulong second);

    [LibraryImport(Library, EntryPoint = "uc_reg_read"), SuppressGCTransition]
    public static partial int RegisterRead(nint engine, int register, ulong* value);

    [LibraryImport(Library, EntryPoint = "uc_reg_write"), SuppressGCTransition]
    public static partial int RegisterWrite(nint engine, int register, ulong* value);

    [LibraryImport(Library, EntryPoint = "uc_reg_read_batch"), SuppressGCTransition]
    public static partial int RegisterReadBatch(nint engine, int* registers, void** values, int count);

    [LibraryImport(Library, EntryPoint = "uc_reg_write_batch"), SuppressGCTransition]
    public static partial int RegisterWriteBatch(nint engine, int* registers, void** values, int count);

    [LibraryImport(Library, EntryPoint = "uc_mem_map_ptr")]
    public static partial int MemoryMapPointer(nint engine, ulong address, nuint size, uint permissions, nint host);

    [LibraryImport(Library, EntryPoint = "uc_mem_unmap")]
    public static partial int MemoryUnmap(nint engine, ulong address, nuint size);

    [LibraryImport(Library, EntryPoint = "uc_mem_protect")]
    public static partial int MemoryProtect(nint engine, ulong address, nuint size, uint permissions);

    [LibraryImport(Library, EntryPoint = "uc_emu_start")]
    public static partial int EmulationStart(nint engine, ulong begin, ulong until, ulong timeout, nuint count);

    [LibraryImport(Library, EntryPoint = "uc_emu_stop"), SuppressGCTransition]
    public static partial int EmulationStop(nint engine);

    // uc_hook_add is variadic; on x86-64 System V the extra integer argument travels in a register
    // exactly as a fixed parameter would, so one fixed signature serves every hook type.
    [LibraryImport(Library, EntryPoint = "uc_hook_add")]
    public static partial int HookAdd(nint engine, out nint hook, int type, nint callback, nint userData, ulong begin, ulong end, int extra);

    [LibraryImport(Library, EntryPoint = "uc_hook_del")]
    public static partial int HookDelete(nint engine, nint hook);

    [LibraryImport(Library, EntryPoint = "uc_context_alloc")]
    public static partial int ContextAllocate(nint engine, out nint context);

    [LibraryImport(Library, EntryPoint = "uc_context_save")]
    public static partial int ContextSave(nint engine, nint context);

    [LibraryImport(Library, EntryPoint = "uc_context_restore")]
    public static partial int ContextRestore(nint engine, nint context);

    [LibraryImport(Library, EntryPoint = "uc_context_size")]
    public static partial nuint ContextSize(nint engine);

    [LibraryImport(Library, EntryPoint = "uc_context_free")]
    public static partial int ContextFree(nint context);

    [LibraryImport("libc", EntryPoint = "mmap")]
    public static partial nint HostMap(nint address, nuint length, int protection, int flags, int descriptor, long offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    public static partial int HostProtect(nint address, nuint length, int protection);

    public static string Describe(int code) => Marshal.PtrToStringUTF8(StrError(code)) ?? $"unicorn error {code}";
}
