using System.Runtime.InteropServices;

namespace Trapeze.Cpu.Native;

/// <summary>The host calls the native platform makes itself (Trapeze.Cpu has no kernel beneath it).</summary>
internal static unsafe partial class NativeHost
{
    public const int Mmap = 9, Munmap = 11, Close = 3, Kill = 62, Tgkill = 234, Futex = 202, Waitid = 247, MemfdCreate = 319, Ftruncate = 77, Getpid = 39;
    public const int FutexWait = 0, FutexWake = 1;
    public const long ProtectionReadWrite = 3, MapShared = 1;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Call(long number, long a0, long a1, long a2, long a3, long a4, long a5);

    public static long Invoke(int number, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
    {
        var result = Call(number, a0, a1, a2, a3, a4, a5);
        return result == -1 ? -Marshal.GetLastPInvokeError() : result;
    }

    [LibraryImport("libc", EntryPoint = "posix_spawn", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int PosixSpawn(out int pid, string path, nint fileActions, nint attributes, nint* argv, nint* envp);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    private static partial int FileActionsInit(nint actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static partial int FileActionsDup2(nint actions, int descriptor, int target);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    private static partial int FileActionsDestroy(nint actions);

    /// <summary>Starts <paramref name="path"/> with <paramref name="descriptor"/> as its fd 3 and an empty environment; the pid, or -errno.</summary>
    public static int Spawn(string path, int descriptor)
    {
        var actions = (nint)NativeMemory.AllocZeroed(256); // posix_spawn_file_actions_t is 80 bytes in glibc
        try
        {
            FileActionsInit(actions);
            FileActionsDup2(actions, descriptor, 3);
            var name = Marshal.StringToCoTaskMemUTF8(Path.GetFileName(path));
            var argv = stackalloc nint[2] { name, 0 };
            var envp = stackalloc nint[1] { 0 };
            var error = PosixSpawn(out var pid, path, actions, 0, argv, envp);
            Marshal.FreeCoTaskMem(name);
            return error != 0 ? -error : pid;
        }
        finally
        {
            FileActionsDestroy(actions);
            NativeMemory.Free((void*)actions);
        }
    }

    /// <summary>A memfd of <paramref name="length"/> bytes, or -errno.</summary>
    public static int CreateMemoryFile(string name, ulong length)
    {
        const long CloseOnExec = 1;
        var bytes = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        long descriptor;
        fixed (byte* pointer = bytes)
            descriptor = Invoke(MemfdCreate, (long)pointer, CloseOnExec);
        if (descriptor < 0)
            return (int)descriptor;
        if (Invoke(Ftruncate, descriptor, (long)length) is var error and < 0)
        {
            Invoke(Close, descriptor);
            return (int)error;
        }
        return (int)descriptor;
    }

    public static void Wake(uint* word) => Invoke(Futex, (long)word, FutexWake, int.MaxValue);

    /// <summary>Sleeps while *<paramref name="word"/> is <paramref name="value"/>, for at most <paramref name="milliseconds"/>.</summary>
    public static void Wait(uint* word, uint value, int milliseconds)
    {
        var timeout = stackalloc long[2] { milliseconds / 1000, milliseconds % 1000 * 1_000_000L };
        Invoke(Futex, (long)word, FutexWait, value, (long)timeout);
    }

    /// <summary>True when the child <paramref name="pid"/> has ended (it is left to be reaped).</summary>
    public static bool HasExited(int pid)
    {
        const long Exited = 4, NoHang = 1, NoWait = 0x01000000, ProcessId = 1;
        var info = stackalloc byte[128];
        new Span<byte>(info, 128).Clear();
        var result = Invoke(Waitid, ProcessId, pid, (long)info, Exited | NoHang | NoWait);
        return result < 0 || *(int*)(info + 16) != 0; // si_pid is set once it has exited
    }

    /// <summary>Kills and reaps the child.</summary>
    public static void Reap(int pid)
    {
        const long Exited = 4, ProcessId = 1;
        Invoke(Kill, pid, 9);
        var info = stackalloc byte[128];
        Invoke(Waitid, ProcessId, pid, (long)info, Exited);
    }
}
