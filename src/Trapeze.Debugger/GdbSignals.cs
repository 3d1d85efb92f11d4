namespace Trapeze.Debugger;

/// <summary>
/// gdb's own signal numbers (include/gdb/signals.def), which the remote protocol speaks, and
/// Linux's. The first fifteen mostly agree; the rest do not (SIGUSR1 is gdb's 30, Linux's 10).
/// </summary>
internal static class GdbSignals
{
    public const int Interrupt = 2, Trap = 5;

    // Indexed by the Linux number (x86 and ARM), 1..31.
    private static readonly int[] FromLinuxTable =
    [
        0,
        1, 2, 3, 4, 5, 6, 10, 8, 9, 30, // HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1
        11, 31, 13, 14, 15, 143, 20, 19, 17, 18, // SEGV USR2 PIPE ALRM TERM STKFLT(unknown) CHLD CONT STOP TSTP
        21, 22, 16, 24, 25, 26, 27, 28, 23, 32, // TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR
        12, // SYS
    ];

    public static int FromLinux(int signal) => signal switch
    {
        > 0 and < 32 => FromLinuxTable[signal],
        32 => 77, // GDB_SIGNAL_REALTIME_32
        >= 33 and <= 63 => 45 + (signal - 33), // GDB_SIGNAL_REALTIME_33..63
        64 => 78,
        _ => 143, // GDB_SIGNAL_UNKNOWN
    };

    public static int ToLinux(int gdbSignal)
    {
        if (gdbSignal == 0)
            return 0;
        for (var linux = 1; linux <= 64; linux++)
        {
            if (FromLinux(linux) == gdbSignal)
                return linux;
        }
        return 0;
    }
}
